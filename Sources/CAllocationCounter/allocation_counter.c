// Counts heap allocations per thread, for plenum-bench's allocation check (scripts/check-allocations.sh).
//
// Linked into plenum-bench only. The executable defines malloc and its relatives, so the dynamic
// linker binds every caller (the Swift runtime, Foundation, libopus) to these, which count on the
// calling thread and forward to glibc's own allocator (the documented `__libc_*` entry points; see
// glibc's "Replacing malloc"). Per thread, because the media loop must not allocate while other
// threads (the browsers' outbox, which encodes JSON) may; valgrind counts the whole process and saw
// whatever those threads happened to do before exit.
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <execinfo.h>
#include <unistd.h>
#include "CAllocationCounter.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static __thread unsigned long allocations;
static __thread int tracing, inTrace;

unsigned long plenum_thread_allocations(void) { return allocations; }
void plenum_trace_allocations(int on) { tracing = on; }

// With tracing on, each allocation of this thread writes its call stack to stderr (to find one).
static void counted(void) {
    allocations++;
    if (!tracing || inTrace) return;
    inTrace = 1;
    void *frames[32];
    int n = backtrace(frames, 32);
    static const char line[] = "--- allocation on the mixing thread:\n";
    (void)!write(2, line, sizeof line - 1);
    backtrace_symbols_fd(frames, n, 2);
    inTrace = 0;
}

void *malloc(size_t size) {
    counted();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    counted();
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    counted();
    return __libc_realloc(pointer, size);
}

void free(void *pointer) { __libc_free(pointer); }

void *memalign(size_t alignment, size_t size) {
    counted();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    counted();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    counted();
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL && size != 0) return ENOMEM;
    *result = pointer;
    return 0;
}
