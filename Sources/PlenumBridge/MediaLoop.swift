import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A thread that owns conferences and ticks them every 20 ms against a `TickSchedule`.
/// Other threads (SIP, HTTP) never touch a conference: they enqueue a command, which runs on the loop
/// between ticks. A conference lives on exactly one loop, so its tick needs no lock.
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

    public init(name: String) { self.name = name }

    public var currentStatistics: Statistics { statistics.withLock { $0 } }

    /// Runs `command` on the loop before its next tick.
    public func execute(_ command: @escaping Command) {
        pending.withLock { $0.append(command) }
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
        var schedule = TickSchedule(start: Self.monotonicNanoseconds())
        var busy: UInt64 = 0
        var ticksInSecond: UInt64 = 0
        var commands: [Command] = []
        commands.reserveCapacity(64)
        while running.load(ordering: .acquiring) {
            Self.sleep(until: schedule.nextDeadline)
            let begin = Self.monotonicNanoseconds()
            commands = pending.withLock { queued in
                swap(&queued, &commands)
                return commands
            }
            for command in commands { command(context) }
            commands.removeAll(keepingCapacity: true)
            let count = schedule.due(now: begin)
            for _ in 0..<count { context.tick() }
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
