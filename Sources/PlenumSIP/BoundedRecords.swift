extension Dictionary {
    /// Keeps an address guard's memory bounded (issue 13: a scan from 100,000 addresses must leave it
    /// flat). Beyond `limit` records: the stale ones go, then the oldest that are not banned, down to
    /// three quarters of the limit (so a flood pays the sort once per quarter of the table, not per
    /// request); banned ones go last, oldest first, only if nothing else is left to free.
    mutating func bound(to limit: Int, isStale: (Value) -> Bool, isBanned: (Value) -> Bool, age: (Value) -> UInt64) {
        guard count > limit else { return }
        self = filter { !isStale($0.value) }
        guard count > limit else { return }
        let target = limit * 3 / 4
        let byAge = sorted { (isBanned($0.value) ? 1 : 0, age($0.value)) < (isBanned($1.value) ? 1 : 0, age($1.value)) }
        for (key, _) in byAge.prefix(count - target) { self[key] = nil }
    }
}
