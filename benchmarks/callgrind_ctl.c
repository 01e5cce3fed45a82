/* Callgrind client requests for benchmarks/callgrind_workload.py, through ctypes.
 *
 * CPython has no way to issue a valgrind client request (they are magic instruction
 * sequences, not calls), so benchmarks/callgrind_ratio.py compiles this file into a
 * throwaway shared object with the system C compiler and the header the valgrind
 * package installs. Not part of the extension: nothing in csrc/ or the wheel uses it.
 * Outside valgrind every request is a no-op costing a few instructions.
 */
#include <valgrind/callgrind.h>

/* Instrumentation on (the run starts with --instr-atstart=no: imports and tracer set-up
 * run uninstrumented, several times faster, and are not counted at all). */
void jf_cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }

/* Zero every counter: the next dump holds only what ran after this. */
void jf_cg_zero(void) { CALLGRIND_ZERO_STATS; }

/* Write the counters since the last zero/dump as one part, named by its trigger. */
void jf_cg_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }

/* Non-zero under valgrind: lets the workload refuse to pretend it measured. */
int jf_cg_running(void) { return (int)RUNNING_ON_VALGRIND; }
