/* span.h - the native Span and SpanContext types, attribute normalisation, span encoding.
 *
 * A Span keeps its ids, clocks and status in C fields and its attributes in a dict of
 * *normalised* values: exact (never subclass) str cut to max_attribute_bytes, bool, int64,
 * float, bytes, or a tuple of those; anything else is converted when it is set, never when
 * it is encoded. Exact built-in scalars reference nothing, so a span cannot be part of a
 * reference cycle and needs no GC tracking.
 * Because values are normalised on the way in, ending a span is one sizing walk, one
 * allocation (the queue record) and one writing walk, with the GIL held and no Python
 * call that can fail or run user code.
 *
 * Invariants
 *   1. attributes is NULL or a dict whose keys are exact str and whose values are normalised
 *      (jf_attr_is_normal); len(attributes) <= cfg.max_attributes.
 *   2. events is NULL or a list of tuples (name: str, time_unix_ns: int, attrs: dict|None,
 *      dropped: int) with len <= cfg.max_events.
 *   3. ended is set exactly once; after it every mutator is a no-op.
 *   4. exporter/store hold one C reference each (released in dealloc).
 *
 * Threads & locks: no locks. Every function here needs the GIL; the span path's counters
 *   in jf_rt.ctr are GIL-protected.
 * GIL: held by the caller of every function in this header.
 * Bounds: set_attribute O(len of the value); end O(total attribute size).
 */
#ifndef JF_SPAN_H
#define JF_SPAN_H

#include "common.h"
#include "module.h"
#include "queue.h"

struct jf_exporter;
struct jf_store;

/* The identity of a span: 128-bit trace id (hi:lo) and 64-bit span id. */
typedef struct {
    uint64_t trace_hi, trace_lo, span_id;
} jf_span_key;

typedef struct {
    PyObject_HEAD
    jf_span_key key;
    uint64_t parent_span_id;      /* valid when has_parent */
    uint8_t has_parent;
    uint8_t parent_remote;
    uint8_t trace_flags;          /* W3C flags; 1 = sampled */
    uint8_t ended;                /* invariant 3 */
    uint8_t kind;                 /* OTel SDK SpanKind value 0..4 (proto value - 1) */
    uint8_t status_code;          /* JF_STATUS_* */
    uint8_t mono_start;           /* start_mono_ns is valid: end time = start + monotonic delta */
    uint32_t dropped_attributes;
    uint32_t dropped_events;
    int64_t start_unix_ns;
    int64_t start_mono_ns;
    int64_t end_unix_ns;          /* 0 until ended */
    PyObject *name;               /* str, normalised */
    PyObject *attributes;         /* invariant 1 */
    PyObject *events;             /* invariant 2 */
    PyObject *status_message;     /* str or NULL */
    PyObject *context;            /* cached SpanContext or NULL */
    struct jf_exporter *exporter; /* C reference or NULL: where end() sends the span */
    struct jf_store *store;       /* C reference or NULL: whose entry end() removes */
} SpanObject;

typedef struct {
    PyObject_HEAD
    jf_span_key key;
    uint8_t trace_flags;
    uint8_t is_remote;
} SpanContextObject;

/* ---- ids ------------------------------------------------------------------------- */

/* Reads a span identity from a Span, a SpanContext, a (trace_id, span_id) tuple, or any
 * object with int attributes trace_id and span_id. Returns 0, or -1 with TypeError /
 * ValueError / OverflowError set. */
int jf_span_key_from_object(jf_state *st, PyObject *obj, jf_span_key *out);
/* The int (hi << 64) | lo. New reference, or NULL with an exception set. */
PyObject *jf_u128_to_pylong(uint64_t hi, uint64_t lo);
/* New SpanContext. Returns a new reference or NULL with an exception set. */
PyObject *jf_span_context_new(jf_state *st, const jf_span_key *key, int trace_flags, int is_remote);

/* Clears the pending exception. A KeyboardInterrupt is re-armed (PyErr_SetInterrupt) so it
 * surfaces in the user's code right after: a Ctrl-C that lands in a repr() or str() we ran
 * for a conversion is the user's, not an SDK error to swallow. */
void jf_clear_keeping_interrupt(void);
/* repr(v), or "<TypeQualname>" when repr raises. New reference; NULL with an exception
 * set only when even that cannot be built (out of memory). */
PyObject *jf_repr_or_type_name(PyObject *v);

/* ---- attribute normalisation ------------------------------------------------------- */

/* Returns a new reference to the normalised form of `value`, converting (repr(), then the
 * type name) and truncating as needed and counting it in jf_rt.ctr; or NULL *without* an
 * exception when the value must be dropped (None). Never raises: a failed conversion
 * is counted and dropped. */
PyObject *jf_attr_normalize_value(PyObject *value);
/* Same for keys: str as is (sanitised, truncated), other objects as str(key). */
PyObject *jf_attr_normalize_key(PyObject *key);
/* Normalised copy of a mapping (dict or any object with items()), at most `max` entries,
 * *dropped counts what did not fit or could not be converted. Returns a new dict, or NULL
 * with an exception set only on MemoryError or when `mapping` is not a mapping. */
PyObject *jf_attr_normalize_mapping(PyObject *mapping, size_t max, uint32_t *dropped);

/* Encoded size of a dict of normalised attributes as entries of repeated field `field`. */
size_t jf_attrs_size(PyObject *dict, uint32_t field);
/* Writes them; returns the end pointer (exactly jf_attrs_size bytes later). */
uint8_t *jf_attrs_put(uint8_t *p, PyObject *dict, uint32_t field);

/* ---- span ------------------------------------------------------------------------- */

/* Encodes the span (ended or not: an open span has no end time) into a new queue record.
 * Returns it, or NULL with MemoryError set. */
jf_item *jf_span_encode(SpanObject *s);
/* Ends the span at end_unix_ns (0 = now) and hands it to its exporter. Never raises:
 * returns 0, or 1 if it was already ended (counted). */
int jf_span_end(SpanObject *s, int64_t end_unix_ns);
/* Sets one attribute (normalising key and value). Never raises; a value that cannot be
 * stored is counted. */
void jf_span_set_attribute(SpanObject *s, PyObject *key, PyObject *value);

/* Sets every item of dict (normalising them). Never raises. */
void jf_span_set_attributes(SpanObject *s, PyObject *dict);
/* A new span started now, a child of parent (or a new trace when NULL), kind INTERNAL,
 * sending itself to e and removing its entry of store when it ends (either may be
 * NULL). name must already be normalised (jf_span_name). New reference, or NULL with
 * MemoryError set. */
SpanObject *jf_span_start(jf_state *st, PyObject *name, SpanObject *parent, struct jf_exporter *e,
                          struct jf_store *store);
/* The normalised form of a span name (str() of a non-str, sanitised, bounded). New
 * reference, or NULL with an exception set. */
PyObject *jf_span_name(PyObject *name);
/* A SpanKind argument (None, an int 0..4, or an enum with .value) into *out. Returns 0, or
 * -1 with TypeError/ValueError set. */
int jf_span_kind_from_object(PyObject *o, uint8_t *out);
/* Records what ended a span early, as judgeval does: an Exception gets the "exception"
 * event (when record) and status ERROR with str(exc) (when status; the type name if
 * str() raises); any other BaseException (KeyboardInterrupt, CancelledError, ...) only an
 * escaped "exception" event, no status. Runs the exception's __str__ once. Never raises. */
void jf_span_abort(SpanObject *s, PyObject *exc, int record, int status);

static inline int jf_span_check(jf_state *st, PyObject *o) { return Py_TYPE(o) == st->SpanType; }

/* Registers Span, SpanContext, Event and Status. Returns 0 or -1 with an exception set. */
int jf_span_add_types(PyObject *module);

#endif /* JF_SPAN_H */
