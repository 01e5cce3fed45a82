/* span.c - native Span / SpanContext, attribute normalisation and span encoding (see span.h).
 *
 * The Python types, written as Python:
 *
 *     class SpanContext:
 *         def __init__(self, trace_id: int, span_id: int, is_remote: bool = False,
 *                      trace_flags: int = 1) -> None: ...
 *         trace_id: int; span_id: int; trace_flags: int; is_remote: bool; is_valid: bool
 *         trace_state: None; trace_id_hex: str; span_id_hex: str
 *
 *     class Span:     # OpenTelemetry Span method names, ReadableSpan-style properties
 *         def __init__(self, name: str, *, parent: Span | SpanContext | None = None,
 *                      kind: int = 0, attributes: Mapping | None = None,
 *                      start_time: int | None = None, trace_id: int | None = None,
 *                      span_id: int | None = None, exporter: Exporter | None = None,
 *                      store: Store | None = None) -> None: ...
 *         def get_span_context(self) -> SpanContext: ...
 *         def set_attribute(self, key, value) -> None: ...
 *         def set_attributes(self, attributes: Mapping) -> None: ...
 *         def add_event(self, name, attributes=None, timestamp=None) -> None: ...
 *         def record_exception(self, exception, attributes=None, timestamp=None, escaped=False) -> None: ...
 *         def set_status(self, status, description=None) -> None: ...
 *         def update_name(self, name) -> None: ...
 *         def is_recording(self) -> bool: ...
 *         def end(self, end_time: int | None = None) -> None: ...
 *         name, context, parent, kind, start_time, end_time, attributes, events, status,
 *         dropped_attributes, dropped_events, links        # read-only
 */
#include "span.h"

#include "exporter.h"
#include "otlp.h"
#include "store.h"

#include <stdio.h>

/* Estimated bytes one normalised attribute entry may cost beyond its payload; used only
 * to keep arrays under max_attribute_bytes, so an approximation is fine. */
#define ARRAY_ELEM_OVERHEAD 4

/* ======================================================================== */
/* ids                                                                       */
/* ======================================================================== */

static void put_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; }
}

PyObject *jf_u128_to_pylong(uint64_t hi, uint64_t lo) {
    if (!hi) return PyLong_FromUnsignedLongLong(lo);
    PyObject *h = NULL, *shift = NULL, *hs = NULL, *l = NULL, *r = NULL;
    h = PyLong_FromUnsignedLongLong(hi);
    if (!h) goto done;
    shift = PyLong_FromLong(64);
    if (!shift) goto done;
    hs = PyNumber_Lshift(h, shift);
    if (!hs) goto done;
    l = PyLong_FromUnsignedLongLong(lo);
    if (!l) goto done;
    r = PyNumber_Or(hs, l);
done:
    Py_XDECREF(h);
    Py_XDECREF(shift);
    Py_XDECREF(hs);
    Py_XDECREF(l);
    return r;
}

/* Reads a non-negative int of at most `bits` (64 or 128) bits. Returns 0 or -1 with an
 * exception set (TypeError, ValueError for negatives, OverflowError when too wide). */
static int uint_from_pylong(PyObject *v, int bits, uint64_t *hi, uint64_t *lo, const char *what) {
    if (!PyLong_Check(v)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int", what);
        return -1;
    }
    int overflow;
    long long s = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (s == -1 && PyErr_Occurred()) return -1;
    if (overflow < 0 || (!overflow && s < 0)) {
        PyErr_Format(PyExc_ValueError, "%s must be >= 0", what);
        return -1;
    }
    *hi = 0;
    if (!overflow) {
        *lo = (uint64_t)s;
        return 0;
    }
    unsigned long long x = PyLong_AsUnsignedLongLong(v);
    if (!(x == (unsigned long long)-1 && PyErr_Occurred())) {
        *lo = x;
        return 0;
    }
    PyErr_Clear();
    if (bits == 64) {
        PyErr_Format(PyExc_OverflowError, "%s does not fit in 64 bits", what);
        return -1;
    }
    PyObject *shift = PyLong_FromLong(64), *top = NULL, *rest = NULL;
    if (!shift) return -1;
    top = PyNumber_Rshift(v, shift);
    if (top) rest = PyNumber_Rshift(top, shift);
    Py_DECREF(shift);
    if (!rest) {
        Py_XDECREF(top);
        return -1;
    }
    int too_big = PyObject_IsTrue(rest);
    Py_DECREF(rest);
    if (too_big) {
        Py_DECREF(top);
        PyErr_Format(PyExc_OverflowError, "%s does not fit in 128 bits", what);
        return -1;
    }
    *hi = PyLong_AsUnsignedLongLongMask(top);
    Py_DECREF(top);
    *lo = PyLong_AsUnsignedLongLongMask(v);
    return PyErr_Occurred() ? -1 : 0;
}

int jf_span_key_from_object(jf_state *st, PyObject *obj, jf_span_key *out) {
    if (Py_TYPE(obj) == st->SpanType) {
        *out = ((SpanObject *)obj)->key;
        return 0;
    }
    if (Py_TYPE(obj) == st->SpanContextType) {
        *out = ((SpanContextObject *)obj)->key;
        return 0;
    }
    PyObject *tid = NULL, *sid = NULL;
    int rc = -1;
    uint64_t unused;
    if (PyTuple_Check(obj) && PyTuple_Size(obj) == 2) {
        tid = Py_NewRef(PyTuple_GetItem(obj, 0));
        sid = Py_NewRef(PyTuple_GetItem(obj, 1));
    } else {
        tid = PyObject_GetAttrString(obj, "trace_id");
        if (tid) sid = PyObject_GetAttrString(obj, "span_id");
        if (!sid) {
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError,
                            "expected a Span, a SpanContext, a (trace_id, span_id) tuple or an object with "
                            "trace_id and span_id");
            goto done;
        }
    }
    if (uint_from_pylong(tid, 128, &out->trace_hi, &out->trace_lo, "trace_id") < 0) goto done;
    if (uint_from_pylong(sid, 64, &unused, &out->span_id, "span_id") < 0) goto done;
    rc = 0;
done:
    Py_XDECREF(tid);
    Py_XDECREF(sid);
    return rc;
}

/* ======================================================================== */
/* attribute normalisation                                                   */
/* ======================================================================== */

/* str with valid UTF-8 and at most max bytes. New reference, or NULL (dropped, counted,
 * no exception). */
static PyObject *normalize_str(PyObject *v) {
    Py_ssize_t n;
    PyObject *clean = NULL;
    if (!PyUnicode_CheckExact(v)) {
        /* A str subclass instance may carry attributes (and so references, even to this
         * span): keep only its text, as an exact str, so that spans hold no reference
         * that could close a cycle (they are not GC-tracked). */
        clean = PyUnicode_Substring(v, 0, PyUnicode_GetLength(v));
        if (!clean) {
            PyErr_Clear();
            jf_rt.ctr.attrs_dropped++;
            return NULL;
        }
        v = clean;
    }
    const char *u = PyUnicode_AsUTF8AndSize(v, &n);
    if (!u) {
        /* Lone surrogates cannot be UTF-8: replace them rather than lose the value. */
        PyErr_Clear();
        PyObject *b = PyUnicode_AsEncodedString(v, "utf-8", "replace");
        Py_XDECREF(clean);
        clean = NULL;
        if (b) {
            clean = PyUnicode_DecodeUTF8(PyBytes_AsString(b), PyBytes_Size(b), "replace");
            Py_DECREF(b);
        }
        if (!clean || !(u = PyUnicode_AsUTF8AndSize(clean, &n))) {
            PyErr_Clear();
            Py_XDECREF(clean);
            jf_rt.ctr.attrs_dropped++;
            return NULL;
        }
        jf_rt.ctr.attrs_converted++;
        v = clean;
    }
    size_t max = jf_rt.cfg.max_attribute_bytes;
    if ((size_t)n <= max) return clean ? clean : Py_NewRef(v);
    size_t cut = max;
    while (cut > 0 && ((unsigned char)u[cut] & 0xC0) == 0x80) cut--;  /* keep whole code points */
    PyObject *t = PyUnicode_DecodeUTF8(u, (Py_ssize_t)cut, "strict");
    Py_XDECREF(clean);
    if (!t) {
        PyErr_Clear();
        jf_rt.ctr.attrs_dropped++;
        return NULL;
    }
    jf_rt.ctr.attrs_truncated++;
    return t;
}

static PyObject *normalize_bytes(PyObject *v) {
    Py_ssize_t n = PyBytes_Size(v);
    if ((size_t)n <= jf_rt.cfg.max_attribute_bytes && PyBytes_CheckExact(v)) return Py_NewRef(v);
    PyObject *t = PyBytes_FromStringAndSize(PyBytes_AsString(v), JF_MIN(n, (Py_ssize_t)jf_rt.cfg.max_attribute_bytes));
    if (!t) {
        PyErr_Clear();
        jf_rt.ctr.attrs_dropped++;
        return NULL;
    }
    if ((size_t)n > jf_rt.cfg.max_attribute_bytes) jf_rt.ctr.attrs_truncated++;
    return t;
}

/* Name of v's type as a new str (never NULL unless out of memory). */
static PyObject *type_name(PyObject *v) {
    PyObject *n = PyObject_GetAttrString((PyObject *)Py_TYPE(v), "__qualname__");
    if (n && PyUnicode_Check(n)) return n;
    Py_XDECREF(n);
    PyErr_Clear();
    return PyUnicode_FromString("object");
}

void jf_clear_keeping_interrupt(void) {
    int interrupted = PyErr_ExceptionMatches(PyExc_KeyboardInterrupt);
    PyErr_Clear();
    if (interrupted) PyErr_SetInterrupt();
}

PyObject *jf_repr_or_type_name(PyObject *v) {
    PyObject *r = PyObject_Repr(v);
    if (r) return r;
    jf_clear_keeping_interrupt();
    PyObject *n = type_name(v);
    r = n ? PyUnicode_FromFormat("<%U>", n) : NULL;
    Py_XDECREF(n);
    return r;
}

/* repr(v), or "<TypeName>" if repr raises; as a normalised str. Counted as converted. */
static PyObject *convert_repr(PyObject *v) {
    PyObject *r = jf_repr_or_type_name(v);
    if (!r) {
        PyErr_Clear();
        jf_rt.ctr.attrs_dropped++;
        return NULL;
    }
    jf_rt.ctr.attrs_converted++;
    PyObject *s = normalize_str(r);
    Py_DECREF(r);
    return s;
}

/* Scalar normalisation shared by values and array elements. Returns a new reference,
 * or NULL (dropped, counted, no exception). `allow_none` keeps None (array elements). */
static PyObject *normalize_scalar(PyObject *v, int allow_none) {
    if (v == Py_None) {
        if (allow_none) return Py_NewRef(v);
        jf_rt.ctr.attrs_dropped++;
        return NULL;
    }
    if (PyUnicode_Check(v)) return normalize_str(v);
    if (PyBool_Check(v) || PyFloat_CheckExact(v)) return Py_NewRef(v);
    if (PyFloat_Check(v)) {
        double d = PyFloat_AsDouble(v);  /* a float subclass: keep the value, as an exact float */
        if (d == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return convert_repr(v);
        }
        PyObject *f = PyFloat_FromDouble(d);
        if (!f) {
            PyErr_Clear();
            jf_rt.ctr.attrs_dropped++;
        }
        return f;
    }
    if (PyLong_Check(v)) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (PyErr_Occurred()) PyErr_Clear();
        else if (!overflow) {
            if (PyLong_CheckExact(v)) return Py_NewRef(v);
            PyObject *i = PyLong_FromLongLong(x);
            if (!i) {
                PyErr_Clear();
                jf_rt.ctr.attrs_dropped++;
            }
            return i;
        }
        /* Beyond int64: keep the exact digits as a string. */
        PyObject *s = PyObject_Str(v);
        if (!s) {
            PyErr_Clear();
            jf_rt.ctr.attrs_dropped++;
            return NULL;
        }
        jf_rt.ctr.attrs_converted++;
        PyObject *t = normalize_str(s);
        Py_DECREF(s);
        return t;
    }
    if (PyBytes_Check(v)) return normalize_bytes(v);
    return convert_repr(v);
}

static size_t any_size(PyObject *v);

static PyObject *normalize_sequence(PyObject *v) {
    PyObject *tup = PySequence_Tuple(v);  /* a snapshot: element conversion may run user code */
    if (!tup) {
        PyErr_Clear();
        return convert_repr(v);
    }
    Py_ssize_t n = PyTuple_Size(tup);
    PyObject *out = PyTuple_New(n);
    if (!out) {
        PyErr_Clear();
        Py_DECREF(tup);
        jf_rt.ctr.attrs_dropped++;
        return NULL;
    }
    size_t total = 0, max = jf_rt.cfg.max_attribute_bytes;
    int same = PyTuple_CheckExact(v);  /* a tuple subclass (namedtuple) becomes a plain tuple */
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        PyObject *e = PyTuple_GetItem(tup, i);
        PyObject *ne = NULL;
        if (PyTuple_Check(e) || PyList_Check(e) || PyDict_Check(e)) {
            ne = convert_repr(e);  /* OTLP attribute arrays hold scalars only */
        } else {
            ne = normalize_scalar(e, 1);
        }
        if (!ne) {
            ne = Py_NewRef(Py_None);
        }
        total += any_size(ne) + ARRAY_ELEM_OVERHEAD;
        if (total > max) {
            Py_DECREF(ne);
            jf_rt.ctr.attrs_truncated++;
            break;
        }
        if (ne != e) same = 0;
        PyTuple_SetItem(out, i, ne);  /* steals */
    }
    Py_DECREF(tup);
    if (i < n) {
        PyObject *cut = PyTuple_GetSlice(out, 0, i);
        Py_DECREF(out);
        if (!cut) PyErr_Clear();
        return cut;
    }
    if (same) {
        Py_DECREF(out);
        return Py_NewRef(v);
    }
    return out;
}

PyObject *jf_attr_normalize_value(PyObject *value) {
    if (PyTuple_Check(value) || PyList_Check(value)) return normalize_sequence(value);
    return normalize_scalar(value, 0);
}

PyObject *jf_attr_normalize_key(PyObject *key) {
    if (PyUnicode_Check(key)) return normalize_str(key);
    PyObject *s = PyObject_Str(key);
    if (!s) {
        PyErr_Clear();
        jf_rt.ctr.attrs_dropped++;
        return NULL;
    }
    jf_rt.ctr.keys_converted++;
    PyObject *k = normalize_str(s);
    Py_DECREF(s);
    return k;
}

/* Sets key=value into the dict *slot (created on demand) of normalised attributes,
 * honouring `max` entries; *dropped counts refusals. Never raises. */
static void attrs_set(PyObject **slot, PyObject *key, PyObject *value, size_t max, uint32_t *dropped) {
    PyObject *k = jf_attr_normalize_key(key), *v = NULL;
    if (!k) { (*dropped)++; return; }
    v = jf_attr_normalize_value(value);
    if (!v) { (*dropped)++; goto done; }
    if (!*slot && !(*slot = PyDict_New())) goto fail;
    if ((size_t)PyDict_Size(*slot) >= max) {
        int present = PyDict_Contains(*slot, k);
        if (present < 0) goto fail;
        if (!present) {
            (*dropped)++;
            jf_rt.ctr.attrs_dropped++;
            goto done;
        }
    }
    if (PyDict_SetItem(*slot, k, v) < 0) goto fail;
    goto done;
fail:
    PyErr_Clear();
    (*dropped)++;
    jf_rt.ctr.attrs_dropped++;
done:
    Py_DECREF(k);
    Py_XDECREF(v);
}

/* Iterates any mapping (dict fast path, else items()) into attrs_set. Returns 0, or -1
 * with TypeError when `mapping` has no items(). */
static int attrs_update(PyObject **slot, PyObject *mapping, size_t max, uint32_t *dropped) {
    if (PyDict_Check(mapping)) {
        /* No copy: the caller's dict is iterated in place. A conversion may run user code
         * (repr(), str()) that mutates it, which stays memory-safe: PyDict_Next checks
         * its position against the dict as it is at each step, and the key and value are
         * held by strong references while attrs_set converts them. At most the original
         * number of entries is visited, so a dict that grows on every conversion cannot
         * loop forever; under mutation, which entries are seen is unspecified (as for
         * Python's own dict iteration, minus its RuntimeError). */
        Py_ssize_t pos = 0, left = PyDict_Size(mapping);
        PyObject *k, *v;
        while (left-- > 0 && PyDict_Next(mapping, &pos, &k, &v)) {
            Py_INCREF(k);
            Py_INCREF(v);
            attrs_set(slot, k, v, max, dropped);
            Py_DECREF(k);
            Py_DECREF(v);
        }
        return 0;
    }
    PyObject *items = PyMapping_Items(mapping);
    if (!items) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "attributes must be a mapping");
        return -1;
    }
    Py_ssize_t n = PyList_Size(items);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *kv = PyList_GetItem(items, i);
        if (PyTuple_Check(kv) && PyTuple_Size(kv) == 2)
            attrs_set(slot, PyTuple_GetItem(kv, 0), PyTuple_GetItem(kv, 1), max, dropped);
    }
    Py_DECREF(items);
    return 0;
}

PyObject *jf_attr_normalize_mapping(PyObject *mapping, size_t max, uint32_t *dropped) {
    PyObject *d = NULL;
    if (attrs_update(&d, mapping, max, dropped) < 0) {
        Py_XDECREF(d);
        return NULL;
    }
    return d ? d : PyDict_New();
}

/* ======================================================================== */
/* encoding of normalised values                                             */
/* ======================================================================== */

static const char *utf8_of(PyObject *s, size_t *n) {
    Py_ssize_t len;
    const char *u = PyUnicode_AsUTF8AndSize(s, &len);
    if (!u) {
        /* Unreachable for normalised strings (their UTF-8 is cached); encode as "". */
        PyErr_Clear();
        *n = 0;
        return "";
    }
    *n = (size_t)len;
    return u;
}

/* Size of the AnyValue body of a normalised value; None is the empty AnyValue. */
static size_t any_size(PyObject *v) {
    size_t n;
    if (PyUnicode_Check(v)) { utf8_of(v, &n); return jf_otlp_any_str_size(n); }
    if (PyBool_Check(v)) return jf_otlp_any_bool_size();
    if (PyLong_Check(v)) {
        long long x = PyLong_AsLongLong(v);
        if (x == -1 && PyErr_Occurred()) PyErr_Clear();
        return jf_otlp_any_int_size(x);
    }
    if (PyFloat_Check(v)) return jf_otlp_any_double_size();
    if (PyBytes_Check(v)) return jf_otlp_any_bytes_size((size_t)PyBytes_Size(v));
    if (PyTuple_Check(v)) {
        size_t elems = 0;
        Py_ssize_t len = PyTuple_Size(v);
        for (Py_ssize_t i = 0; i < len; i++) elems += jf_otlp_array_elem_size(any_size(PyTuple_GetItem(v, i)));
        return jf_otlp_any_array_size(elems);
    }
    return 0;
}

static uint8_t *any_put(uint8_t *p, PyObject *v) {
    size_t n;
    if (PyUnicode_Check(v)) {
        const char *u = utf8_of(v, &n);
        return jf_otlp_put_any_str(p, u, n);
    }
    if (PyBool_Check(v)) return jf_otlp_put_any_bool(p, v == Py_True);
    if (PyLong_Check(v)) {
        long long x = PyLong_AsLongLong(v);
        if (x == -1 && PyErr_Occurred()) PyErr_Clear();
        return jf_otlp_put_any_int(p, x);
    }
    if (PyFloat_Check(v)) return jf_otlp_put_any_double(p, PyFloat_AsDouble(v));
    if (PyBytes_Check(v)) return jf_otlp_put_any_bytes(p, PyBytes_AsString(v), (size_t)PyBytes_Size(v));
    if (PyTuple_Check(v)) {
        Py_ssize_t len = PyTuple_Size(v);
        size_t elems = 0;
        for (Py_ssize_t i = 0; i < len; i++) elems += jf_otlp_array_elem_size(any_size(PyTuple_GetItem(v, i)));
        p = jf_otlp_put_any_array_head(p, elems);
        for (Py_ssize_t i = 0; i < len; i++) {
            PyObject *e = PyTuple_GetItem(v, i);
            p = jf_otlp_put_array_elem_head(p, any_size(e));
            p = any_put(p, e);
        }
        return p;
    }
    return p;
}

size_t jf_attrs_size(PyObject *dict, uint32_t field) {
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    size_t total = 0, kn;
    while (PyDict_Next(dict, &pos, &k, &v)) {
        utf8_of(k, &kn);
        total += jf_otlp_kv_size(field, kn, any_size(v));
    }
    return total;
}

uint8_t *jf_attrs_put(uint8_t *p, PyObject *dict, uint32_t field) {
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    size_t kn;
    while (PyDict_Next(dict, &pos, &k, &v)) {
        const char *ku = utf8_of(k, &kn);
        p = jf_otlp_put_kv_head(p, field, ku, kn, any_size(v));
        p = any_put(p, v);
    }
    return p;
}

/* ======================================================================== */
/* span encoding                                                             */
/* ======================================================================== */

/* Event tuple fields: (name, time_unix_ns, attrs | None, dropped). */
static size_t event_body(PyObject *ev, const char **name, size_t *name_len, uint64_t *t, uint32_t *dropped,
                         PyObject **attrs, size_t *attrs_size) {
    *name = utf8_of(PyTuple_GetItem(ev, 0), name_len);
    *t = PyLong_AsUnsignedLongLongMask(PyTuple_GetItem(ev, 1));
    *attrs = PyTuple_GetItem(ev, 2);
    *dropped = (uint32_t)PyLong_AsUnsignedLongMask(PyTuple_GetItem(ev, 3));
    *attrs_size = *attrs != Py_None ? jf_attrs_size(*attrs, JF_OTLP_EVENT_ATTRIBUTES) : 0;
    return jf_otlp_event_body_size(*t, *name_len, *attrs_size, *dropped);
}

jf_item *jf_span_encode(SpanObject *s) {
    jf_otlp_span h;
    put_be64(h.trace_id, s->key.trace_hi);
    put_be64(h.trace_id + 8, s->key.trace_lo);
    put_be64(h.span_id, s->key.span_id);
    h.has_parent = s->has_parent;
    if (s->has_parent) put_be64(h.parent_span_id, s->parent_span_id);
    h.name = utf8_of(s->name, &h.name_len);
    h.kind = s->kind + 1;
    h.start_ns = (uint64_t)s->start_unix_ns;
    h.end_ns = (uint64_t)s->end_unix_ns;
    h.dropped_attributes = s->dropped_attributes;
    h.dropped_events = s->dropped_events;
    h.status_code = s->status_code;
    h.status_msg_len = 0;
    h.status_msg = NULL;
    if (s->status_message) h.status_msg = utf8_of(s->status_message, &h.status_msg_len);
    h.flags = s->trace_flags | JF_SPAN_FLAGS_HAS_IS_REMOTE | (s->has_parent && s->parent_remote ? JF_SPAN_FLAGS_IS_REMOTE : 0);

    size_t attrs = s->attributes ? jf_attrs_size(s->attributes, JF_OTLP_SPAN_ATTRIBUTES) : 0;
    size_t events = 0;
    Py_ssize_t nev = s->events ? PyList_Size(s->events) : 0;
    for (Py_ssize_t i = 0; i < nev; i++) {
        const char *nm;
        size_t nl, as;
        uint64_t t;
        uint32_t dr;
        PyObject *ad;
        events += jf_pb_len_field_size(JF_OTLP_SPAN_EVENTS, event_body(PyList_GetItem(s->events, i), &nm, &nl, &t, &dr, &ad, &as));
    }
    size_t total = jf_otlp_span_head_size(&h) + attrs + jf_otlp_span_mid_size(&h) + events + jf_otlp_span_tail_size(&h);
    jf_item *it = jf_item_new(total);
    if (!it) {
        PyErr_NoMemory();
        return NULL;
    }
    uint8_t *p = jf_otlp_put_span_head(it->data, &h);
    if (s->attributes) p = jf_attrs_put(p, s->attributes, JF_OTLP_SPAN_ATTRIBUTES);
    p = jf_otlp_put_span_mid(p, &h);
    for (Py_ssize_t i = 0; i < nev; i++) {
        const char *nm;
        size_t nl, as;
        uint64_t t;
        uint32_t dr;
        PyObject *ad;
        size_t body = event_body(PyList_GetItem(s->events, i), &nm, &nl, &t, &dr, &ad, &as);
        p = jf_otlp_put_event_head(p, body, t, nm, nl);
        if (ad != Py_None) p = jf_attrs_put(p, ad, JF_OTLP_EVENT_ATTRIBUTES);
        p = jf_otlp_put_event_tail(p, dr);
    }
    p = jf_otlp_put_span_tail(p, &h);
    if ((size_t)(p - it->data) != total) {
        /* A size/put mismatch is a bug in this file; never ship a corrupt record. */
        jf_item_free(it);
        PyErr_SetString(PyExc_SystemError, "judgeval_fast: span encoding size mismatch");
        return NULL;
    }
    return it;
}

/* ======================================================================== */
/* Span                                                                      */
/* ======================================================================== */

/* Current unix time as seen by this span: start + monotonic delta when the span was
 * started "now", so that durations never go negative on a wall-clock step. When the
 * monotonic clock was read for it, *mono_ns gets that reading (else it is untouched). */
static int64_t span_now_mono(SpanObject *s, int64_t *mono_ns) {
    if (s->mono_start) {
        *mono_ns = jf_now_mono_ns();
        return s->start_unix_ns + (*mono_ns - s->start_mono_ns);
    }
    return jf_now_unix_ns();
}

static int64_t span_now(SpanObject *s) {
    int64_t unused;
    return span_now_mono(s, &unused);
}

static uint64_t nonzero_random(void) {
    uint64_t x;
    do x = jf_rng_next(); while (!x);
    return x;
}

int jf_span_end(SpanObject *s, int64_t end_unix_ns) {
    if (s->ended) {
        jf_rt.ctr.spans_end_ignored++;
        return 1;
    }
    int64_t mono = -1;  /* CLOCK_MONOTONIC is never negative: -1 means "not read yet" */
    s->ended = 1;
    s->end_unix_ns = end_unix_ns ? end_unix_ns : span_now_mono(s, &mono);
    jf_rt.ctr.spans_ended++;
    if (s->store) jf_store_remove_key(s->store, &s->key);
    /* One clock reading per end: the end time's is also the queue's arrival time. */
    if (s->exporter) jf_exporter_submit(s->exporter, s, mono >= 0 ? mono : jf_now_mono_ns());
    else jf_rt.ctr.spans_unexported++;
    return 0;
}

void jf_span_set_attribute(SpanObject *s, PyObject *key, PyObject *value) {
    if (s->ended) return;
    attrs_set(&s->attributes, key, value, jf_rt.cfg.max_attributes, &s->dropped_attributes);
}

void jf_span_set_attributes(SpanObject *s, PyObject *dict) {
    if (s->ended || !dict) return;
    if (attrs_update(&s->attributes, dict, jf_rt.cfg.max_attributes, &s->dropped_attributes) < 0) PyErr_Clear();
}

/* The last step of every span start: where it goes, when it started (now unless start_ns),
 * its name (a reference stolen) and the counter. Can't fail. */
static void span_commit(SpanObject *s, struct jf_exporter *e, struct jf_store *store, int64_t start_ns,
                        PyObject *name) {
    if (e) {
        jf_exporter_incref(e);
        s->exporter = e;
    }
    if (store) {
        jf_store_incref(store);
        s->store = store;
    }
    if (start_ns) {
        s->start_unix_ns = start_ns;
    } else {
        s->start_unix_ns = jf_now_unix_ns();
        s->start_mono_ns = jf_now_mono_ns();
        s->mono_start = 1;
    }
    s->name = name;
    jf_rt.ctr.spans_started++;
}

SpanObject *jf_span_start(jf_state *st, PyObject *name, SpanObject *parent, struct jf_exporter *e,
                          struct jf_store *store) {
    SpanObject *s = (SpanObject *)PyType_GenericAlloc(st->SpanType, 0);
    if (!s) return NULL;
    if (parent) {
        s->key = parent->key;
        s->parent_span_id = parent->key.span_id;
        s->trace_flags = parent->trace_flags;
        s->has_parent = 1;
    } else {
        s->key.trace_hi = jf_rng_next();
        s->key.trace_lo = nonzero_random();
        s->trace_flags = 1;
    }
    s->key.span_id = nonzero_random();
    span_commit(s, e, store, 0, Py_NewRef(name));
    return s;
}

/* Reads an optional ns timestamp argument. Returns 0 (with *out = 0 for None), or -1. */
static int parse_time(PyObject *o, int64_t *out, const char *what) {
    *out = 0;
    if (!o || o == Py_None) return 0;
    long long t = PyLong_AsLongLong(o);
    if (t == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s must be an int of nanoseconds since the epoch", what);
        return -1;
    }
    if (t < 0) {
        PyErr_Format(PyExc_ValueError, "%s must be >= 0", what);
        return -1;
    }
    *out = t;
    return 0;
}

/* Reads a span kind: an int 0..4 or an object whose .value is one. */
int jf_span_kind_from_object(PyObject *o, uint8_t *out) {
    PyObject *v = NULL;
    long k;
    if (!o || o == Py_None) { *out = 0; return 0; }
    if (PyLong_Check(o)) {
        k = PyLong_AsLong(o);
    } else {
        v = PyObject_GetAttrString(o, "value");
        if (!v) return -1;
        k = PyLong_AsLong(v);
        Py_DECREF(v);
    }
    if (k == -1 && PyErr_Occurred()) return -1;
    if (k < 0 || k > 4) {
        PyErr_SetString(PyExc_ValueError, "kind must be a SpanKind value in 0..4");
        return -1;
    }
    *out = (uint8_t)k;
    return 0;
}

static PyObject *sanitize_name(PyObject *name) {
    if (!PyUnicode_Check(name)) {
        PyObject *s = PyObject_Str(name);
        if (!s) return NULL;
        PyObject *n = normalize_str(s);
        Py_DECREF(s);
        return n ? n : PyUnicode_FromString("");
    }
    PyObject *n = normalize_str(name);
    return n ? n : PyUnicode_FromString("");
}

PyObject *jf_span_name(PyObject *name) { return sanitize_name(name); }

/* Parses and validates everything into locals first and commits only at the end, so a
 * failed __init__ leaves the span untouched (and a second __init__ cannot leak). */
static int Span_init(PyObject *op, PyObject *args, PyObject *kwds) {
    SpanObject *s = (SpanObject *)op;
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    static char *kwlist[] = {"name", "parent", "kind", "attributes", "start_time", "trace_id", "span_id",
                             "exporter", "store", NULL};
    PyObject *name, *parent = Py_None, *kind = Py_None, *attributes = Py_None, *start = Py_None;
    PyObject *trace_id = Py_None, *span_id = Py_None, *exporter = Py_None, *store = Py_None;
    PyObject *clean_name = NULL, *attrs = NULL;
    jf_exporter *e = NULL;
    jf_store *core = NULL;
    jf_span_key key;
    uint64_t parent_span_id = 0;
    uint8_t kind_value, has_parent = 0, parent_remote = 0, flags = 1;
    uint32_t dropped = 0;
    int64_t start_ns;
    if (s->name) {
        PyErr_SetString(PyExc_RuntimeError, "Span is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$OOOOOOOO:Span", kwlist, &name, &parent, &kind, &attributes,
                                     &start, &trace_id, &span_id, &exporter, &store))
        return -1;
    if (jf_span_kind_from_object(kind, &kind_value) < 0 || parse_time(start, &start_ns, "start_time") < 0) return -1;
    if (parent == Py_None) {
        key.trace_hi = jf_rng_next();
        key.trace_lo = nonzero_random();
    } else if (Py_TYPE(parent) == st->SpanType) {
        SpanObject *p = (SpanObject *)parent;
        key = p->key;
        parent_span_id = p->key.span_id;
        flags = p->trace_flags;
        has_parent = 1;
    } else if (Py_TYPE(parent) == st->SpanContextType) {
        SpanContextObject *p = (SpanContextObject *)parent;
        key = p->key;
        parent_span_id = p->key.span_id;
        parent_remote = p->is_remote;
        flags = p->trace_flags;
        has_parent = 1;
    } else {
        PyErr_SetString(PyExc_TypeError, "parent must be a Span, a SpanContext or None");
        return -1;
    }
    if (trace_id != Py_None && uint_from_pylong(trace_id, 128, &key.trace_hi, &key.trace_lo, "trace_id") < 0)
        return -1;
    if (span_id != Py_None) {
        uint64_t unused;
        if (uint_from_pylong(span_id, 64, &unused, &key.span_id, "span_id") < 0) return -1;
    } else {
        key.span_id = nonzero_random();
    }
    if (exporter != Py_None && !(e = jf_exporter_from_object(st, exporter))) {
        PyErr_SetString(PyExc_TypeError, "exporter must be an Exporter or None");
        return -1;
    }
    if (store != Py_None && !(core = jf_store_from_object(st, store))) {
        PyErr_SetString(PyExc_TypeError, "store must be a Store or None");
        return -1;
    }
    if (!(clean_name = sanitize_name(name))) return -1;
    if (attributes != Py_None && attrs_update(&attrs, attributes, jf_rt.cfg.max_attributes, &dropped) < 0) {
        Py_DECREF(clean_name);
        Py_XDECREF(attrs);
        return -1;
    }
    /* Commit: nothing below can fail. */
    s->key = key;
    s->parent_span_id = parent_span_id;
    s->has_parent = has_parent;
    s->parent_remote = parent_remote;
    s->trace_flags = flags;
    s->kind = kind_value;
    s->attributes = attrs;
    s->dropped_attributes = dropped;
    span_commit(s, e, core, start_ns, clean_name);
    return 0;
}

static void Span_dealloc(PyObject *op) {
    SpanObject *s = (SpanObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    Py_CLEAR(s->name);
    Py_CLEAR(s->attributes);
    Py_CLEAR(s->events);
    Py_CLEAR(s->status_message);
    Py_CLEAR(s->context);
    if (s->exporter) {
        jf_exporter *e = s->exporter;
        s->exporter = NULL;
        jf_exporter_decref(e);
    }
    if (s->store) {
        jf_store *core = s->store;
        s->store = NULL;
        jf_store_release_list(jf_store_decref(core));
    }
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(op);
    Py_DECREF(tp);
}

static int span_ready(SpanObject *s) {
    if (!s->name) {
        PyErr_SetString(PyExc_RuntimeError, "Span.__init__ was not called");
        return -1;
    }
    return 0;
}

static PyObject *Span_get_span_context(PyObject *op, PyObject *unused) {
    (void)unused;
    SpanObject *s = (SpanObject *)op;
    if (span_ready(s) < 0) return NULL;
    if (!s->context) {
        s->context = jf_span_context_new(jf_state_of_type(Py_TYPE(op)), &s->key, s->trace_flags, 0);
        if (!s->context) return NULL;
    }
    return Py_NewRef(s->context);
}

/* METH_FASTCALL: the hot path builds no argument tuple. Same messages as PyArg_UnpackTuple. */
static PyObject *Span_set_attribute(PyObject *op, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "set_attribute expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    if (span_ready((SpanObject *)op) < 0) return NULL;
    jf_span_set_attribute((SpanObject *)op, args[0], args[1]);
    Py_RETURN_NONE;
}

static PyObject *Span_set_attributes(PyObject *op, PyObject *attributes) {
    SpanObject *s = (SpanObject *)op;
    if (span_ready(s) < 0) return NULL;
    if (s->ended || attributes == Py_None) Py_RETURN_NONE;
    if (attrs_update(&s->attributes, attributes, jf_rt.cfg.max_attributes, &s->dropped_attributes) < 0) return NULL;
    Py_RETURN_NONE;
}

/* Appends an event (name already a str). Steals nothing. Never raises except TypeError
 * for a bad attributes argument. */
static int add_event(SpanObject *s, PyObject *name, PyObject *attributes, int64_t t) {
    if (s->ended) return 0;
    if (!s->events && !(s->events = PyList_New(0))) return -1;
    if ((size_t)PyList_Size(s->events) >= jf_rt.cfg.max_events) {
        s->dropped_events++;
        jf_rt.ctr.events_dropped++;
        return 0;
    }
    uint32_t dropped = 0;
    PyObject *attrs = Py_None, *nm = NULL, *ev = NULL;
    int rc = -1;
    if (attributes && attributes != Py_None) {
        attrs = jf_attr_normalize_mapping(attributes, jf_rt.cfg.max_attributes, &dropped);
        if (!attrs) return -1;
    } else {
        Py_INCREF(attrs);
    }
    nm = sanitize_name(name);
    if (!nm) goto done;
    ev = Py_BuildValue("(OLOk)", nm, (long long)(t ? t : span_now(s)), attrs, (unsigned long)dropped);
    if (!ev || PyList_Append(s->events, ev) < 0) goto done;
    rc = 0;
done:
    Py_XDECREF(ev);
    Py_XDECREF(nm);
    Py_DECREF(attrs);
    return rc;
}

static PyObject *Span_add_event(PyObject *op, PyObject *args, PyObject *kwds) {
    SpanObject *s = (SpanObject *)op;
    static char *kwlist[] = {"name", "attributes", "timestamp", NULL};
    PyObject *name, *attributes = Py_None, *ts = Py_None;
    int64_t t;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OO:add_event", kwlist, &name, &attributes, &ts)) return NULL;
    if (span_ready(s) < 0 || parse_time(ts, &t, "timestamp") < 0) return NULL;
    if (add_event(s, name, attributes, t) < 0) return NULL;
    Py_RETURN_NONE;
}

/* "module.qualname" of the exception type (qualname alone for builtins). New ref. */
static PyObject *exception_type_name(PyObject *exc) {
    PyObject *tp = (PyObject *)Py_TYPE(exc);
    PyObject *qual = PyObject_GetAttrString(tp, "__qualname__");
    PyObject *mod = qual ? PyObject_GetAttrString(tp, "__module__") : NULL;
    PyObject *r = NULL;
    if (!mod) {
        PyErr_Clear();
        r = qual ? Py_NewRef(qual) : PyUnicode_FromString("Exception");
    } else if (PyUnicode_Check(mod) && PyUnicode_CompareWithASCIIString(mod, "builtins") != 0) {
        r = PyUnicode_FromFormat("%U.%S", mod, qual);
    } else {
        r = PyObject_Str(qual);
    }
    Py_XDECREF(qual);
    Py_XDECREF(mod);
    if (!r) {
        PyErr_Clear();
        r = PyUnicode_FromString("Exception");
    }
    return r;
}

/* The formatted traceback of exc as one str, or "" if formatting fails. New ref. */
static PyObject *exception_stacktrace(jf_state *st, PyObject *exc) {
    PyObject *lines = NULL, *empty = NULL, *tb = NULL, *r = NULL;
    if (!st->format_exception) {
        PyObject *mod = PyImport_ImportModule("traceback");
        if (mod) {
            st->format_exception = PyObject_GetAttrString(mod, "format_exception");
            Py_DECREF(mod);
        }
        if (!st->format_exception) goto done;
    }
    tb = PyObject_GetAttrString(exc, "__traceback__");
    if (!tb) goto done;
    lines = PyObject_CallFunctionObjArgs(st->format_exception, (PyObject *)Py_TYPE(exc), exc, tb, NULL);
    if (!lines) goto done;
    empty = PyUnicode_FromString("");
    if (empty) r = PyUnicode_Join(empty, lines);
done:
    Py_XDECREF(lines);
    Py_XDECREF(empty);
    Py_XDECREF(tb);
    if (!r) {
        PyErr_Clear();
        r = PyUnicode_FromString("");
    }
    return r;
}

/* Adds the "exception" event for exc with OpenTelemetry's attributes (plus `attributes`,
 * a dict or NULL/None). The exception's type name and str(exc) are computed once and
 * handed back as new references in *type_name (never NULL unless out of memory) and
 * *message (NULL when str() raised), so that __exit__ can build the status without
 * running the exception's __str__ a second time. Returns 0, or -1 with an exception set
 * (the outputs are set either way; the caller releases them). */
static int record_exception(SpanObject *s, PyObject *exc, PyObject *attributes, int64_t t, int escaped,
                            PyObject **type_name, PyObject **message) {
    jf_state *st = jf_state_of_type(Py_TYPE(s));
    PyObject *d = NULL, *name = NULL, *v = NULL;
    *type_name = exception_type_name(exc);
    *message = PyObject_Str(exc);
    if (!*message) PyErr_Clear();
    if (!*type_name) return -1;
    if (!(d = PyDict_New())) return -1;
    if (PyDict_SetItemString(d, "exception.type", *type_name) < 0) goto error;
    v = *message ? Py_NewRef(*message) : PyUnicode_FromString("<unprintable exception>");
    if (!v || PyDict_SetItemString(d, "exception.message", v) < 0) goto error;
    Py_CLEAR(v);
    v = exception_stacktrace(st, exc);
    if (!v || PyDict_SetItemString(d, "exception.stacktrace", v) < 0) goto error;
    Py_CLEAR(v);
    v = PyUnicode_FromString(escaped ? "True" : "False");
    if (!v || PyDict_SetItemString(d, "exception.escaped", v) < 0) goto error;
    Py_CLEAR(v);
    if (attributes && attributes != Py_None && PyDict_Check(attributes) && PyDict_Update(d, attributes) < 0)
        goto error;
    name = PyUnicode_FromString("exception");
    if (!name || add_event(s, name, d, t) < 0) goto error;
    Py_DECREF(name);
    Py_DECREF(d);
    return 0;
error:
    Py_XDECREF(name);
    Py_XDECREF(v);
    Py_DECREF(d);
    return -1;
}

static PyObject *Span_record_exception(PyObject *op, PyObject *args, PyObject *kwds) {
    SpanObject *s = (SpanObject *)op;
    static char *kwlist[] = {"exception", "attributes", "timestamp", "escaped", NULL};
    PyObject *exc, *attributes = Py_None, *ts = Py_None, *type_name, *message;
    int escaped = 0;
    int64_t t;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OOp:record_exception", kwlist, &exc, &attributes, &ts, &escaped))
        return NULL;
    if (span_ready(s) < 0 || parse_time(ts, &t, "timestamp") < 0) return NULL;
    if (s->ended) Py_RETURN_NONE;
    int rc = record_exception(s, exc, attributes, t, escaped, &type_name, &message);
    Py_XDECREF(type_name);
    Py_XDECREF(message);
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}

void jf_span_abort(SpanObject *s, PyObject *exc, int record, int status) {
    if (s->ended) return;
    int is_exception = PyObject_IsInstance(exc, PyExc_Exception);
    if (is_exception < 0) {  /* a broken __class__: record nothing */
        PyErr_Clear();
        return;
    }
    if (!record && !(is_exception && status)) return;
    PyObject *tn = NULL, *msg = NULL;
    if (record) {
        if (record_exception(s, exc, NULL, 0, !is_exception, &tn, &msg) < 0) PyErr_Clear();
    } else {
        tn = exception_type_name(exc);
        if (!(msg = PyObject_Str(exc))) PyErr_Clear();
    }
    /* The exception's __str__ (user code) may have ended the span: nothing after end. */
    if (is_exception && status && !s->ended && s->status_code != JF_STATUS_OK) {
        Py_CLEAR(s->status_message);
        s->status_code = JF_STATUS_ERROR;
        PyObject *text = msg ? msg : tn;
        s->status_message = text ? normalize_str(text) : NULL;
        if (!s->status_message) PyErr_Clear();
    }
    Py_XDECREF(tn);
    Py_XDECREF(msg);
}

/* Reads a status argument: int code, an enum with .value, or a Status-like object with
 * .status_code (and .description). */
static int parse_status(PyObject *status, long *code, PyObject **desc_from_status, int depth) {
    PyObject *c = NULL;
    *desc_from_status = NULL;
    if (PyLong_Check(status)) {
        *code = PyLong_AsLong(status);
    } else if (depth < 2 && PyObject_HasAttrString(status, "status_code")) {
        /* A Status (depth 0) whose status_code is an enum or, at most, one more Status-like
         * level: an object whose status_code returns itself must not recurse forever. */
        PyObject *inner_desc = NULL;  /* a Status whose status_code is itself Status-like */
        c = PyObject_GetAttrString(status, "status_code");
        if (!c) return -1;
        int rc = parse_status(c, code, &inner_desc, depth + 1);
        Py_DECREF(c);
        if (rc < 0) return -1;
        PyObject *d = PyObject_GetAttrString(status, "description");
        if (d && d == Py_None && inner_desc) {
            Py_DECREF(d);
            *desc_from_status = inner_desc;  /* the only description there is */
            return 0;
        }
        Py_XDECREF(inner_desc);
        if (!d) PyErr_Clear();
        else if (d == Py_None) Py_DECREF(d);
        else *desc_from_status = d;
        return 0;
    } else {
        c = PyObject_GetAttrString(status, "value");
        if (!c) return -1;
        *code = PyLong_AsLong(c);
        Py_DECREF(c);
    }
    if (*code == -1 && PyErr_Occurred()) return -1;
    if (*code < 0 || *code > 2) {
        PyErr_SetString(PyExc_ValueError, "status code must be 0 (UNSET), 1 (OK) or 2 (ERROR)");
        return -1;
    }
    return 0;
}

static PyObject *Span_set_status(PyObject *op, PyObject *args, PyObject *kwds) {
    SpanObject *s = (SpanObject *)op;
    static char *kwlist[] = {"status", "description", NULL};
    PyObject *status, *description = Py_None, *from_status = NULL;
    long code;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:set_status", kwlist, &status, &description)) return NULL;
    if (span_ready(s) < 0 || parse_status(status, &code, &from_status, 0) < 0) return NULL;
    if (description == Py_None && from_status) description = from_status;
    /* OTel rules: nothing after end; OK is final; UNSET never overrides; only ERROR keeps
     * a description. */
    if (!s->ended && s->status_code != JF_STATUS_OK && code != JF_STATUS_UNSET) {
        s->status_code = (uint8_t)code;
        Py_CLEAR(s->status_message);
        if (code == JF_STATUS_ERROR && description != Py_None) {
            s->status_message = sanitize_name(description);
            if (!s->status_message) PyErr_Clear();
        }
    }
    Py_XDECREF(from_status);
    Py_RETURN_NONE;
}

static PyObject *Span_update_name(PyObject *op, PyObject *name) {
    SpanObject *s = (SpanObject *)op;
    if (span_ready(s) < 0) return NULL;
    if (s->ended) Py_RETURN_NONE;
    PyObject *n = sanitize_name(name);
    if (!n) return NULL;
    PyObject *old = s->name;
    s->name = n;  /* set before releasing the old value */
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

static PyObject *Span_is_recording(PyObject *op, PyObject *unused) {
    (void)unused;
    return PyBool_FromLong(!((SpanObject *)op)->ended);
}

/* METH_FASTCALL | METH_KEYWORDS: end(end_time=None), end_time positional or by keyword,
 * with the messages PyArg_ParseTupleAndKeywords("|O:end") gives. */
static PyObject *Span_end(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    SpanObject *s = (SpanObject *)op;
    Py_ssize_t nkw = kwnames ? PyTuple_Size(kwnames) : 0;
    PyObject *end = nargs ? args[0] : NULL;
    int64_t t;
    if (nargs + nkw > 1) {
        PyErr_Format(PyExc_TypeError, "end() takes at most 1 %sargument (%zd given)", nargs ? "" : "keyword ",
                     nargs + nkw);
        return NULL;
    }
    if (nkw) {
        PyObject *kw = PyTuple_GetItem(kwnames, 0);
        if (!kw) return NULL;
        if (PyUnicode_CompareWithASCIIString(kw, "end_time") != 0) {
            PyErr_Format(PyExc_TypeError, "'%S' is an invalid keyword argument for end()", kw);
            return NULL;
        }
        end = args[0];  /* keyword values follow the positional ones */
    }
    if (span_ready(s) < 0 || parse_time(end, &t, "end_time") < 0) return NULL;
    jf_span_end(s, t);
    Py_RETURN_NONE;
}

static PyObject *Span_enter(PyObject *op, PyObject *unused) {
    (void)unused;
    return Py_NewRef(op);
}

static PyObject *Span_exit(PyObject *op, PyObject *const *args, Py_ssize_t nargs) {
    SpanObject *s = (SpanObject *)op;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "__exit__ expected 3 arguments, got %zd", nargs);
        return NULL;
    }
    PyObject *ev = args[1];
    if (span_ready(s) < 0) return NULL;
    int is_exception = ev != Py_None && !s->ended ? PyObject_IsInstance(ev, PyExc_Exception) : 0;
    if (is_exception < 0) PyErr_Clear();  /* a broken __class__: end the span, record nothing */
    if (is_exception > 0) {
        PyObject *tn, *msg;
        if (record_exception(s, ev, NULL, 0, 0, &tn, &msg) < 0) PyErr_Clear();
        /* The exception's __str__ (user code) may have ended the span: nothing after end. */
        if (!s->ended && s->status_code != JF_STATUS_OK && tn) {
            Py_CLEAR(s->status_message);
            s->status_code = JF_STATUS_ERROR;
            PyObject *text = msg ? PyUnicode_FromFormat("%U: %U", tn, msg) : Py_NewRef(tn);
            s->status_message = text ? normalize_str(text) : NULL;  /* bounded, valid UTF-8 */
            Py_XDECREF(text);
            if (!s->status_message) PyErr_Clear();
        }
        Py_XDECREF(tn);
        Py_XDECREF(msg);
    }
    jf_span_end(s, 0);
    Py_RETURN_FALSE;
}

static PyObject *Span_encode(PyObject *op, PyObject *unused) {
    (void)unused;
    SpanObject *s = (SpanObject *)op;
    if (span_ready(s) < 0) return NULL;
    jf_item *it = jf_span_encode(s);
    if (!it) return NULL;
    PyObject *b = PyBytes_FromStringAndSize((const char *)it->data, (Py_ssize_t)it->len);
    jf_item_free(it);
    return b;
}

static PyObject *Span_repr(PyObject *op) {
    SpanObject *s = (SpanObject *)op;
    char ids[64];
    snprintf(ids, sizeof ids, "%016llx%016llx/%016llx", (unsigned long long)s->key.trace_hi,
             (unsigned long long)s->key.trace_lo, (unsigned long long)s->key.span_id);
    return PyUnicode_FromFormat("<Span %R %s%s>", s->name ? s->name : Py_None, ids, s->ended ? " ended" : "");
}

/* ---- ReadableSpan-style properties ---- */

static PyObject *Span_get_name(PyObject *op, void *c) { (void)c; SpanObject *s = (SpanObject *)op; return Py_NewRef(s->name ? s->name : Py_None); }
static PyObject *Span_get_context(PyObject *op, void *c) { (void)c; return Span_get_span_context(op, NULL); }

static PyObject *Span_get_parent(PyObject *op, void *c) {
    (void)c;
    SpanObject *s = (SpanObject *)op;
    if (!s->has_parent) Py_RETURN_NONE;
    jf_span_key k = {s->key.trace_hi, s->key.trace_lo, s->parent_span_id};
    return jf_span_context_new(jf_state_of_type(Py_TYPE(op)), &k, s->trace_flags, s->parent_remote);
}

static PyObject *Span_get_kind(PyObject *op, void *c) { (void)c; return PyLong_FromLong(((SpanObject *)op)->kind); }
static PyObject *Span_get_start_time(PyObject *op, void *c) { (void)c; return PyLong_FromLongLong(((SpanObject *)op)->start_unix_ns); }

static PyObject *Span_get_end_time(PyObject *op, void *c) {
    (void)c;
    SpanObject *s = (SpanObject *)op;
    if (!s->ended) Py_RETURN_NONE;
    return PyLong_FromLongLong(s->end_unix_ns);
}

static PyObject *Span_get_attributes(PyObject *op, void *c) {
    (void)c;
    SpanObject *s = (SpanObject *)op;
    if (!s->attributes && !(s->attributes = PyDict_New())) return NULL;
    return PyDictProxy_New(s->attributes);
}

static PyObject *Span_get_events(PyObject *op, void *c) {
    (void)c;
    SpanObject *s = (SpanObject *)op;
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    Py_ssize_t n = s->events ? PyList_Size(s->events) : 0;
    PyObject *out = PyTuple_New(n);
    for (Py_ssize_t i = 0; out && i < n; i++) {
        PyObject *ev = PyList_GetItem(s->events, i);
        PyObject *e = PyStructSequence_New(st->EventType);
        if (!e) { Py_CLEAR(out); break; }
        PyObject *attrs = PyTuple_GetItem(ev, 2);
        PyStructSequence_SetItem(e, 0, Py_NewRef(PyTuple_GetItem(ev, 0)));
        PyStructSequence_SetItem(e, 1, Py_NewRef(PyTuple_GetItem(ev, 1)));
        PyStructSequence_SetItem(e, 2, attrs == Py_None ? PyDict_New() : PyDictProxy_New(attrs));
        PyTuple_SetItem(out, i, e);
    }
    return out;
}

static PyObject *Span_get_status(PyObject *op, void *c) {
    (void)c;
    SpanObject *s = (SpanObject *)op;
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    PyObject *r = PyStructSequence_New(st->StatusType);
    if (!r) return NULL;
    PyStructSequence_SetItem(r, 0, PyLong_FromLong(s->status_code));
    PyStructSequence_SetItem(r, 1, Py_NewRef(s->status_message ? s->status_message : Py_None));
    return r;
}

static PyObject *Span_get_dropped_attributes(PyObject *op, void *c) { (void)c; return PyLong_FromUnsignedLong(((SpanObject *)op)->dropped_attributes); }
static PyObject *Span_get_dropped_events(PyObject *op, void *c) { (void)c; return PyLong_FromUnsignedLong(((SpanObject *)op)->dropped_events); }
static PyObject *Span_get_links(PyObject *op, void *c) { (void)op; (void)c; return PyTuple_New(0); }

static PyMethodDef Span_methods[] = {
    {"get_span_context", Span_get_span_context, METH_NOARGS, "get_span_context($self, /)\n--\n\nThe span's SpanContext (cached)."},
    {"set_attribute", (PyCFunction)(void (*)(void))Span_set_attribute, METH_FASTCALL,
     "set_attribute($self, key, value, /)\n--\n\nSet one attribute; unsupported values are converted, oversized ones truncated (counted)."},
    {"set_attributes", Span_set_attributes, METH_O, "set_attributes($self, attributes, /)\n--\n\nSet every item of a mapping."},
    {"add_event", (PyCFunction)(void (*)(void))Span_add_event, METH_VARARGS | METH_KEYWORDS,
     "add_event($self, name, attributes=None, timestamp=None)\n--\n\nAppend an event (bounded by max_events)."},
    {"record_exception", (PyCFunction)(void (*)(void))Span_record_exception, METH_VARARGS | METH_KEYWORDS,
     "record_exception($self, exception, attributes=None, timestamp=None, escaped=False)\n--\n\n"
     "Add an 'exception' event with OpenTelemetry's attributes."},
    {"set_status", (PyCFunction)(void (*)(void))Span_set_status, METH_VARARGS | METH_KEYWORDS,
     "set_status($self, status, description=None)\n--\n\nSet the status (OK is final; UNSET never overrides)."},
    {"update_name", Span_update_name, METH_O, "update_name($self, name, /)\n--\n\nRename the span."},
    {"is_recording", Span_is_recording, METH_NOARGS, "is_recording($self, /)\n--\n\nTrue until end()."},
    {"end", (PyCFunction)(void (*)(void))Span_end, METH_FASTCALL | METH_KEYWORDS,
     "end($self, end_time=None)\n--\n\nEnd the span, encode it and hand it to its exporter. A second call is ignored."},
    {"__enter__", Span_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))Span_exit, METH_FASTCALL, NULL},
    {"_encode", Span_encode, METH_NOARGS, "_encode($self, /)\n--\n\nThe span's OTLP Span message (tests)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Span_getset[] = {
    {"name", Span_get_name, NULL, NULL, NULL},
    {"context", Span_get_context, NULL, NULL, NULL},
    {"parent", Span_get_parent, NULL, NULL, NULL},
    {"kind", Span_get_kind, NULL, "SpanKind value (0 INTERNAL .. 4 CONSUMER).", NULL},
    {"start_time", Span_get_start_time, NULL, "Unix epoch ns.", NULL},
    {"end_time", Span_get_end_time, NULL, "Unix epoch ns, or None while open.", NULL},
    {"attributes", Span_get_attributes, NULL, "Read-only view of the (normalised) attributes.", NULL},
    {"events", Span_get_events, NULL, NULL, NULL},
    {"status", Span_get_status, NULL, "Status(status_code, description).", NULL},
    {"dropped_attributes", Span_get_dropped_attributes, NULL, NULL, NULL},
    {"dropped_events", Span_get_dropped_events, NULL, NULL, NULL},
    {"links", Span_get_links, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Span_slots[] = {
    {Py_tp_doc, "Span(name, *, parent=None, kind=0, attributes=None, start_time=None, trace_id=None, "
                "span_id=None, exporter=None, store=None)\n--\n\nA native span; see the module docs."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Span_init},
    {Py_tp_dealloc, Span_dealloc},
    {Py_tp_repr, Span_repr},
    {Py_tp_methods, Span_methods},
    {Py_tp_getset, Span_getset},
    {0, NULL},
};

/* Spans hold only normalised scalars (no references to arbitrary objects), so they
 * cannot be part of a reference cycle and stay out of the cyclic GC: cheaper to create
 * and never scanned. */
static PyType_Spec Span_spec = {
    .name = "judgeval_fast._native.Span",
    .basicsize = sizeof(SpanObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = Span_slots,
};

/* ======================================================================== */
/* SpanContext                                                               */
/* ======================================================================== */

PyObject *jf_span_context_new(jf_state *st, const jf_span_key *key, int trace_flags, int is_remote) {
    SpanContextObject *c = (SpanContextObject *)PyType_GenericAlloc(st->SpanContextType, 0);
    if (!c) return NULL;
    c->key = *key;
    c->trace_flags = (uint8_t)trace_flags;
    c->is_remote = (uint8_t)(is_remote != 0);
    return (PyObject *)c;
}

static PyObject *SpanContext_new(PyTypeObject *tp, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"trace_id", "span_id", "is_remote", "trace_flags", NULL};
    PyObject *tid, *sid;
    int remote = 0, flags = 1;
    jf_span_key k;
    uint64_t unused;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|pi:SpanContext", kwlist, &tid, &sid, &remote, &flags)) return NULL;
    if (uint_from_pylong(tid, 128, &k.trace_hi, &k.trace_lo, "trace_id") < 0) return NULL;
    if (uint_from_pylong(sid, 64, &unused, &k.span_id, "span_id") < 0) return NULL;
    if (flags < 0 || flags > 255) {
        PyErr_SetString(PyExc_ValueError, "trace_flags must be in 0..255");
        return NULL;
    }
    return jf_span_context_new(jf_state_of_type(tp), &k, flags, remote);
}

static void SpanContext_dealloc(PyObject *op) {
    PyTypeObject *tp = Py_TYPE(op);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(op);
    Py_DECREF(tp);
}

static PyObject *SpanContext_get_trace_id(PyObject *op, void *c) {
    (void)c;
    SpanContextObject *x = (SpanContextObject *)op;
    return jf_u128_to_pylong(x->key.trace_hi, x->key.trace_lo);
}
static PyObject *SpanContext_get_span_id(PyObject *op, void *c) { (void)c; return PyLong_FromUnsignedLongLong(((SpanContextObject *)op)->key.span_id); }
static PyObject *SpanContext_get_trace_flags(PyObject *op, void *c) { (void)c; return PyLong_FromLong(((SpanContextObject *)op)->trace_flags); }
static PyObject *SpanContext_get_is_remote(PyObject *op, void *c) { (void)c; return PyBool_FromLong(((SpanContextObject *)op)->is_remote); }
static PyObject *SpanContext_get_trace_state(PyObject *op, void *c) { (void)op; (void)c; Py_RETURN_NONE; }

static PyObject *SpanContext_get_is_valid(PyObject *op, void *c) {
    (void)c;
    SpanContextObject *x = (SpanContextObject *)op;
    return PyBool_FromLong((x->key.trace_hi || x->key.trace_lo) && x->key.span_id);
}

static PyObject *SpanContext_get_trace_id_hex(PyObject *op, void *c) {
    (void)c;
    SpanContextObject *x = (SpanContextObject *)op;
    char buf[33];
    snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)x->key.trace_hi, (unsigned long long)x->key.trace_lo);
    return PyUnicode_FromStringAndSize(buf, 32);
}

static PyObject *SpanContext_get_span_id_hex(PyObject *op, void *c) {
    (void)c;
    char buf[17];
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)((SpanContextObject *)op)->key.span_id);
    return PyUnicode_FromStringAndSize(buf, 16);
}

static PyObject *SpanContext_richcompare(PyObject *a, PyObject *b, int op) {
    if (Py_TYPE(a) != Py_TYPE(b) || (op != Py_EQ && op != Py_NE)) Py_RETURN_NOTIMPLEMENTED;
    SpanContextObject *x = (SpanContextObject *)a, *y = (SpanContextObject *)b;
    int eq = x->key.trace_hi == y->key.trace_hi && x->key.trace_lo == y->key.trace_lo &&
             x->key.span_id == y->key.span_id && x->trace_flags == y->trace_flags && x->is_remote == y->is_remote;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static Py_hash_t SpanContext_hash(PyObject *op) {
    SpanContextObject *x = (SpanContextObject *)op;
    uint64_t h = x->key.span_id ^ (x->key.trace_lo * UINT64_C(0x9e3779b97f4a7c15)) ^ x->key.trace_hi;
    Py_hash_t r = (Py_hash_t)(h >> 1);
    return r == -1 ? -2 : r;
}

static PyObject *SpanContext_repr(PyObject *op) {
    SpanContextObject *x = (SpanContextObject *)op;
    char buf[128];
    snprintf(buf, sizeof buf, "SpanContext(trace_id=0x%016llx%016llx, span_id=0x%016llx, trace_flags=0x%02x, is_remote=%s)",
             (unsigned long long)x->key.trace_hi, (unsigned long long)x->key.trace_lo,
             (unsigned long long)x->key.span_id, x->trace_flags, x->is_remote ? "True" : "False");
    return PyUnicode_FromString(buf);
}

static PyGetSetDef SpanContext_getset[] = {
    {"trace_id", SpanContext_get_trace_id, NULL, NULL, NULL},
    {"span_id", SpanContext_get_span_id, NULL, NULL, NULL},
    {"trace_flags", SpanContext_get_trace_flags, NULL, NULL, NULL},
    {"is_remote", SpanContext_get_is_remote, NULL, NULL, NULL},
    {"is_valid", SpanContext_get_is_valid, NULL, NULL, NULL},
    {"trace_state", SpanContext_get_trace_state, NULL, NULL, NULL},
    {"trace_id_hex", SpanContext_get_trace_id_hex, NULL, "32 lowercase hex digits.", NULL},
    {"span_id_hex", SpanContext_get_span_id_hex, NULL, "16 lowercase hex digits.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot SpanContext_slots[] = {
    {Py_tp_doc, "SpanContext(trace_id, span_id, is_remote=False, trace_flags=1)\n--\n\nImmutable span identity."},
    {Py_tp_new, SpanContext_new},
    {Py_tp_dealloc, SpanContext_dealloc},
    {Py_tp_getset, SpanContext_getset},
    {Py_tp_richcompare, SpanContext_richcompare},
    {Py_tp_hash, SpanContext_hash},
    {Py_tp_repr, SpanContext_repr},
    {0, NULL},
};

static PyType_Spec SpanContext_spec = {
    .name = "judgeval_fast._native.SpanContext",
    .basicsize = sizeof(SpanContextObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = SpanContext_slots,
};

/* ======================================================================== */
/* Event / Status structseqs and registration                                */
/* ======================================================================== */

static PyStructSequence_Field Event_fields[] = {
    {"name", "event name"}, {"timestamp", "unix epoch ns"}, {"attributes", "read-only mapping"}, {NULL, NULL}};
static PyStructSequence_Desc Event_desc = {"judgeval_fast._native.Event", "A span event.", Event_fields, 3};

static PyStructSequence_Field Status_fields[] = {
    {"status_code", "0 UNSET, 1 OK, 2 ERROR"}, {"description", "str or None"}, {NULL, NULL}};
static PyStructSequence_Desc Status_desc = {"judgeval_fast._native.Status", "A span status.", Status_fields, 2};

int jf_span_add_types(PyObject *module) {
    jf_state *st = PyModule_GetState(module);
    if (!(st->SpanType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Span_spec, NULL))) return -1;
    if (PyModule_AddType(module, st->SpanType) < 0) return -1;
    if (!(st->SpanContextType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &SpanContext_spec, NULL))) return -1;
    if (PyModule_AddType(module, st->SpanContextType) < 0) return -1;
    if (!(st->EventType = PyStructSequence_NewType(&Event_desc))) return -1;
    if (PyModule_AddObjectRef(module, "Event", (PyObject *)st->EventType) < 0) return -1;
    if (!(st->StatusType = PyStructSequence_NewType(&Status_desc))) return -1;
    return PyModule_AddObjectRef(module, "Status", (PyObject *)st->StatusType);
}
