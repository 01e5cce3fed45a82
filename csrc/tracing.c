/* tracing.c - the tracer's hot path (see tracing.h for the types and the contract).
 *
 * ContextVars from C: PyContextVar_Get/Set/Reset are CPython's exported C API since 3.7
 * with unchanged signatures, but outside the limited API; like PyMem_Raw* in common.h
 * they are declared here for our 3.10 limited-API build. The alternative, calling
 * var.get/var.set/var.reset through the method protocol, costs three Python-level calls
 * per span. PyMethod_New (bound methods of Observed used as a method) likewise.
 * CI imports the abi3 wheel and runs an observed call on 3.10 to 3.13.
 */
#include "tracing.h"

#include "exporter.h"
#include "store.h"

#include <structmember.h>

PyAPI_FUNC(int) PyContextVar_Get(PyObject *var, PyObject *default_value, PyObject **value);
PyAPI_FUNC(PyObject *) PyContextVar_Set(PyObject *var, PyObject *value);
PyAPI_FUNC(int) PyContextVar_Reset(PyObject *var, PyObject *token);
PyAPI_FUNC(PyObject *) PyMethod_New(PyObject *func, PyObject *self);

/* *slot = value (a new reference, or NULL), releasing the old one last. */
static void set_ref(PyObject **slot, PyObject *value) {
    PyObject *old = *slot;
    *slot = value;
    Py_XDECREF(old);
}

/* ======================================================================== */
/* Frame                                                                     */
/* ======================================================================== */

typedef struct {
    PyObject_HEAD
    SpanObject *span;     /* invariant 1 */
    PyObject *inherited;  /* invariant 1 */
} FrameObject;

static PyObject *frame_new(jf_state *st, SpanObject *span, PyObject *inherited) {
    FrameObject *f = (FrameObject *)PyType_GenericAlloc(st->FrameType, 0);
    if (!f) return NULL;
    f->span = (SpanObject *)Py_NewRef((PyObject *)span);
    f->inherited = Py_XNewRef(inherited);
    return (PyObject *)f;
}

/* A dict of str(key) -> str(value) copied from a mapping; NULL with an exception set. */
static PyObject *str_dict(PyObject *mapping) {
    PyObject *items = PyMapping_Items(mapping), *d = NULL;
    if (!items || !(d = PyDict_New())) goto error;
    for (Py_ssize_t i = 0, n = PyList_Size(items); i < n; i++) {
        PyObject *kv = PyList_GetItem(items, i), *k, *v;
        if (!PyTuple_Check(kv) || PyTuple_Size(kv) != 2) continue;
        k = PyObject_Str(PyTuple_GetItem(kv, 0));
        v = k ? PyObject_Str(PyTuple_GetItem(kv, 1)) : NULL;
        int rc = v ? PyDict_SetItem(d, k, v) : -1;
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (rc < 0) goto error;
    }
    Py_DECREF(items);
    return d;
error:
    Py_XDECREF(items);
    Py_XDECREF(d);
    return NULL;
}

static PyObject *Frame_new(PyTypeObject *tp, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"span", "inherited", NULL};
    jf_state *st = jf_state_of_type(tp);
    PyObject *span, *inherited = Py_None, *copy = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:Frame", kwlist, &span, &inherited)) return NULL;
    if (!jf_span_check(st, span)) {
        PyErr_SetString(PyExc_TypeError, "Frame(span): span must be a Span");
        return NULL;
    }
    if (inherited != Py_None && !(copy = str_dict(inherited))) return NULL;
    PyObject *f = frame_new(st, (SpanObject *)span, copy);
    Py_XDECREF(copy);
    return f;
}

static void Frame_dealloc(PyObject *op) {
    FrameObject *f = (FrameObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    Py_CLEAR(f->span);
    Py_CLEAR(f->inherited);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(op);
    Py_DECREF(tp);
}

static PyObject *Frame_inherit(PyObject *op, PyObject *const *args, Py_ssize_t nargs) {
    FrameObject *f = (FrameObject *)op;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "inherit expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    PyObject *k = PyObject_Str(args[0]), *v = k ? PyObject_Str(args[1]) : NULL, *merged = NULL;
    if (!v) goto done;
    merged = f->inherited ? PyDict_Copy(f->inherited) : PyDict_New();
    if (!merged || PyDict_SetItem(merged, k, v) < 0) {
        Py_CLEAR(merged);
        goto done;
    }
    set_ref(&f->inherited, merged);  /* copy-on-write: children's frames keep theirs */
done:
    Py_XDECREF(k);
    Py_XDECREF(v);
    if (!merged) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Frame_get_span(PyObject *op, void *c) {
    (void)c;
    return Py_NewRef((PyObject *)((FrameObject *)op)->span);
}

static PyObject *Frame_get_inherited(PyObject *op, void *c) {
    (void)c;
    FrameObject *f = (FrameObject *)op;
    return Py_NewRef(f->inherited ? f->inherited : Py_None);
}

static PyObject *Frame_repr(PyObject *op) { return PyUnicode_FromFormat("<Frame of %R>", ((FrameObject *)op)->span); }

static PyMethodDef Frame_methods[] = {
    {"inherit", (PyCFunction)(void (*)(void))Frame_inherit, METH_FASTCALL,
     "inherit($self, key, value, /)\n--\n\nSpans started under this frame from now on get str(key)=str(value)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Frame_getset[] = {
    {"span", Frame_get_span, NULL, "The current span.", NULL},
    {"inherited", Frame_get_inherited, NULL, "What children copy at start (a dict, never mutated), or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Frame_slots[] = {
    {Py_tp_doc, "Frame(span, inherited=None)\n--\n\nOne current span of a tracer's ContextVar and what its children inherit."},
    {Py_tp_new, Frame_new},
    {Py_tp_dealloc, Frame_dealloc},
    {Py_tp_repr, Frame_repr},
    {Py_tp_methods, Frame_methods},
    {Py_tp_getset, Frame_getset},
    {0, NULL},
};

static PyType_Spec Frame_spec = {
    .name = "judgeval_fast._native.Frame",
    .basicsize = sizeof(FrameObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = Frame_slots,
};

/* ======================================================================== */
/* TracerCore                                                                */
/* ======================================================================== */

typedef struct {
    PyObject_HEAD
    PyObject *var;                   /* ContextVar[Frame | None]: the current span */
    PyObject *agent_var;             /* ContextVar[(agent_id, parent_id, class, instance) | None] */
    PyObject *exporter;              /* Exporter or NULL; invariant 2 */
    struct jf_exporter *exporter_c;
    PyObject *store;                 /* Store or NULL; invariant 2 */
    struct jf_store *store_c;
    PyObject *serializer;            /* callable(value) -> str, or NULL for the built-in path */
    PyObject *dumps;                 /* orjson.dumps, for the built-in path */
    PyObject *dumps_args;            /* (value, default, option): reused while not busy */
    int dumps_busy;                  /* dumps_args is lent to a call (a default= may re-enter) */
    PyObject *on_error;              /* callable(where: str, exc): counts an isolated SDK error */
    PyObject *on_unresolved;         /* callable() -> bool (True: resolved), or NULL */
    PyObject *invalid_span;          /* what span() yields when nothing is recorded */
    PyTypeObject *scope_type;        /* SpanScope or a subclass: what span() makes */
    int enabled;                     /* spans are recorded */
    int shut_down;                   /* counts calls into after_shutdown while disabled */
    unsigned long long after_shutdown;
    PyObject *weakreflist;
} CoreObject;

/* Reports the pending exception to on_error(where, exc) and clears it. Never raises. A
 * KeyboardInterrupt that arrived during an SDK step (a repr() or model_dump() we ran) is
 * the user's, not ours: it is re-armed so that it surfaces in their code right after. */
static void core_error(CoreObject *c, const char *where) {
    PyObject *t, *v, *tb;
    if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
        jf_clear_keeping_interrupt();
        return;
    }
    PyErr_Fetch(&t, &v, &tb);
    if (!t) return;
    PyErr_NormalizeException(&t, &v, &tb);
    if (c->on_error && v) {
        PyObject *w = PyUnicode_FromString(where);
        PyObject *r = w ? PyObject_CallFunctionObjArgs(c->on_error, w, v, NULL) : NULL;
        Py_XDECREF(w);
        if (r) Py_DECREF(r);
        else PyErr_Clear();
    }
    Py_XDECREF(t);
    Py_XDECREF(v);
    Py_XDECREF(tb);
}

/* The attribute value of value: exact str/int/float/bool as they are, anything else as
 * JSON text (orjson, or the tracer's serializer), its repr() when that fails. New
 * reference; NULL with an exception set only on MemoryError. */
static PyObject *core_serialize(CoreObject *c, PyObject *value) {
    if (PyUnicode_CheckExact(value) || PyLong_CheckExact(value) || PyFloat_CheckExact(value) || PyBool_Check(value))
        return Py_NewRef(value);
    if (c->serializer) {
        PyObject *text = PyObject_CallFunctionObjArgs(c->serializer, value, NULL);
        if (!text) {
            core_error(c, "the serializer");
            return jf_repr_or_type_name(value);
        }
        if (PyUnicode_Check(text)) return text;
        PyObject *r = jf_repr_or_type_name(text);
        Py_DECREF(text);
        return r;
    }
    /* orjson.dumps(value, default, option), positionally: no keyword dict to unpack. The
     * argument tuple is reused (one GC-tracked allocation less per call) unless a call is
     * in progress: json_encoder runs user code (model_dump) that may serialise again. */
    PyObject *args, *raw;
    if (!c->dumps_busy && Py_REFCNT(c->dumps_args) == 1) {
        args = c->dumps_args;
        PyTuple_SetItem(args, 0, Py_NewRef(value));  /* steals; releases the previous item */
        c->dumps_busy = 1;
        raw = PyObject_Call(c->dumps, args, NULL);
        c->dumps_busy = 0;
        PyTuple_SetItem(args, 0, Py_NewRef(Py_None));
    } else {
        args = PyTuple_Pack(3, value, PyTuple_GetItem(c->dumps_args, 1), PyTuple_GetItem(c->dumps_args, 2));
        raw = args ? PyObject_Call(c->dumps, args, NULL) : NULL;
        Py_XDECREF(args);
    }
    if (!raw) {
        jf_clear_keeping_interrupt();  /* not JSON-able even through json_encoder: judgeval records the repr() */
        return jf_repr_or_type_name(value);
    }
    char *buf;
    Py_ssize_t n;
    PyObject *text = PyBytes_AsStringAndSize(raw, &buf, &n) == 0 ? PyUnicode_DecodeUTF8(buf, n, "replace") : NULL;
    Py_DECREF(raw);
    return text;
}

/* Sets key on span to the serialised value; failures are reported. */
static void core_record(CoreObject *c, SpanObject *span, PyObject *key, PyObject *value, const char *where) {
    PyObject *v = core_serialize(c, value);
    if (!v) {
        core_error(c, where);
        return;
    }
    jf_span_set_attribute(span, key, v);
    Py_DECREF(v);
}

/* The current Frame of c's ContextVar, borrowed semantics via a new ref (*frame NULL when
 * there is none). Returns 0, or -1 with an exception set. */
static int core_current(CoreObject *c, FrameObject **frame) {
    jf_state *st = jf_state_of_type(Py_TYPE(c));
    PyObject *v = NULL;
    *frame = NULL;
    if (PyContextVar_Get(c->var, Py_None, &v) < 0) return -1;
    if (v && Py_TYPE(v) == st->FrameType) *frame = (FrameObject *)v;
    else Py_XDECREF(v);
    return 0;
}

/* The agent attributes of agent(), as TraceOps.new_span sets them. */
static void core_agent_attributes(CoreObject *c, jf_state *st, SpanObject *s) {
    PyObject *agent = NULL;
    if (PyContextVar_Get(c->agent_var, Py_None, &agent) < 0) {
        core_error(c, "reading the agent context");
        return;
    }
    if (agent && PyTuple_Check(agent) && PyTuple_Size(agent) == 4) {
        PyObject *id = PyTuple_GetItem(agent, 0), *parent = PyTuple_GetItem(agent, 1);
        PyObject *cls = PyTuple_GetItem(agent, 2), *inst = PyTuple_GetItem(agent, 3);
        jf_span_set_attribute(s, st->key_agent_id, id);
        if (PyObject_IsTrue(parent) > 0) jf_span_set_attribute(s, st->key_parent_agent_id, parent);
        if (PyObject_IsTrue(cls) > 0) jf_span_set_attribute(s, st->key_agent_class_name, cls);
        if (PyObject_IsTrue(inst) > 0) jf_span_set_attribute(s, st->key_agent_instance_name, inst);
        int same = PyObject_RichCompareBool(id, parent, Py_EQ);
        if (same == 0) jf_span_set_attribute(s, st->key_is_agent_entry_point, Py_True);
        PyErr_Clear();  /* a comparison or truth test that raised only skips that attribute */
    }
    Py_XDECREF(agent);
}

/* A new span, child of parent (NULL: a new trace), with what it inherits, its agent
 * attributes and span_type; *child_frame the Frame that makes it current. Returns the
 * span, or NULL with an exception set. */
static SpanObject *core_new_span(CoreObject *c, PyObject *name, PyObject *span_type, FrameObject *parent,
                                 PyObject **child_frame) {
    jf_state *st = jf_state_of_type(Py_TYPE(c));
    if (c->on_unresolved) {
        /* The project id is not known yet: the Python side queues its resolution (never
         * on this thread) and says when it is known, so this stops being called. */
        PyObject *r = PyObject_CallNoArgs(c->on_unresolved);
        if (!r) core_error(c, "resolving the project");
        else if (r == Py_True) Py_CLEAR(c->on_unresolved);
        Py_XDECREF(r);
    }
    SpanObject *s = jf_span_start(st, name, parent ? parent->span : NULL, c->exporter_c, c->store_c);
    if (!s) return NULL;
    PyObject *inherited = parent ? parent->inherited : NULL;
    if (inherited) jf_span_set_attributes(s, inherited);
    core_agent_attributes(c, st, s);
    if (span_type) jf_span_set_attribute(s, st->key_span_kind, span_type);
    if (!(*child_frame = frame_new(st, s, inherited))) {
        jf_span_end(s, 0);
        Py_DECREF(s);
        return NULL;
    }
    return s;
}

/* Starts a span under the current one and makes it current. Returns 0 with *span and
 * *token set (and *frame_out, a new reference, when not NULL); or -1 when nothing was
 * started (disabled: counted; or an SDK error: reported), with no exception set either way. */
static int core_begin(CoreObject *c, PyObject *name, PyObject *span_type, SpanObject **span, PyObject **token,
                      PyObject **frame_out) {
    FrameObject *parent;
    PyObject *frame = NULL;
    if (!c->enabled) {
        c->after_shutdown += (unsigned long long)c->shut_down;
        return -1;
    }
    if (core_current(c, &parent) < 0) goto error;
    *span = core_new_span(c, name, span_type, parent, &frame);
    Py_XDECREF(parent);
    if (!*span) goto error;
    *token = PyContextVar_Set(c->var, frame);
    if (!*token) {
        Py_DECREF(frame);
        jf_span_end(*span, 0);
        Py_CLEAR(*span);
        goto error;
    }
    if (frame_out) *frame_out = frame;
    else Py_DECREF(frame);
    return 0;
error:
    core_error(c, "starting a span");
    return -1;
}

/* Restores the ContextVar as token left it. Never raises. */
static void core_leave(CoreObject *c, PyObject *token) {
    if (PyContextVar_Reset(c->var, token) == 0) return;
    if (PyErr_ExceptionMatches(PyExc_ValueError)) {
        /* Entered in another context (a scope left inside ctx.run): what it replaced
         * cannot be restored here, so this context gets no current span. */
        core_error(c, "leaving a span entered in another context");
        PyObject *t = PyContextVar_Set(c->var, Py_None);
        if (t) Py_DECREF(t);
        else core_error(c, "leaving a span");
        return;
    }
    core_error(c, "leaving a span");
}

/* Ends span and restores the context; consumes both references. Never raises. */
static void core_finish(CoreObject *c, SpanObject *span, PyObject *token) {
    core_leave(c, token);
    Py_DECREF(token);
    jf_span_end(span, 0);
    Py_DECREF(span);
}

/* Records the exception being raised through a span, keeping it pending. */
static void core_abort_pending(SpanObject *span, PyObject **t, PyObject **v, PyObject **tb) {
    PyErr_Fetch(t, v, tb);
    PyErr_NormalizeException(t, v, tb);
    if (*v && *tb) PyException_SetTraceback(*v, *tb);  /* the stack trace of the event */
    if (*v) jf_span_abort(span, *v, 1, 1);
    PyErr_Clear();
}

static int Core_init(PyObject *op, PyObject *args, PyObject *kwds) {
    CoreObject *c = (CoreObject *)op;
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    static char *kwlist[] = {"var",      "agent_var",    "dumps",      "dumps_default", "dumps_option",
                             "on_error", "invalid_span", "scope_type", NULL};
    PyObject *var, *agent_var, *dumps, *dflt, *option, *on_error, *invalid, *scope_type;
    if (c->var) {
        PyErr_SetString(PyExc_RuntimeError, "TracerCore is already initialised");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO$OOOOOO!:TracerCore", kwlist, &var, &agent_var, &dumps, &dflt,
                                     &option, &on_error, &invalid, &PyType_Type, &scope_type))
        return -1;
    if (!PyObject_IsSubclass(scope_type, (PyObject *)st->SpanScopeType)) {
        PyErr_SetString(PyExc_TypeError, "scope_type must be SpanScope or a subclass");
        return -1;
    }
    c->var = Py_NewRef(var);
    c->agent_var = Py_NewRef(agent_var);
    if (!(c->dumps_args = PyTuple_Pack(3, Py_None, dflt, option))) return -1;
    c->dumps = Py_NewRef(dumps);
    c->on_error = Py_NewRef(on_error);
    c->invalid_span = Py_NewRef(invalid);
    c->scope_type = (PyTypeObject *)Py_NewRef(scope_type);
    return 0;
}

static int Core_traverse(PyObject *op, visitproc visit, void *arg) {
    CoreObject *c = (CoreObject *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(c->var);
    Py_VISIT(c->agent_var);
    Py_VISIT(c->exporter);
    Py_VISIT(c->store);
    Py_VISIT(c->serializer);
    Py_VISIT(c->dumps);
    Py_VISIT(c->dumps_args);
    Py_VISIT(c->on_error);
    Py_VISIT(c->on_unresolved);
    Py_VISIT(c->invalid_span);
    Py_VISIT(c->scope_type);
    return 0;
}

static int Core_clear(PyObject *op) {
    CoreObject *c = (CoreObject *)op;
    c->exporter_c = NULL;
    c->store_c = NULL;
    Py_CLEAR(c->var);
    Py_CLEAR(c->agent_var);
    Py_CLEAR(c->exporter);
    Py_CLEAR(c->store);
    Py_CLEAR(c->serializer);
    Py_CLEAR(c->dumps);
    Py_CLEAR(c->dumps_args);
    Py_CLEAR(c->on_error);
    Py_CLEAR(c->on_unresolved);
    Py_CLEAR(c->invalid_span);
    Py_CLEAR(c->scope_type);
    c->enabled = 0;
    return 0;
}

static void Core_dealloc(PyObject *op) {
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (((CoreObject *)op)->weakreflist) PyObject_ClearWeakRefs(op);
    Core_clear(op);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(op);
    Py_DECREF(tp);
}

/* A core that lost its references (tp_clear, or __init__ never ran) records nothing. */
static int core_usable(CoreObject *c) { return c->var && c->agent_var && c->dumps && c->dumps_args; }

/* span(name): a SpanScope for `with` / `async with`. Never raises: a bad call gets a
 * scope that records nothing (reported). */
static PyObject *Core_span(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);

/* set_attribute(key, value): on the current span, non-scalars serialised. Never raises. */
static PyObject *Core_set_attribute(PyObject *op, PyObject *const *args, Py_ssize_t nargs) {
    CoreObject *c = (CoreObject *)op;
    FrameObject *frame;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "set_attribute expected 2 arguments, got %zd", nargs);
        core_error(c, "set_attribute");
        Py_RETURN_NONE;
    }
    if (!core_usable(c)) Py_RETURN_NONE;
    if (core_current(c, &frame) < 0) {
        core_error(c, "set_attribute");
        Py_RETURN_NONE;
    }
    if (!frame) Py_RETURN_NONE;
    PyObject *key = args[0], *value = args[1];
    int truthy = PyObject_IsTrue(key);
    if (truthy < 0) core_error(c, "set_attribute");
    if (truthy > 0 && value != Py_None) core_record(c, frame->span, key, value, "set_attribute");
    Py_DECREF(frame);
    Py_RETURN_NONE;
}

/* begin(name, span_type) -> (span, frame, token) | None, for the Python wrappers. */
static PyObject *Core_begin(PyObject *op, PyObject *const *args, Py_ssize_t nargs) {
    CoreObject *c = (CoreObject *)op;
    SpanObject *span;
    PyObject *token, *frame = NULL;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "begin expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    if (!core_usable(c) || core_begin(c, args[0], args[1] == Py_None ? NULL : args[1], &span, &token, &frame) < 0)
        Py_RETURN_NONE;
    PyObject *r = PyTuple_Pack(3, (PyObject *)span, frame, token);
    Py_DECREF(frame);
    if (!r) {
        core_finish(c, span, token);
        core_error(c, "starting a span");
        Py_RETURN_NONE;
    }
    Py_DECREF(span);
    Py_DECREF(token);
    return r;
}

/* new_span(name, span_type, parent_frame, kind=None) -> (span, frame): not made current. Raises on
 * bad arguments or out of memory (TraceOps isolates it). */
static PyObject *Core_new_span(PyObject *op, PyObject *const *args, Py_ssize_t nargs) {
    CoreObject *c = (CoreObject *)op;
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    PyObject *frame = NULL;
    uint8_t kind = 0;
    if (nargs < 3 || nargs > 4) {
        PyErr_Format(PyExc_TypeError, "new_span expected 3 or 4 arguments, got %zd", nargs);
        return NULL;
    }
    if (nargs == 4 && jf_span_kind_from_object(args[3], &kind) < 0) return NULL;
    if (!core_usable(c)) {
        PyErr_SetString(PyExc_RuntimeError, "TracerCore is not initialised");
        return NULL;
    }
    PyObject *parent = args[2];
    if (parent != Py_None && Py_TYPE(parent) != st->FrameType) {
        PyErr_SetString(PyExc_TypeError, "parent must be a Frame or None");
        return NULL;
    }
    PyObject *name = jf_span_name(args[0]);
    if (!name) return NULL;
    SpanObject *s = core_new_span(c, name, args[1] == Py_None ? NULL : args[1],
                                  parent == Py_None ? NULL : (FrameObject *)parent, &frame);
    Py_DECREF(name);
    if (!s) return NULL;
    s->kind = kind;
    PyObject *r = PyTuple_Pack(2, (PyObject *)s, frame);
    Py_DECREF(s);
    Py_DECREF(frame);
    return r;
}

/* finish(span, token): make what token replaced current again, end span. Never raises. */
static PyObject *Core_finish(PyObject *op, PyObject *const *args, Py_ssize_t nargs) {
    CoreObject *c = (CoreObject *)op;
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    if (nargs != 2 || !jf_span_check(st, args[0])) {
        PyErr_SetString(PyExc_TypeError, "finish(span, token)");
        core_error(c, "ending a span");
        Py_RETURN_NONE;
    }
    if (args[1] != Py_None && c->var) core_leave(c, args[1]);
    jf_span_end((SpanObject *)args[0], 0);
    Py_RETURN_NONE;
}

/* leave(token): restore the context (None: nothing to do). Never raises. */
static PyObject *Core_leave(PyObject *op, PyObject *token) {
    CoreObject *c = (CoreObject *)op;
    if (token != Py_None && c->var) core_leave(c, token);
    Py_RETURN_NONE;
}

/* abort(span, exc, record=True, status=True): see jf_span_abort. Never raises. */
static PyObject *Core_abort(PyObject *op, PyObject *const *args, Py_ssize_t nargs) {
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    if (nargs < 2 || nargs > 4 || !jf_span_check(st, args[0])) {
        PyErr_SetString(PyExc_TypeError, "abort(span, exc, record=True, status=True)");
        core_error((CoreObject *)op, "recording an exception");
        Py_RETURN_NONE;
    }
    int record = nargs > 2 ? PyObject_IsTrue(args[2]) : 1;
    int status = nargs > 3 ? PyObject_IsTrue(args[3]) : 1;
    if (record < 0 || status < 0) {
        core_error((CoreObject *)op, "recording an exception");
        Py_RETURN_NONE;
    }
    jf_span_abort((SpanObject *)args[0], args[1], record, status);
    Py_RETURN_NONE;
}

/* serialized(value): the attribute value of value (see core_serialize). */
static PyObject *Core_serialized(PyObject *op, PyObject *value) {
    CoreObject *c = (CoreObject *)op;
    if (!core_usable(c)) return jf_repr_or_type_name(value);
    return core_serialize(c, value);
}

/* observe(func, name, span_type, names, capture, record_output) -> Observed. */
static PyObject *Core_observe(PyObject *op, PyObject *args, PyObject *kwds);

static PyObject *Core_get_exporter(PyObject *op, void *x) {
    (void)x;
    CoreObject *c = (CoreObject *)op;
    return Py_NewRef(c->exporter ? c->exporter : Py_None);
}

static int Core_set_exporter(PyObject *op, PyObject *v, void *x) {
    (void)x;
    CoreObject *c = (CoreObject *)op;
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    struct jf_exporter *e = NULL;
    if (!v) v = Py_None;
    if (v != Py_None && !(e = jf_exporter_from_object(st, v))) {
        PyErr_SetString(PyExc_TypeError, "exporter must be an Exporter or None");
        return -1;
    }
    c->exporter_c = e;
    set_ref(&c->exporter, v == Py_None ? NULL : Py_NewRef(v));
    return 0;
}

static PyObject *Core_get_store(PyObject *op, void *x) {
    (void)x;
    CoreObject *c = (CoreObject *)op;
    return Py_NewRef(c->store ? c->store : Py_None);
}

static int Core_set_store(PyObject *op, PyObject *v, void *x) {
    (void)x;
    CoreObject *c = (CoreObject *)op;
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    struct jf_store *s = NULL;
    if (!v) v = Py_None;
    if (v != Py_None && !(s = jf_store_from_object(st, v))) {
        PyErr_SetString(PyExc_TypeError, "store must be a Store or None");
        return -1;
    }
    c->store_c = s;
    set_ref(&c->store, v == Py_None ? NULL : Py_NewRef(v));
    return 0;
}

/* An optional callable attribute: None (or del) clears it. */
static int set_callable(PyObject **slot, PyObject *v, const char *what) {
    if (v && v != Py_None && !PyCallable_Check(v)) {
        PyErr_Format(PyExc_TypeError, "%s must be callable or None", what);
        return -1;
    }
    set_ref(&*slot, v && v != Py_None ? Py_NewRef(v) : NULL);
    return 0;
}

static PyObject *Core_get_serializer(PyObject *op, void *x) {
    (void)x;
    CoreObject *c = (CoreObject *)op;
    return Py_NewRef(c->serializer ? c->serializer : Py_None);
}

static int Core_set_serializer(PyObject *op, PyObject *v, void *x) {
    (void)x;
    return set_callable(&((CoreObject *)op)->serializer, v, "serializer");
}

static PyObject *Core_get_on_unresolved(PyObject *op, void *x) {
    (void)x;
    CoreObject *c = (CoreObject *)op;
    return Py_NewRef(c->on_unresolved ? c->on_unresolved : Py_None);
}

static int Core_set_on_unresolved(PyObject *op, PyObject *v, void *x) {
    (void)x;
    return set_callable(&((CoreObject *)op)->on_unresolved, v, "on_unresolved");
}

static PyMethodDef Core_methods[] = {
    {"span", (PyCFunction)(void (*)(void))Core_span, METH_FASTCALL | METH_KEYWORDS,
     "span($self, span_name)\n--\n\nA scope that starts a child of the current span on enter and makes it current."},
    {"set_attribute", (PyCFunction)(void (*)(void))Core_set_attribute, METH_FASTCALL,
     "set_attribute($self, key, value, /)\n--\n\nSet an attribute on the current span (non-scalars serialised)."},
    {"begin", (PyCFunction)(void (*)(void))Core_begin, METH_FASTCALL,
     "begin($self, name, span_type, /)\n--\n\n(span, frame, token) of a new current span, or None."},
    {"new_span", (PyCFunction)(void (*)(void))Core_new_span, METH_FASTCALL,
     "new_span($self, name, span_type, parent, kind=None, /)\n--\n\n(span, frame) of a new span under parent (a Frame or None)."},
    {"finish", (PyCFunction)(void (*)(void))Core_finish, METH_FASTCALL,
     "finish($self, span, token, /)\n--\n\nRestore the context token replaced (None: keep it) and end span."},
    {"leave", Core_leave, METH_O, "leave($self, token, /)\n--\n\nRestore the context token replaced."},
    {"abort", (PyCFunction)(void (*)(void))Core_abort, METH_FASTCALL,
     "abort($self, span, exc, record=True, status=True, /)\n--\n\nRecord what ended span early."},
    {"serialized", Core_serialized, METH_O, "serialized($self, value, /)\n--\n\nvalue as an attribute value."},
    {"observe", (PyCFunction)(void (*)(void))Core_observe, METH_VARARGS | METH_KEYWORDS,
     "observe($self, func, name, span_type, names, capture, record_output, posonly=0)\n--\n\nThe C wrapper of a sync function."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Core_members[] = {
    {"enabled", T_INT, offsetof(CoreObject, enabled), 0, "Spans are recorded."},
    {"shut_down", T_INT, offsetof(CoreObject, shut_down), 0, "Disabled by shutdown(): calls are counted."},
    {"after_shutdown", T_ULONGLONG, offsetof(CoreObject, after_shutdown), 0,
     "Spans asked for after shutdown (not recorded); the Python paths add theirs here too."},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(CoreObject, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef Core_getset[] = {
    {"exporter", Core_get_exporter, Core_set_exporter, "Where new spans go (an Exporter or None).", NULL},
    {"store", Core_get_store, Core_set_store, "Whose entries ended spans remove (a Store or None).", NULL},
    {"serializer", Core_get_serializer, Core_set_serializer, "callable(value) -> str, or None for orjson.", NULL},
    {"on_unresolved", Core_get_on_unresolved, Core_set_on_unresolved,
     "Called at each span start until it returns True (the project id is known).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Core_slots[] = {
    {Py_tp_doc, "TracerCore(var, agent_var, *, dumps, dumps_default, dumps_option, on_error, invalid_span, scope_type)\n--\n\n"
                "The native span steps of one Tracer."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, Core_init},
    {Py_tp_dealloc, Core_dealloc},
    {Py_tp_traverse, Core_traverse},
    {Py_tp_clear, Core_clear},
    {Py_tp_methods, Core_methods},
    {Py_tp_members, Core_members},
    {Py_tp_getset, Core_getset},
    {0, NULL},
};

static PyType_Spec Core_spec = {
    .name = "judgeval_fast._native.TracerCore",
    .basicsize = sizeof(CoreObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = Core_slots,
};

/* ======================================================================== */
/* SpanScope                                                                 */
/* ======================================================================== */

typedef struct {
    PyObject_HEAD
    CoreObject *core;
    PyObject *name;       /* normalised */
    SpanObject *span;     /* between __enter__ and __exit__, or NULL */
    PyObject *token;      /* with span */
    Py_ssize_t nested;    /* __enter__s of this scope while already entered (no span each) */
} ScopeObject;

static PyObject *Core_span(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    CoreObject *c = (CoreObject *)op;
    Py_ssize_t nkw = kwnames ? PyTuple_Size(kwnames) : 0;
    PyObject *name = NULL;
    if (nargs + nkw != 1 || (nkw && PyUnicode_CompareWithASCIIString(PyTuple_GetItem(kwnames, 0), "span_name") != 0)) {
        PyErr_SetString(PyExc_TypeError, "span() takes one argument, span_name");
        core_error(c, "span");
    } else if (!(name = jf_span_name(args[0]))) {
        core_error(c, "span");
    }
    PyTypeObject *tp = c->scope_type ? c->scope_type : jf_state_of_type(Py_TYPE(op))->SpanScopeType;
    ScopeObject *s = (ScopeObject *)PyType_GenericAlloc(tp, 0);
    if (!s) {
        Py_XDECREF(name);
        return NULL;  /* MemoryError: the one thing a caller must see */
    }
    s->core = (CoreObject *)Py_NewRef(op);
    s->name = name;  /* NULL: the scope records nothing */
    return (PyObject *)s;
}

static void Scope_dealloc(PyObject *op) {
    ScopeObject *s = (ScopeObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    if (s->span && s->token) {
        /* Entered and never exited (a generator abandoned inside the block): the span still ends. */
        jf_span_end(s->span, 0);
    }
    Py_CLEAR(s->core);
    Py_CLEAR(s->name);
    Py_CLEAR(s->span);
    Py_CLEAR(s->token);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(op);
    Py_DECREF(tp);
}

static PyObject *Scope_enter(PyObject *op, PyObject *unused) {
    (void)unused;
    ScopeObject *s = (ScopeObject *)op;
    CoreObject *c = s->core;
    if (s->span) {
        /* Re-entered while open: the inner block records nothing (reported), and its
         * __exit__ must not end the outer block's span. */
        s->nested++;
        PyErr_SetString(PyExc_RuntimeError, "a span() scope was entered again before it exited");
        core_error(c, "entering a span");
        return Py_NewRef(c->invalid_span ? c->invalid_span : Py_None);
    }
    if (!s->name || !core_usable(c)) return Py_NewRef(c->invalid_span ? c->invalid_span : Py_None);
    if (core_begin(c, s->name, NULL, &s->span, &s->token, NULL) < 0) return Py_NewRef(c->invalid_span);
    return Py_NewRef((PyObject *)s->span);
}

static PyObject *Scope_exit(PyObject *op, PyObject *const *args, Py_ssize_t nargs) {
    ScopeObject *s = (ScopeObject *)op;
    if (s->nested) {
        s->nested--;
        Py_RETURN_FALSE;
    }
    if (!s->span || !s->token) Py_RETURN_FALSE;
    SpanObject *span = s->span;
    PyObject *token = s->token;
    s->span = NULL;
    s->token = NULL;
    if (nargs == 3 && args[1] != Py_None) jf_span_abort(span, args[1], 1, 1);
    if (PyErr_Occurred()) PyErr_Clear();
    core_finish(s->core, span, token);
    Py_RETURN_FALSE;
}

static PyMethodDef Scope_methods[] = {
    {"__enter__", Scope_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))Scope_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Scope_slots[] = {
    {Py_tp_doc, "What tracer.span(name) returns: `with` starts a child of the current span and makes it current."},
    {Py_tp_dealloc, Scope_dealloc},
    {Py_tp_methods, Scope_methods},
    {0, NULL},
};

/* Not GC-tracked: a scope lives for one `with` block and references its core, a str, a
 * span and a Token; none of them can reach back to it. */
static PyType_Spec Scope_spec = {
    .name = "judgeval_fast._native.SpanScope",
    .basicsize = sizeof(ScopeObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = Scope_slots,
};

/* ======================================================================== */
/* Observed                                                                  */
/* ======================================================================== */

typedef struct {
    PyObject_HEAD
    CoreObject *core;
    PyObject *func;
    PyObject *name;         /* normalised span name */
    PyObject *span_type;    /* str or NULL */
    PyObject *names;        /* tuple: parameter names when the signature is positional-only-ish, or NULL */
    PyObject *capture;      /* callable(args, kwargs) -> dict, or NULL: inputs are not recorded */
    Py_ssize_t posonly;     /* how many of names are positional-only */
    int record_output;
    PyObject *dict;         /* __dict__ (functools.update_wrapper fills it) */
    PyObject *weakreflist;
} ObservedObject;

/* The inputs dict of one call, as Signature.bind_partial(*args, **kwargs).arguments gives
 * it, built here when the signature is plain (names: every parameter positional-or-
 * keyword, the first `posonly` positional-only): the positional arguments by name, then
 * the keyword arguments in parameter order. Any call bind_partial might refuse (too many
 * arguments, an unknown or repeated keyword, a positional-only one by keyword) goes to
 * capture(), which says what it binds or records the raw arguments. */
static PyObject *observed_inputs(ObservedObject *o, PyObject *args, PyObject *kwargs) {
    Py_ssize_t n = PyTuple_Size(args), nkw = kwargs ? PyDict_Size(kwargs) : 0;
    Py_ssize_t count = o->names ? PyTuple_Size(o->names) : 0;
    if (o->names && n <= count) {
        PyObject *d = PyDict_New();
        if (!d) return NULL;
        for (Py_ssize_t i = 0; i < n; i++)
            if (PyDict_SetItem(d, PyTuple_GetItem(o->names, i), PyTuple_GetItem(args, i)) < 0) goto fail;
        Py_ssize_t matched = 0;
        for (Py_ssize_t i = JF_MAX(n, o->posonly); i < count && matched < nkw; i++) {
            PyObject *name = PyTuple_GetItem(o->names, i);
            PyObject *v = PyDict_GetItemWithError(kwargs, name);
            if (!v) {
                if (PyErr_Occurred()) goto fail;
                continue;
            }
            if (PyDict_SetItem(d, name, v) < 0) goto fail;
            matched++;
        }
        if (matched == nkw) return d;
        Py_DECREF(d);  /* a keyword the fast path cannot place: bind_partial decides */
        goto slow;
    fail:
        Py_DECREF(d);
        return NULL;
    }
slow:;
    PyObject *kw = kwargs ? Py_NewRef(kwargs) : PyDict_New();
    PyObject *r = kw ? PyObject_CallFunctionObjArgs(o->capture, args, kw, NULL) : NULL;
    Py_XDECREF(kw);
    return r;
}

static PyObject *Observed_call(PyObject *op, PyObject *args, PyObject *kwargs) {
    ObservedObject *o = (ObservedObject *)op;
    CoreObject *c = o->core;
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    SpanObject *span;
    PyObject *token;
    if (!core_usable(c) || core_begin(c, o->name, o->span_type, &span, &token, NULL) < 0)
        return PyObject_Call(o->func, args, kwargs);
    if (o->capture) {
        PyObject *inputs = observed_inputs(o, args, kwargs);
        if (inputs) {
            core_record(c, span, st->key_input, inputs, "recording inputs");
            Py_DECREF(inputs);
        } else {
            core_error(c, "recording inputs");
        }
    }
    PyObject *result = PyObject_Call(o->func, args, kwargs);
    if (!result) {
        PyObject *t, *v, *tb;
        core_abort_pending(span, &t, &v, &tb);
        core_finish(c, span, token);
        PyErr_Restore(t, v, tb);
        return NULL;
    }
    if (o->record_output) core_record(c, span, st->key_output, result, "recording the output");
    core_finish(c, span, token);
    return result;
}

static PyObject *Core_observe(PyObject *op, PyObject *args, PyObject *kwds) {
    jf_state *st = jf_state_of_type(Py_TYPE(op));
    static char *kwlist[] = {"func", "name", "span_type", "names", "capture", "record_output", "posonly", NULL};
    PyObject *func, *name, *span_type, *names, *capture;
    int record_output;
    Py_ssize_t posonly = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOp|n:observe", kwlist, &func, &name, &span_type, &names,
                                     &capture, &record_output, &posonly))
        return NULL;
    if (!PyCallable_Check(func) || (capture != Py_None && !PyCallable_Check(capture))) {
        PyErr_SetString(PyExc_TypeError, "func and capture must be callable");
        return NULL;
    }
    if (names != Py_None && (!PyTuple_Check(names) || capture == Py_None)) {
        PyErr_SetString(PyExc_TypeError, "names must be a tuple (with a capture) or None");
        return NULL;
    }
    if (posonly < 0 || (names != Py_None && posonly > PyTuple_Size(names))) {
        PyErr_SetString(PyExc_ValueError, "posonly must be in 0..len(names)");
        return NULL;
    }
    if (span_type != Py_None && !PyUnicode_Check(span_type)) {
        PyErr_SetString(PyExc_TypeError, "span_type must be a str or None");
        return NULL;
    }
    PyObject *clean = jf_span_name(name);
    if (!clean) return NULL;
    ObservedObject *o = (ObservedObject *)PyType_GenericAlloc(st->ObservedType, 0);
    if (!o) {
        Py_DECREF(clean);
        return NULL;
    }
    o->core = (CoreObject *)Py_NewRef(op);
    o->func = Py_NewRef(func);
    o->name = clean;
    o->span_type = span_type == Py_None ? NULL : Py_NewRef(span_type);
    o->names = names == Py_None ? NULL : Py_NewRef(names);
    o->capture = capture == Py_None ? NULL : Py_NewRef(capture);
    o->posonly = posonly;
    o->record_output = record_output;
    return (PyObject *)o;
}

static int Observed_traverse(PyObject *op, visitproc visit, void *arg) {
    ObservedObject *o = (ObservedObject *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(o->core);
    Py_VISIT(o->func);
    Py_VISIT(o->capture);
    Py_VISIT(o->dict);
    return 0;
}

static int Observed_clear(PyObject *op) {
    ObservedObject *o = (ObservedObject *)op;
    Py_CLEAR(o->capture);
    Py_CLEAR(o->dict);
    return 0;  /* core and func stay: a call after clear still runs the function */
}

static void Observed_dealloc(PyObject *op) {
    ObservedObject *o = (ObservedObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (o->weakreflist) PyObject_ClearWeakRefs(op);
    Observed_clear(op);
    Py_CLEAR(o->core);
    Py_CLEAR(o->func);
    Py_CLEAR(o->name);
    Py_CLEAR(o->span_type);
    Py_CLEAR(o->names);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(op);
    Py_DECREF(tp);
}

/* A function's binding: observed methods bind to their instance like the function would. */
static PyObject *Observed_descr_get(PyObject *op, PyObject *obj, PyObject *type) {
    (void)type;
    if (!obj || obj == Py_None) return Py_NewRef(op);
    return PyMethod_New(op, obj);
}

/* Pickled by reference, as the function it replaces is (module + qualified name). */
static PyObject *Observed_reduce(PyObject *op, PyObject *unused) {
    (void)unused;
    PyObject *q = PyObject_GetAttrString(op, "__qualname__");
    if (!q) {
        PyErr_Clear();
        return PyObject_GetAttrString(((ObservedObject *)op)->func, "__qualname__");
    }
    return q;
}

static PyObject *Observed_repr(PyObject *op) {
    return PyUnicode_FromFormat("<observed %R>", ((ObservedObject *)op)->func);
}

static PyObject *Observed_get_span_name(PyObject *op, void *x) {
    (void)x;
    return Py_NewRef(((ObservedObject *)op)->name);
}

static PyMethodDef Observed_methods[] = {
    {"__reduce__", Observed_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Observed_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},  /* update_wrapper uses it */
    {"_span_name", Observed_get_span_name, NULL, "The name of the spans it records.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef Observed_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(ObservedObject, dict), READONLY, NULL},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(ObservedObject, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot Observed_slots[] = {
    {Py_tp_doc, "The @observe wrapper of a sync function (C: no Python frame between caller and function)."},
    {Py_tp_call, Observed_call},
    {Py_tp_descr_get, Observed_descr_get},
    {Py_tp_dealloc, Observed_dealloc},
    {Py_tp_traverse, Observed_traverse},
    {Py_tp_clear, Observed_clear},
    {Py_tp_repr, Observed_repr},
    {Py_tp_methods, Observed_methods},
    {Py_tp_getset, Observed_getset},
    {Py_tp_members, Observed_members},
    {0, NULL},
};

static PyType_Spec Observed_spec = {
    .name = "judgeval_fast._native.Observed",
    .basicsize = sizeof(ObservedObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = Observed_slots,
};

/* ======================================================================== */
/* GuardBase                                                                 */
/* ======================================================================== */

typedef struct {
    PyObject_HEAD
    PyObject *func;   /* the class's function */
    PyObject *name;   /* the attribute name (the key of the per-instance cache) */
    PyObject *cache;  /* "_jf_guarded", interned on first use: Python subclasses have no module state */
} GuardObject;

/* obj.__dict__["_jf_guarded"][name] when cached, else self._bind(obj, type). */
static PyObject *Guard_descr_get(PyObject *op, PyObject *obj, PyObject *type) {
    GuardObject *g = (GuardObject *)op;
    if (!obj || obj == Py_None) return Py_NewRef(g->func ? g->func : Py_None);
    if (!g->cache && !(g->cache = PyUnicode_InternFromString("_jf_guarded"))) PyErr_Clear();
    if (g->name && g->cache) {
        PyObject *d = PyObject_GenericGetDict(obj, NULL);
        if (!d) {
            PyErr_Clear();
        } else {
            PyObject *bound = PyDict_GetItemWithError(d, g->cache), *fn = NULL;
            if (bound && PyDict_Check(bound)) fn = PyDict_GetItemWithError(bound, g->name);
            Py_XINCREF(fn);
            Py_DECREF(d);
            if (fn) return fn;
            PyErr_Clear();
        }
    }
    return PyObject_CallMethod(op, "_bind", "OO", obj, type ? type : Py_None);
}

static void Guard_dealloc(PyObject *op) {
    GuardObject *g = (GuardObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    Py_CLEAR(g->func);
    Py_CLEAR(g->name);
    Py_CLEAR(g->cache);
    ((freefunc)PyType_GetSlot(tp, Py_tp_free))(op);
    Py_DECREF(tp);
}

static int Guard_traverse(PyObject *op, visitproc visit, void *arg) {
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(((GuardObject *)op)->func);
    return 0;
}

static int Guard_clear(PyObject *op) {
    Py_CLEAR(((GuardObject *)op)->func);
    return 0;
}

static PyMemberDef Guard_members[] = {
    {"func", T_OBJECT, offsetof(GuardObject, func), 0, "The class's function."},
    {"name", T_OBJECT, offsetof(GuardObject, name), 0, "The attribute name."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot Guard_slots[] = {
    {Py_tp_doc, "Base of judgeval_fast.guard.guarded: __get__ from the per-instance cache, in C."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_descr_get, Guard_descr_get},
    {Py_tp_dealloc, Guard_dealloc},
    {Py_tp_traverse, Guard_traverse},
    {Py_tp_clear, Guard_clear},
    {Py_tp_members, Guard_members},
    {0, NULL},
};

static PyType_Spec Guard_spec = {
    .name = "judgeval_fast._native.GuardBase",
    .basicsize = sizeof(GuardObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = Guard_slots,
};

/* ======================================================================== */

static int add_type(PyObject *module, PyType_Spec *spec, PyTypeObject **slot) {
    PyObject *tp = PyType_FromModuleAndSpec(module, spec, NULL);
    if (!tp) return -1;
    *slot = (PyTypeObject *)tp;
    return PyModule_AddType(module, *slot);
}

int jf_tracing_add_types(PyObject *module) {
    jf_state *st = PyModule_GetState(module);
    static const struct {
        size_t offset;
        const char *text;
    } keys[] = {
        {offsetof(jf_state, key_input), "judgment.input"},
        {offsetof(jf_state, key_output), "judgment.output"},
        {offsetof(jf_state, key_span_kind), "judgment.span_kind"},
        {offsetof(jf_state, key_agent_id), "judgment.agent_id"},
        {offsetof(jf_state, key_parent_agent_id), "judgment.parent_agent_id"},
        {offsetof(jf_state, key_agent_class_name), "judgment.agent_class_name"},
        {offsetof(jf_state, key_agent_instance_name), "judgment.agent_instance_name"},
        {offsetof(jf_state, key_is_agent_entry_point), "judgment.is_agent_entry_point"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        PyObject **slot = (PyObject **)((char *)st + keys[i].offset);
        if (!(*slot = PyUnicode_InternFromString(keys[i].text))) return -1;
    }
    if (add_type(module, &Frame_spec, &st->FrameType) < 0 || add_type(module, &Core_spec, &st->TracerCoreType) < 0 ||
        add_type(module, &Scope_spec, &st->SpanScopeType) < 0 || add_type(module, &Observed_spec, &st->ObservedType) < 0 ||
        add_type(module, &Guard_spec, &st->GuardBaseType) < 0)
        return -1;
    return 0;
}
