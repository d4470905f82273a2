#ifndef PLENUM_ALLOCATION_COUNTER_H
#define PLENUM_ALLOCATION_COUNTER_H
// Counts the heap allocations of the calling thread (plenum-bench only; see allocation_counter.c).
unsigned long plenum_thread_allocations(void);
// Writes the call stack of each allocation of the calling thread to stderr while on.
void plenum_trace_allocations(int on);
#endif
