import Testing

@testable import PlenumSIP

/// Issue 13: both address guards stay bounded under a scan from 100,000 addresses, and what matters
/// survives it: a banned or blocked source stays so.
@Suite struct GuardBoundsTests {
    @Test func theSourceGuardForgetsTheOldestUnbannedFirst() {
        var guardian = SourceGuard()
        for _ in 0...guardian.limits.callsPerWindow { _ = guardian.admit("203.0.113.9", now: 0) }
        #expect(guardian.admit("203.0.113.9", now: 1) == .banned)
        var largest = 0
        for i in 0..<100_000 {
            _ = guardian.admit("10.\(i >> 16).\((i >> 8) & 255).\(i & 255)", now: 2 + UInt64(i / 1000))
            largest = max(largest, guardian.count)
        }
        #expect(largest <= guardian.limits.maxRecords)
        #expect(guardian.admit("203.0.113.9", now: 200) == .banned, "the scan did not wash the ban out")
    }

    @Test func thePINGuardKeepsBlockedSourcesThroughAScan() {
        var pins = PINGuard()
        for _ in 0..<8 { pins.wrong(room: "3002", source: "203.0.113.9", now: 0) }
        #expect(pins.retryAfter(room: "3002", source: "203.0.113.9", now: 1) != nil)
        var largest = 0
        for i in 0..<100_000 {
            pins.wrong(room: "3002", source: "10.\(i >> 16).\((i >> 8) & 255).\(i & 255)", now: 1 + UInt64(i / 1000))
            largest = max(largest, pins.count)
        }
        #expect(largest <= pins.limits.maxRecords)
        #expect(pins.retryAfter(room: "3002", source: "203.0.113.9", now: 101) != nil, "still blocked after the scan")
    }
}
