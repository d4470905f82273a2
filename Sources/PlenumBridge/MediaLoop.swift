import CPlenumShims
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A thread that owns conferences and ticks them every 20 ms against a `TickSchedule`.
/// Other threads (SIP, HTTP) never touch a conference: they enqueue a command, which runs on the loop
/// between ticks. A conference lives on exactly one loop, so its tick needs no lock.
///
/// The loop waits on readiness (issue 13): one epoll set holds a timerfd armed for the next tick's
/// absolute deadline (so the tick stays drift-free), an eventfd that `execute` signals (a command runs
/// at once, not at the next tick: an API call or a store write's reply no longer waits up to 20 ms),
/// and the sockets that asked to be read when a packet arrives (`MediaLoopContext.watch`), so that
/// what must be forwarded at once (video) can be. Audio still waits in jitter buffers for the tick.
public final class MediaLoop: Sendable {
    public typealias Command = @Sendable (MediaLoopContext) -> Void

    private let pending = Mutex<[Command]>([])
    private let running = Atomic<Bool>(false)
    private let statistics = Mutex<Statistics>(Statistics())
    public let name: String

    public struct Statistics: Sendable {
        public var ticks: UInt64 = 0
        public var skippedTicks: UInt64 = 0
        /// Busy time of the last second of ticks, in nanoseconds (load = busy / 1 s).
        public var busyNanosecondsLastSecond: UInt64 = 0
    }

    /// Wakes the loop for queued commands; set while a wake is pending (one write per batch).
    private let wakeDescriptor: Int32
    private let wakeRequested = Atomic<Bool>(false)

    public init(name: String) {
        self.name = name
        wakeDescriptor = plenum_eventfd_create()
    }

    deinit { if wakeDescriptor >= 0 { close(wakeDescriptor) } }

    public var currentStatistics: Statistics { statistics.withLock { $0 } }

    /// Runs `command` on the loop before its next tick.
    public func execute(_ command: @escaping Command) {
        pending.withLock { $0.append(command) }
        if wakeDescriptor >= 0, !wakeRequested.exchange(true, ordering: .acquiringAndReleasing) {
            plenum_eventfd_signal(wakeDescriptor)
        }
    }

    public func start() {
        guard !running.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in self.run() }
        thread.name = name
        thread.qualityOfService = .userInteractive
        thread.start()
    }

    public func stop() { running.store(false, ordering: .releasing) }

    private func run() {
        let context = MediaLoopContext()
        let poller = plenum_epoll_create()
        let timer = plenum_timerfd_create()
        defer {
            if timer >= 0 { close(timer) }
            if poller >= 0 { close(poller) }
        }
        let ready = poller >= 0 && timer >= 0 && wakeDescriptor >= 0
            && plenum_epoll_add(poller, timer) == 0 && plenum_epoll_add(poller, wakeDescriptor) == 0
        if ready { context.poller = poller }
        var schedule = TickSchedule(start: Self.monotonicNanoseconds())
        var busy: UInt64 = 0
        var ticksInSecond: UInt64 = 0
        var commands: [Command] = []
        commands.reserveCapacity(64)
        var readable = [Int32](repeating: -1, count: 64)
        if ready { _ = plenum_timerfd_set_absolute(timer, schedule.nextDeadline) }
        while running.load(ordering: .acquiring) {
            if ready {
                // At most 200 ms, so that a stop is noticed even if nothing else happens.
                let count = readable.withUnsafeMutableBufferPointer { plenum_epoll_wait(poller, $0.baseAddress, 64, 200) }
                for index in 0..<Int(max(0, count)) {
                    let fd = readable[index]
                    if fd == timer {
                        plenum_fd_drain_counter(timer)
                    } else if fd == wakeDescriptor {
                        plenum_fd_drain_counter(wakeDescriptor)
                        wakeRequested.store(false, ordering: .releasing)
                    } else {
                        context.readable(fd)
                    }
                }
            } else {
                Self.sleep(until: schedule.nextDeadline)  // no epoll (never on Linux in practice): tick by sleeping
            }
            let begin = Self.monotonicNanoseconds()
            commands = pending.withLock { queued in
                swap(&queued, &commands)
                return commands
            }
            for command in commands { command(context) }
            commands.removeAll(keepingCapacity: true)
            let count = schedule.due(now: begin)
            for _ in 0..<count { context.tick() }
            if count > 0, ready { _ = plenum_timerfd_set_absolute(timer, schedule.nextDeadline) }
            busy += Self.monotonicNanoseconds() - begin
            ticksInSecond += count
            if ticksInSecond >= 50 {
                let (ticks, skipped, used) = (schedule.nextIndex, schedule.skippedTicks, busy)
                statistics.withLock {
                    $0.ticks = ticks
                    $0.skippedTicks = skipped
                    $0.busyNanosecondsLastSecond = used
                }
                busy = 0
                ticksInSecond = 0
            }
        }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func sleep(until deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }
}

/// Work that runs on a media loop around each tick: reading the legs' sockets before the conferences
/// mix (so every packet that has arrived is in its jitter buffer), call logic after.
public protocol MediaLoopHook: AnyObject {
    func beforeTick()
    func afterTick()
}

/// What a command sees on its media loop: the conferences and hooks the loop owns.
public final class MediaLoopContext {
    public var conferences: [String: Conference] = [:]
    public private(set) var hooks: [MediaLoopHook] = []

    public init() {}

    /// The loop's epoll set (-1: the loop ticks by sleeping and reads sockets at the tick only).
    var poller: Int32 = -1
    private var readers: [Int32: () -> Void] = [:]

    /// Calls `onReadable` on the loop as soon as `fd` has something to read (level-triggered: it must
    /// read until the socket is empty). False when the loop cannot watch; the owner then reads at the
    /// tick. `unwatch` before closing the descriptor.
    @discardableResult
    public func watch(_ fd: Int32, onReadable: @escaping () -> Void) -> Bool {
        guard poller >= 0, readers[fd] == nil, plenum_epoll_add(poller, fd) == 0 else { return false }
        readers[fd] = onReadable
        return true
    }

    public func unwatch(_ fd: Int32) {
        guard readers.removeValue(forKey: fd) != nil else { return }
        _ = plenum_epoll_remove(poller, fd)
    }

    func readable(_ fd: Int32) { readers[fd]?() }

    public func add(_ hook: MediaLoopHook) { hooks.append(hook) }
    public func remove(_ hook: MediaLoopHook) { hooks.removeAll { $0 === hook } }
    public func hook<T: MediaLoopHook>(_ type: T.Type) -> T? { hooks.lazy.compactMap { $0 as? T }.first }

    /// One tick: hooks before, every conference, hooks after.
    public func tick() {
        for hook in hooks { hook.beforeTick() }
        for conference in conferences.values { conference.tick() }
        for hook in hooks { hook.afterTick() }
    }
}
