/// Per-source protection for the SIP endpoint, in ticks of the media loop (50 per second): a rate
/// limit on new calls and an expiring ban list for sources that exceed it. (Wrong PINs are counted per
/// room and source by `PINGuard`.)
/// Sans-I/O: the caller passes the time.
public struct SourceGuard: Sendable {
    public struct Limits: Sendable {
        /// New calls from one source per window before it is banned.
        public var callsPerWindow = 20
        public var windowTicks: UInt64 = 10 * 50
        public var banTicks: UInt64 = 30 * 60 * 50
        /// Sources remembered at most (the oldest unbanned are forgotten first).
        public var maxRecords = 10_000
        public init() {}
    }

    public enum Verdict: Equatable, Sendable { case allow, banned, rateLimited }

    private struct Record {
        var windowStart: UInt64 = 0
        var calls = 0
        var bannedUntil: UInt64 = 0
    }

    public let limits: Limits
    private var records: [String: Record] = [:]

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// A new call from `source` at `now`.
    public mutating func admit(_ source: String, now: UInt64) -> Verdict {
        var record = records[source] ?? Record()
        defer {
            records[source] = record
            let limits = self.limits
            records.bound(
                to: limits.maxRecords, isStale: { now >= $0.bannedUntil && now - $0.windowStart >= limits.windowTicks },
                isBanned: { now < $0.bannedUntil }, age: { $0.windowStart })
        }
        if now < record.bannedUntil { return .banned }
        if now - record.windowStart >= limits.windowTicks {
            record.windowStart = now
            record.calls = 0
        }
        record.calls += 1
        if record.calls > limits.callsPerWindow {
            record.bannedUntil = now + limits.banTicks
            return .rateLimited
        }
        return .allow
    }


    /// Forgets sources whose records have expired (call now and then; memory is bounded anyway).
    public mutating func prune(now: UInt64) {
        records = records.filter { _, r in
            now < r.bannedUntil || now - r.windowStart < limits.windowTicks
        }
    }

    public var count: Int { records.count }

    /// User agents of SIP scanners (sipvicious and its relatives): refused before anything else.
    public static func isScanner(userAgent: String) -> Bool {
        let ua = userAgent.lowercased()
        return ["friendly-scanner", "sipvicious", "sipcli", "sip-scan", "sipsak", "iWar".lowercased(), "sundayddr", "pplsip", "vaxsipuseragent", "sipptk", "smap"]
            .contains { ua.contains($0) }
    }
}
