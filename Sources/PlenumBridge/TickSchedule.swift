/// The mixer's clock: tick k is due at `start + k × interval`, computed from the start rather than
/// accumulated, so oversleeping one tick never shifts the next (no drift, however long the run).
/// Sans-I/O: the caller supplies the time (monotonic nanoseconds); tests use virtual time.
public struct TickSchedule: Sendable {
    public let start: UInt64
    public let interval: UInt64
    /// Index of the next tick to run.
    public private(set) var nextIndex: UInt64 = 0
    /// Ticks skipped because the loop fell more than `maxCatchUp` intervals behind (overload).
    public private(set) var skippedTicks: UInt64 = 0
    public let maxCatchUp: UInt64

    public init(start: UInt64, interval: UInt64 = 20_000_000, maxCatchUp: UInt64 = 5) {
        self.start = start
        self.interval = interval
        self.maxCatchUp = maxCatchUp
    }

    public var nextDeadline: UInt64 { start + nextIndex * interval }

    /// How many ticks to run now (0 if the next one is not due). Falling far behind skips ticks rather
    /// than bursting them: members would only get a flood of late packets.
    public mutating func due(now: UInt64) -> UInt64 {
        guard now >= nextDeadline else { return 0 }
        var count = (now - nextDeadline) / interval + 1
        if count > maxCatchUp {
            skippedTicks += count - 1
            nextIndex += count - 1
            count = 1
        }
        nextIndex += count
        return count
    }
}
