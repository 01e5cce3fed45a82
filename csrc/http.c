/* http.c - abortable HTTP POST on libcurl's multi interface (see http.h).
 *
 * No Py* calls in this file: it runs on the exporter thread, which never takes the GIL.
 */
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg) {
    jf_http *h = arg;
    size_t n = size * nmemb, room = JF_HTTP_MAX_BODY - h->resp_len;
    size_t keep = n < room ? n : room;
    if (keep) {
        memcpy(h->resp + h->resp_len, data, keep);
        h->resp_len += keep;
    }
    return n;  /* the rest is discarded, not an error */
}

/* Parses "Retry-After: <seconds>" or "Retry-After: <HTTP-date>" (RFC 9110 10.2.3). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg) {
    jf_http *h = arg;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && n < 256) {
        size_t i;
        for (i = 0; i < sizeof name - 1; i++)
            if (tolower((unsigned char)data[i]) != name[i]) break;
        if (i == sizeof name - 1) {
            char value[256];
            size_t len = n - i;
            memcpy(value, data + i, len);
            value[len] = '\0';
            char *v = value;
            while (*v == ' ' || *v == '\t') v++;
            char *end = v + strlen(v);
            while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) *--end = '\0';
            char *stop;
            double secs = strtod(v, &stop);
            if (stop != v && *stop == '\0') {
                h->retry_after_ns = secs > 0 ? (int64_t)(JF_MIN(secs, 86400.0) * 1e9) : 0;
            } else {
                time_t when = curl_getdate(v, NULL);
                if (when != (time_t)-1) {
                    double delta = difftime(when, time(NULL));
                    h->retry_after_ns = delta > 0 ? (int64_t)(JF_MIN(delta, 86400.0) * 1e9) : 0;
                }
            }
        }
    }
    /* A new status line (e.g. after "100 Continue") resets what an interim response said. */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) h->retry_after_ns = -1;
    return n;
}

int jf_http_init(jf_http *h, const char *url, long connect_timeout_ms, const atomic_int *abort_flag,
                 pthread_mutex_t *gate) {
    memset(h, 0, sizeof *h);
    h->abort_flag = abort_flag;
    h->gate = gate;
    h->retry_after_ns = -1;
    h->resp = jf_malloc(JF_HTTP_MAX_BODY);
    h->multi = curl_multi_init();
    h->easy = curl_easy_init();
    if (!h->resp || !h->multi || !h->easy) {
        snprintf(h->errbuf, sizeof h->errbuf, "out of memory creating the HTTP client");
        jf_http_fini(h);
        return -1;
    }
    CURL *e = h->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);           /* threads must not get SIGALRM */
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);     /* a redirected POST would drop the body */
    return 0;
}

void jf_http_fini(jf_http *h) {
    if (h->easy) curl_easy_cleanup(h->easy);
    if (h->multi) curl_multi_cleanup(h->multi);
    jf_free(h->resp);
    h->easy = NULL;
    h->multi = NULL;
    h->resp = NULL;
}

void jf_http_abandon(jf_http *h) {
    h->easy = NULL;
    h->multi = NULL;
    h->resp = NULL;  /* its memory is the parent's copy; leaking one block per fork is fine */
}

static int transport_retryable(CURLcode c) {
    switch (c) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_AGAIN:
        return 1;
    default:
        return 0;
    }
}

void jf_http_post(jf_http *h, struct curl_slist *headers, const void *body, size_t len, int64_t deadline_ns,
                  jf_http_result *r) {
    memset(r, 0, sizeof *r);
    r->retry_after_ns = -1;
    h->resp_len = 0;
    h->retry_after_ns = -1;
    h->errbuf[0] = '\0';
    int64_t left_ms = (deadline_ns - jf_now_mono_ns()) / JF_NS_PER_MS;
    if (left_ms <= 0) {
        r->outcome = JF_HTTP_TRANSPORT;
        r->curl_code = CURLE_OPERATION_TIMEDOUT;
        r->retryable = 1;
        snprintf(h->errbuf, sizeof h->errbuf, "deadline passed before the request");
        return;
    }
    CURL *e = h->easy;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left_ms);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        r->outcome = JF_HTTP_TRANSPORT;
        r->curl_code = CURLE_FAILED_INIT;
        snprintf(h->errbuf, sizeof h->errbuf, "curl_multi_add_handle failed");
        return;
    }
    int running = 1, aborted = 0;
    CURLcode code = CURLE_OK;
    for (;;) {
        CURLMcode mc = curl_multi_perform(h->multi, &running);
        if (mc != CURLM_OK) {
            code = CURLE_FAILED_INIT;
            snprintf(h->errbuf, sizeof h->errbuf, "curl_multi_perform: %s", curl_multi_strerror(mc));
            running = -1;
            break;
        }
        if (!running) break;
        if (h->abort_flag && atomic_load(h->abort_flag)) {
            aborted = 1;
            break;
        }
        if (h->gate) pthread_mutex_unlock(h->gate);
        (void)curl_multi_poll(h->multi, NULL, 0, JF_HTTP_POLL_MS, NULL);
        if (h->gate) pthread_mutex_lock(h->gate);
    }
    if (!aborted && running == 0) {
        int q;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(h->multi, &q)))
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == e) code = msg->data.result;
    }
    curl_multi_remove_handle(h->multi, e);
    if (aborted) {
        r->outcome = JF_HTTP_ABORTED;
        snprintf(h->errbuf, sizeof h->errbuf, "aborted (shutdown deadline)");
        return;
    }
    if (code != CURLE_OK) {
        r->outcome = JF_HTTP_TRANSPORT;
        r->curl_code = (int)code;
        r->retryable = transport_retryable(code);
        if (!h->errbuf[0]) snprintf(h->errbuf, sizeof h->errbuf, "%s", curl_easy_strerror(code));
        return;
    }
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    r->outcome = JF_HTTP_DONE;
    r->status = status;
    r->retry_after_ns = h->retry_after_ns;
    r->body = h->resp;
    r->body_len = h->resp_len;
}

int jf_http_check_url(const char *url, char *why, size_t cap) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -1;
    if (!u) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        snprintf(why, cap, "not a valid absolute URL (%s)", curl_url_strerror(uc));
        goto done;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        snprintf(why, cap, "scheme must be http or https");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
        snprintf(why, cap, "URL has no host");
        goto done;
    }
    rc = 0;
done:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}
