/* tracing.h - the tracer's hot path: what one @observe call, one span() scope and one
 * tracer.set_attribute cost, with no Python frame of ours in between.
 *
 * Types
 *   Frame        one "current span" entry of a tracer's ContextVar: the span and the
 *                attributes its children inherit (customer/session ids, project override).
 *   TracerCore   one per Tracer: the ContextVars, where spans go (Exporter, Store), the
 *                serializer, and the Python callbacks for the rare paths (an isolated SDK
 *                error, the project id not resolved yet). The Python Tracer keeps it in
 *                step (shutdown, re-routing, a new serializer).
 *   Observed     the @observe wrapper of a *sync* function: a C callable, so the caller's
 *                frame calls the user's function directly from C. Async functions and
 *                generators keep their Python wrappers (they need a Python frame to await
 *                or yield) and use TracerCore's methods for every span step.
 *   SpanScope    what tracer.span(name) returns; its __enter__/__exit__ are C.
 *   GuardBase    the C half of judgeval_fast.guard.guarded: __get__ answers from the
 *                instance's cache with two dict lookups and no Python frame.
 *
 * Contract: nothing here raises into the caller on the SDK's account. The user's function
 *   runs exactly once with the caller's arguments, its result or exception is passed
 *   through untouched; every SDK step that fails is reported to TracerCore.on_error
 *   (counted and rate-limit logged by the Python side) and skipped.
 *
 * Invariants
 *   1. Frame.span is a Span; Frame.inherited is NULL or a dict of str -> str that is never
 *      mutated once set (inherit() replaces it), so running children keep their copy and
 *      a Frame can be in no reference cycle (it is not GC-tracked).
 *   2. TracerCore.exporter_c/store_c are the native halves of exporter/store, valid while
 *      those references are held.
 *   3. A span started by Observed or SpanScope is ended exactly once, on every path, and
 *      the ContextVar is reset with the token its start produced.
 *
 * Threads & locks: none. Every function needs the GIL (the span path's state is GIL-guarded).
 * Bounds: per call, O(size of the recorded input and output), each cut to
 *   max_attribute_bytes by the span's normalisation.
 */
#ifndef JF_TRACING_H
#define JF_TRACING_H

#include "common.h"
#include "module.h"
#include "span.h"

/* Registers Frame, TracerCore, Observed, SpanScope and GuardBase. Returns 0 or -1 with an
 * exception set. */
int jf_tracing_add_types(PyObject *module);

#endif /* JF_TRACING_H */
