/* http.h - one HTTP POST client on libcurl's multi interface, abortable from another thread.
 *
 * Each jf_http owns a multi handle and one easy handle, so the connection stays alive
 * between POSTs (keep-alive) and HTTPS, proxies (http_proxy/https_proxy/no_proxy) and
 * HTTP/2 come from libcurl. The transfer runs in slices of at most JF_HTTP_POLL_MS so
 * that an abort flag raised by another thread ends it within that bound, and the
 * request deadline is the caller's absolute monotonic deadline, not a per-call timeout.
 *
 * Threads & locks: a jf_http is used by one thread at a time (its owner: the exporter
 *   thread, or whoever holds the exporter's sync_mu); no locks inside. The abort flag is
 *   atomic and may be raised by any thread.
 * GIL: never needed; callers release it around jf_http_post.
 * Allocation: libcurl allocates with its own malloc (not PyMem: curl may allocate while
 *   holding its own locks, which must never wait for the GIL). The response buffer is a
 *   jf_malloc'd block of JF_HTTP_MAX_BODY bytes made in jf_http_init.
 * Bounds: jf_http_post returns by deadline_ns + JF_HTTP_POLL_MS, or that long after abort.
 */
#ifndef JF_HTTP_H
#define JF_HTTP_H

#include "common.h"

#include <curl/curl.h>
#include <pthread.h>

#define JF_HTTP_MAX_BODY (64 * 1024)   /* response bytes kept (partial_success, error detail) */
#define JF_HTTP_POLL_MS 50

enum { JF_HTTP_DONE = 0, JF_HTTP_TRANSPORT = 1, JF_HTTP_ABORTED = 2 };

typedef struct {
    int outcome;              /* JF_HTTP_* */
    long status;              /* HTTP status when outcome == JF_HTTP_DONE */
    int curl_code;            /* CURLcode when outcome == JF_HTTP_TRANSPORT */
    int retryable;            /* transport failure worth retrying (connect, timeout, reset) */
    int64_t retry_after_ns;   /* Retry-After of the response, or -1 */
    const uint8_t *body;      /* response body (first JF_HTTP_MAX_BODY bytes), owned by jf_http */
    size_t body_len;
} jf_http_result;

typedef struct {
    CURLM *multi;
    CURL *easy;
    uint8_t *resp;                 /* JF_HTTP_MAX_BODY bytes */
    size_t resp_len;
    int64_t retry_after_ns;
    const atomic_int *abort_flag;  /* owned by the caller; nonzero aborts the transfer */
    pthread_mutex_t *gate;         /* owned by the caller, held by it during jf_http_post; released
                                    * around each poll wait so a fork never finds us inside libcurl */
    char errbuf[CURL_ERROR_SIZE];
} jf_http;

/* Prepares h for POSTs to url (which must outlive h). `gate` (may be NULL) is the caller's
 * work gate, see exporter.h. Returns 0, or -1 (with errbuf describing why) on allocation
 * failure. */
int jf_http_init(jf_http *h, const char *url, long connect_timeout_ms, const atomic_int *abort_flag,
                 pthread_mutex_t *gate);
/* Releases everything. Can't fail. */
void jf_http_fini(jf_http *h);
/* Fork child: forgets the handles WITHOUT closing their sockets, which belong to the
 * parent's live connections (closing a TLS session would write to them). */
void jf_http_abandon(jf_http *h);
/* POSTs body with the given header list (kept alive by the caller until return) and fills
 * r. Blocks until done, deadline_ns (monotonic) or abort. */
void jf_http_post(jf_http *h, struct curl_slist *headers, const void *body, size_t len, int64_t deadline_ns,
                  jf_http_result *r);

/* 1 if a 2xx/4xx/5xx status is retryable under the OTLP/HTTP rules (429, 502, 503, 504). */
static inline int jf_http_status_retryable(long status) {
    return status == 429 || status == 502 || status == 503 || status == 504;
}

/* Checks that url is an absolute http(s) URL libcurl can parse. Returns 0, or -1 with a
 * NUL-terminated reason in why. Can be called without the GIL. */
int jf_http_check_url(const char *url, char *why, size_t cap);

#endif /* JF_HTTP_H */
