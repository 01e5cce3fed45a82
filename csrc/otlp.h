/* otlp.h - OTLP/protobuf wire encoder: protobuf primitives, Span/Event/KeyValue/AnyValue
 * pieces, ExportTraceServiceRequest framing and the ExportTraceServiceResponse reader.
 *
 * Design: no intermediate message tree. Every message is written in one pass into a
 * buffer the caller sized exactly beforehand with the matching *_size() function, so
 * a finished span costs one allocation (its queue record) and no copies. Fields are
 * written in field-number order and proto3 defaults (0, "", empty bytes) are omitted,
 * except inside a oneof (AnyValue), where presence matters: the bytes are then
 * identical to what the official protobuf runtime serialises for the same message,
 * which the tests check byte for byte.
 *
 * Invariants
 *   1. put_X(p, ...) writes exactly X_size(...) bytes and returns p + that size.
 *   2. A varint never exceeds 10 bytes; a field tag here never exceeds 2 bytes (fields < 2048).
 *
 * Threads & locks: none; pure functions over caller-owned memory.
 * GIL: not needed; this file makes no Py* call (it does not even include Python.h).
 * Bounds: each function is O(size of what it writes).
 */
#ifndef JF_OTLP_H
#define JF_OTLP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { JF_PB_VARINT = 0, JF_PB_I64 = 1, JF_PB_LEN = 2, JF_PB_I32 = 5 };

/* ---- protobuf primitives (can't fail) ------------------------------------------- */

static inline size_t jf_pb_varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}

static inline uint8_t *jf_pb_put_varint(uint8_t *p, uint64_t v) {
    while (v >= 0x80) { *p++ = (uint8_t)(v | 0x80); v >>= 7; }
    *p++ = (uint8_t)v;
    return p;
}

static inline size_t jf_pb_tag_size(uint32_t field) { return field < 16 ? 1 : 2; }

static inline uint8_t *jf_pb_put_tag(uint8_t *p, uint32_t field, int wire_type) {
    return jf_pb_put_varint(p, ((uint64_t)field << 3) | (uint64_t)wire_type);
}

/* Size of a whole length-delimited field (tag + length + body). */
static inline size_t jf_pb_len_field_size(uint32_t field, size_t body) {
    return jf_pb_tag_size(field) + jf_pb_varint_size(body) + body;
}

/* Writes the tag and length of a length-delimited field; the caller writes `body` bytes next. */
static inline uint8_t *jf_pb_put_len_head(uint8_t *p, uint32_t field, size_t body) {
    p = jf_pb_put_tag(p, field, JF_PB_LEN);
    return jf_pb_put_varint(p, body);
}

static inline uint8_t *jf_pb_put_bytes(uint8_t *p, uint32_t field, const void *d, size_t n) {
    p = jf_pb_put_len_head(p, field, n);
    if (n) memcpy(p, d, n);
    return p + n;
}

static inline uint8_t *jf_pb_put_fixed64(uint8_t *p, uint32_t field, uint64_t v) {
    p = jf_pb_put_tag(p, field, JF_PB_I64);
    for (int i = 0; i < 8; i++) *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static inline uint8_t *jf_pb_put_fixed32(uint8_t *p, uint32_t field, uint32_t v) {
    p = jf_pb_put_tag(p, field, JF_PB_I32);
    for (int i = 0; i < 4; i++) *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static inline uint8_t *jf_pb_put_uint(uint8_t *p, uint32_t field, uint64_t v) {
    p = jf_pb_put_tag(p, field, JF_PB_VARINT);
    return jf_pb_put_varint(p, v);
}

/* ---- AnyValue (opentelemetry.proto.common.v1.AnyValue) -------------------------- */
/* Each AnyValue body holds exactly one oneof member, always written (presence). */

static inline size_t jf_otlp_any_str_size(size_t n) { return jf_pb_len_field_size(1, n); }
static inline size_t jf_otlp_any_bool_size(void) { return 2; }
static inline size_t jf_otlp_any_int_size(int64_t v) { return 1 + jf_pb_varint_size((uint64_t)v); }
static inline size_t jf_otlp_any_double_size(void) { return 9; }
static inline size_t jf_otlp_any_bytes_size(size_t n) { return jf_pb_len_field_size(7, n); }
/* `elems` is the sum of jf_otlp_array_elem_size() over the elements. */
static inline size_t jf_otlp_any_array_size(size_t elems) { return jf_pb_len_field_size(5, elems); }
/* One element of ArrayValue.values, given the size of its AnyValue body. */
static inline size_t jf_otlp_array_elem_size(size_t any) { return jf_pb_len_field_size(1, any); }

static inline uint8_t *jf_otlp_put_any_str(uint8_t *p, const char *s, size_t n) {
    return jf_pb_put_bytes(p, 1, s, n);
}
static inline uint8_t *jf_otlp_put_any_bool(uint8_t *p, int v) { return jf_pb_put_uint(p, 2, v ? 1 : 0); }
static inline uint8_t *jf_otlp_put_any_int(uint8_t *p, int64_t v) { return jf_pb_put_uint(p, 3, (uint64_t)v); }
uint8_t *jf_otlp_put_any_double(uint8_t *p, double v);
static inline uint8_t *jf_otlp_put_any_bytes(uint8_t *p, const void *d, size_t n) {
    return jf_pb_put_bytes(p, 7, d, n);
}
static inline uint8_t *jf_otlp_put_any_array_head(uint8_t *p, size_t elems) {
    return jf_pb_put_len_head(p, 5, elems);
}
static inline uint8_t *jf_otlp_put_array_elem_head(uint8_t *p, size_t any) {
    return jf_pb_put_len_head(p, 1, any);
}

/* ---- KeyValue, as an element of a repeated field `field` ------------------------ */

/* Size of the KeyValue body: key (omitted when empty, proto3) + value. */
static inline size_t jf_otlp_kv_body_size(size_t key_len, size_t any) {
    return (key_len ? jf_pb_len_field_size(1, key_len) : 0) + jf_pb_len_field_size(2, any);
}
/* Size of the whole repeated-field entry holding that KeyValue. */
static inline size_t jf_otlp_kv_size(uint32_t field, size_t key_len, size_t any) {
    return jf_pb_len_field_size(field, jf_otlp_kv_body_size(key_len, any));
}
/* Writes entry tag/len, the key and the AnyValue head; the caller writes `any` bytes of
 * AnyValue body next (with a jf_otlp_put_any_* call). */
uint8_t *jf_otlp_put_kv_head(uint8_t *p, uint32_t field, const char *key, size_t key_len, size_t any);

/* ---- Span (opentelemetry.proto.trace.v1.Span) ------------------------------------- */

/* Proto enum values: SpanKind is the OTel SDK value + 1; StatusCode is identical. */
enum { JF_KIND_UNSPECIFIED = 0, JF_KIND_INTERNAL = 1 };
enum { JF_STATUS_UNSET = 0, JF_STATUS_OK = 1, JF_STATUS_ERROR = 2 };

/* Span flags (field 16): low byte = W3C trace flags, plus the remote-parent bits. */
#define JF_SPAN_FLAGS_HAS_IS_REMOTE 0x100u
#define JF_SPAN_FLAGS_IS_REMOTE 0x200u

typedef struct {
    uint8_t trace_id[16];       /* big-endian, as on the wire */
    uint8_t span_id[8];
    uint8_t parent_span_id[8];
    int has_parent;
    const char *name;           /* UTF-8, not NUL-terminated */
    size_t name_len;
    int kind;                   /* proto value */
    uint64_t start_ns, end_ns;  /* unix epoch ns */
    uint32_t dropped_attributes;
    uint32_t dropped_events;
    int status_code;            /* proto value */
    const char *status_msg;
    size_t status_msg_len;
    uint32_t flags;             /* field 16; 0 omits it */
} jf_otlp_span;

/* A span body is: head, then attribute entries (field 9), mid, then event entries
 * (field 11), then tail. The caller writes the repeated entries itself. */
#define JF_OTLP_SPAN_ATTRIBUTES 9
#define JF_OTLP_SPAN_EVENTS 11
size_t jf_otlp_span_head_size(const jf_otlp_span *s);   /* fields 1-8 */
uint8_t *jf_otlp_put_span_head(uint8_t *p, const jf_otlp_span *s);
size_t jf_otlp_span_mid_size(const jf_otlp_span *s);    /* field 10 */
uint8_t *jf_otlp_put_span_mid(uint8_t *p, const jf_otlp_span *s);
size_t jf_otlp_span_tail_size(const jf_otlp_span *s);   /* fields 12, 15 (always), 16 */
uint8_t *jf_otlp_put_span_tail(uint8_t *p, const jf_otlp_span *s);

/* ---- Span.Event, as an entry of Span.events --------------------------------------- */
#define JF_OTLP_EVENT_ATTRIBUTES 3
/* Size of the Event body without its attribute entries (`attrs` = their total size). */
size_t jf_otlp_event_body_size(uint64_t time_ns, size_t name_len, size_t attrs, uint32_t dropped);
/* Writes entry head, time and name; the caller then writes `attrs` bytes of attribute
 * entries and finishes with jf_otlp_put_event_tail(). */
uint8_t *jf_otlp_put_event_head(uint8_t *p, size_t body, uint64_t time_ns, const char *name, size_t name_len);
uint8_t *jf_otlp_put_event_tail(uint8_t *p, uint32_t dropped);

/* ---- ExportTraceServiceRequest ----------------------------------------------------- */

/* One ResourceSpans holding one ScopeSpans. `resource` / `scope` are the encoded bodies of
 * Resource and InstrumentationScope; `spans` is the sum of jf_otlp_request_span_size(). */
static inline size_t jf_otlp_request_span_size(size_t span_len) { return jf_pb_len_field_size(2, span_len); }
size_t jf_otlp_request_size(size_t resource, size_t scope, size_t spans);
/* Writes everything before the first span; then the caller appends each span with
 * jf_otlp_put_request_span(). */
uint8_t *jf_otlp_put_request_head(uint8_t *p, const uint8_t *resource, size_t resource_len,
                                  const uint8_t *scope, size_t scope_len, size_t spans);
static inline uint8_t *jf_otlp_put_request_span(uint8_t *p, const uint8_t *span, size_t n) {
    return jf_pb_put_bytes(p, 2, span, n);
}

/* InstrumentationScope body for (name, version); either may be empty. */
size_t jf_otlp_scope_size(size_t name_len, size_t version_len);
uint8_t *jf_otlp_put_scope(uint8_t *p, const char *name, size_t name_len, const char *version, size_t version_len);

/* ---- ExportTraceServiceResponse ---------------------------------------------------- */

/* Reads partial_success from a response body. Returns 0 and sets *rejected (0 when
 * absent) and msg (NUL-terminated, truncated to cap); or -1 when the body is not valid
 * protobuf (*rejected then untouched, msg unspecified). */
int jf_otlp_parse_response(const uint8_t *p, size_t n, int64_t *rejected, char *msg, size_t cap);

#endif /* JF_OTLP_H */
