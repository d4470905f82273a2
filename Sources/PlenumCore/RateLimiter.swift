/// A token bucket per key: `burst` at once, then `perSecond`. The one rate limiter of the Swift side
/// (chat messages per member, new calls for the whole server); time is passed in, so it runs on
/// virtual time in tests. The SIP agent's out-of-dialog guard is its C counterpart (agent.c), and
/// wrong PINs have a backoff of their own (`PINGuard`).
public struct RateLimiter<Key: Hashable & Sendable>: Sendable {
    public let burst: Double
    public let perSecond: Double
    private var buckets: [Key: (level: Double, at: Double)] = [:]

    public init(burst: Double, perSecond: Double) {
        self.burst = burst
        self.perSecond = perSecond
    }

    /// Takes one token for `key` at `now` (seconds), if there is one.
    public mutating func allow(_ key: Key, now: Double) -> Bool {
        let previous = buckets[key] ?? (burst, now)
        let level = min(burst, previous.level + max(0, now - previous.at) * perSecond)
        guard level >= 1 else {
            buckets[key] = (level, now)
            return false
        }
        buckets[key] = (level - 1, now)
        return true
    }

    public mutating func forget(_ key: Key) { buckets[key] = nil }
}
