#include "CPlenumShims.h"
#include <malloc.h>

size_t plenum_heap_bytes_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

// ---- The media loop's readiness (epoll, timerfd, eventfd) ---------------------------------------
// In C because `struct epoll_event` is packed on x86-64, which Swift does not import faithfully.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <errno.h>

int plenum_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int plenum_epoll_add(int epfd, int fd) {
    struct epoll_event event = {.events = EPOLLIN, .data = {.fd = fd}};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int plenum_epoll_remove(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

int plenum_epoll_wait(int epfd, int *fds, int max, int timeout_ms) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int n;
    do {
        n = epoll_wait(epfd, events, max, timeout_ms);
    } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) fds[i] = events[i].data.fd;
    return n;
}

int plenum_timerfd_create(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }

int plenum_timerfd_set_absolute(int fd, uint64_t deadline_ns) {
    struct itimerspec spec = {
        .it_interval = {0, 0},
        .it_value = {.tv_sec = (time_t)(deadline_ns / 1000000000u), .tv_nsec = (long)(deadline_ns % 1000000000u)},
    };
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL);
}

int plenum_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

void plenum_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t written = write(fd, &one, sizeof one);
    (void)written;  // EAGAIN: the counter is already set, the loop wakes anyway
}

void plenum_fd_drain_counter(int fd) {
    uint64_t value;
    ssize_t got = read(fd, &value, sizeof value);
    (void)got;
}
