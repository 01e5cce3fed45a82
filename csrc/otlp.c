/* otlp.c - OTLP/protobuf wire encoder (see otlp.h for the design and invariants).
 *
 * No Py* calls in this file: it is the part of the exporter that runs without the GIL.
 */
#include "otlp.h"

#define JF_OTLP_MIN(a, b) ((a) < (b) ? (a) : (b))

uint8_t *jf_otlp_put_any_double(uint8_t *p, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return jf_pb_put_fixed64(p, 4, bits);
}

uint8_t *jf_otlp_put_kv_head(uint8_t *p, uint32_t field, const char *key, size_t key_len, size_t any) {
    p = jf_pb_put_len_head(p, field, jf_otlp_kv_body_size(key_len, any));
    if (key_len) p = jf_pb_put_bytes(p, 1, key, key_len);
    return jf_pb_put_len_head(p, 2, any);
}

/* ---- Span ------------------------------------------------------------------------- */

size_t jf_otlp_span_head_size(const jf_otlp_span *s) {
    size_t n = jf_pb_len_field_size(1, 16) + jf_pb_len_field_size(2, 8);
    if (s->has_parent) n += jf_pb_len_field_size(4, 8);
    if (s->name_len) n += jf_pb_len_field_size(5, s->name_len);
    if (s->kind) n += 1 + jf_pb_varint_size((uint64_t)s->kind);
    if (s->start_ns) n += 9;
    if (s->end_ns) n += 9;
    return n;
}

uint8_t *jf_otlp_put_span_head(uint8_t *p, const jf_otlp_span *s) {
    p = jf_pb_put_bytes(p, 1, s->trace_id, 16);
    p = jf_pb_put_bytes(p, 2, s->span_id, 8);
    if (s->has_parent) p = jf_pb_put_bytes(p, 4, s->parent_span_id, 8);
    if (s->name_len) p = jf_pb_put_bytes(p, 5, s->name, s->name_len);
    if (s->kind) p = jf_pb_put_uint(p, 6, (uint64_t)s->kind);
    if (s->start_ns) p = jf_pb_put_fixed64(p, 7, s->start_ns);
    if (s->end_ns) p = jf_pb_put_fixed64(p, 8, s->end_ns);
    return p;
}

size_t jf_otlp_span_mid_size(const jf_otlp_span *s) {
    return s->dropped_attributes ? 1 + jf_pb_varint_size(s->dropped_attributes) : 0;
}

uint8_t *jf_otlp_put_span_mid(uint8_t *p, const jf_otlp_span *s) {
    if (s->dropped_attributes) p = jf_pb_put_uint(p, 10, s->dropped_attributes);
    return p;
}

static size_t status_body_size(const jf_otlp_span *s) {
    size_t n = 0;
    if (s->status_msg_len) n += jf_pb_len_field_size(2, s->status_msg_len);
    if (s->status_code) n += 1 + jf_pb_varint_size((uint64_t)s->status_code);
    return n;
}

size_t jf_otlp_span_tail_size(const jf_otlp_span *s) {
    size_t n = jf_pb_len_field_size(15, status_body_size(s));
    if (s->dropped_events) n += 1 + jf_pb_varint_size(s->dropped_events);
    if (s->flags) n += 2 + 4;
    return n;
}

uint8_t *jf_otlp_put_span_tail(uint8_t *p, const jf_otlp_span *s) {
    if (s->dropped_events) p = jf_pb_put_uint(p, 12, s->dropped_events);
    /* Status is a message field: present (possibly empty) on every span, as the OTel
     * SDK encoder does, so that decoders see an explicit UNSET. */
    p = jf_pb_put_len_head(p, 15, status_body_size(s));
    if (s->status_msg_len) p = jf_pb_put_bytes(p, 2, s->status_msg, s->status_msg_len);
    if (s->status_code) p = jf_pb_put_uint(p, 3, (uint64_t)s->status_code);
    if (s->flags) p = jf_pb_put_fixed32(p, 16, s->flags);
    return p;
}

/* ---- Span.Event ------------------------------------------------------------------- */

size_t jf_otlp_event_body_size(uint64_t time_ns, size_t name_len, size_t attrs, uint32_t dropped) {
    size_t n = attrs;
    if (time_ns) n += 9;
    if (name_len) n += jf_pb_len_field_size(2, name_len);
    if (dropped) n += 1 + jf_pb_varint_size(dropped);
    return n;
}

uint8_t *jf_otlp_put_event_head(uint8_t *p, size_t body, uint64_t time_ns, const char *name, size_t name_len) {
    p = jf_pb_put_len_head(p, JF_OTLP_SPAN_EVENTS, body);
    if (time_ns) p = jf_pb_put_fixed64(p, 1, time_ns);
    if (name_len) p = jf_pb_put_bytes(p, 2, name, name_len);
    return p;
}

uint8_t *jf_otlp_put_event_tail(uint8_t *p, uint32_t dropped) {
    if (dropped) p = jf_pb_put_uint(p, 4, dropped);
    return p;
}

/* ---- ExportTraceServiceRequest ------------------------------------------------------ */

static size_t scope_spans_body(size_t scope, size_t spans) {
    return jf_pb_len_field_size(1, scope) + spans;
}

static size_t resource_spans_body(size_t resource, size_t scope, size_t spans) {
    return jf_pb_len_field_size(1, resource) + jf_pb_len_field_size(2, scope_spans_body(scope, spans));
}

size_t jf_otlp_request_size(size_t resource, size_t scope, size_t spans) {
    return jf_pb_len_field_size(1, resource_spans_body(resource, scope, spans));
}

uint8_t *jf_otlp_put_request_head(uint8_t *p, const uint8_t *resource, size_t resource_len,
                                  const uint8_t *scope, size_t scope_len, size_t spans) {
    p = jf_pb_put_len_head(p, 1, resource_spans_body(resource_len, scope_len, spans));
    p = jf_pb_put_bytes(p, 1, resource, resource_len);
    p = jf_pb_put_len_head(p, 2, scope_spans_body(scope_len, spans));
    return jf_pb_put_bytes(p, 1, scope, scope_len);
}

size_t jf_otlp_scope_size(size_t name_len, size_t version_len) {
    return (name_len ? jf_pb_len_field_size(1, name_len) : 0) +
           (version_len ? jf_pb_len_field_size(2, version_len) : 0);
}

uint8_t *jf_otlp_put_scope(uint8_t *p, const char *name, size_t name_len, const char *version, size_t version_len) {
    if (name_len) p = jf_pb_put_bytes(p, 1, name, name_len);
    if (version_len) p = jf_pb_put_bytes(p, 2, version, version_len);
    return p;
}

/* ---- ExportTraceServiceResponse ----------------------------------------------------- */

/* Reads a varint at *pp (bounded by end). Returns 0 and advances; -1 if truncated/overlong. */
static int read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end) return -1;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) { *pp = p; *out = v; return 0; }
    }
    return -1;
}

/* Skips one field of wire type wt. Returns 0, or -1 when malformed. */
static int skip_field(const uint8_t **pp, const uint8_t *end, int wt) {
    uint64_t n;
    switch (wt) {
    case JF_PB_VARINT: return read_varint(pp, end, &n);
    case JF_PB_I64: if (end - *pp < 8) return -1; *pp += 8; return 0;
    case JF_PB_I32: if (end - *pp < 4) return -1; *pp += 4; return 0;
    case JF_PB_LEN:
        if (read_varint(pp, end, &n) < 0 || n > (uint64_t)(end - *pp)) return -1;
        *pp += n;
        return 0;
    default: return -1;
    }
}

static int parse_partial_success(const uint8_t *p, const uint8_t *end, int64_t *rejected, char *msg, size_t cap) {
    while (p < end) {
        uint64_t key, v;
        if (read_varint(&p, end, &key) < 0) return -1;
        int field = (int)(key >> 3), wt = (int)(key & 7);
        if (field == 1 && wt == JF_PB_VARINT) {
            if (read_varint(&p, end, &v) < 0) return -1;
            *rejected = (int64_t)v;
        } else if (field == 2 && wt == JF_PB_LEN) {
            if (read_varint(&p, end, &v) < 0 || v > (uint64_t)(end - p)) return -1;
            if (cap) {
                size_t n = JF_OTLP_MIN((size_t)v, cap - 1);
                memcpy(msg, p, n);
                msg[n] = '\0';
            }
            p += v;
        } else if (skip_field(&p, end, wt) < 0) {
            return -1;
        }
    }
    return 0;
}

int jf_otlp_parse_response(const uint8_t *p, size_t n, int64_t *rejected, char *msg, size_t cap) {
    const uint8_t *end = p + n;
    int64_t rej = 0;
    char tmp[1] = {0};
    char *m = cap ? msg : tmp;
    size_t c = cap ? cap : 1;
    m[0] = '\0';
    while (p < end) {
        uint64_t key, len;
        if (read_varint(&p, end, &key) < 0) return -1;
        int field = (int)(key >> 3), wt = (int)(key & 7);
        if (field == 1 && wt == JF_PB_LEN) {
            if (read_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p)) return -1;
            if (parse_partial_success(p, p + len, &rej, m, c) < 0) return -1;
            p += len;
        } else if (skip_field(&p, end, wt) < 0) {
            return -1;
        }
    }
    *rejected = rej;
    return 0;
}
