/// Wrong PINs per (room, source address): a few tries, then a delay that doubles with every further
/// wrong PIN, up to a ceiling; the right PIN clears the record. Scoped to the room, so a school behind
/// one NAT address is not locked out of every room (rooms without a PIN least of all) by a few pupils
/// guessing one (issue 12), while guessing one room's PIN stays slow: after 5 free tries, 2, 4, 8, …
/// seconds up to 5 minutes between guesses. Sans-I/O, times in ticks (50 per second); memory bounded
/// (beyond `maxRecords` the stale records go, then the oldest of those not blocked).
public struct PINGuard: Sendable {
    public struct Limits: Sendable {
        public var freeTries = 5
        public var maxDelayTicks: UInt64 = 5 * 60 * 50
        /// A record nobody touched for this long is forgotten.
        public var forgetTicks: UInt64 = 30 * 60 * 50
        public var maxRecords = 10_000
        public init() {}
    }

    private struct Key: Hashable, Sendable {
        var room: String
        var source: String
    }

    private struct Record: Sendable {
        var wrong = 0
        var blockedUntil: UInt64 = 0
        var lastSeen: UInt64 = 0
    }

    public let limits: Limits
    private var records: [Key: Record] = [:]

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Ticks until `source` may try a PIN for `room` again; nil: it may now.
    public func retryAfter(room: String, source: String, now: UInt64) -> UInt64? {
        guard let record = records[Key(room: room, source: source)], now < record.blockedUntil else { return nil }
        return record.blockedUntil - now
    }

    /// A wrong PIN; returns the delay (ticks) before the next try is heard, nil while tries are free.
    @discardableResult
    public mutating func wrong(room: String, source: String, now: UInt64) -> UInt64? {
        let key = Key(room: room, source: source)
        var record = records[key] ?? Record()
        record.wrong += 1
        record.lastSeen = now
        var delay: UInt64?
        if record.wrong > limits.freeTries {
            let exponent = min(record.wrong - limits.freeTries, 20)
            delay = min(limits.maxDelayTicks, (UInt64(1) << UInt64(exponent)) * 50)
            record.blockedUntil = now + (delay ?? 0)
        }
        records[key] = record
        records.bound(
            to: limits.maxRecords, isStale: { now - $0.lastSeen >= limits.forgetTicks }, isBanned: { now < $0.blockedUntil },
            age: { $0.lastSeen })
        return delay
    }

    /// The right PIN: the record goes.
    public mutating func succeeded(room: String, source: String) {
        records[Key(room: room, source: source)] = nil
    }

    public var count: Int { records.count }
}
