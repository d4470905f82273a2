import PlenumBridge
import Testing

@Suite struct TickScheduleTests {
    @Test func tenThousandTicksOfVirtualTimeShowNoDrift() {
        var schedule = TickSchedule(start: 1_000_000)
        var now: UInt64 = 1_000_000
        var ran: UInt64 = 0
        var rng = SplitMix(seed: 1)
        while ran < 10_000 {
            // Wake up late by 0-3 ms (scheduler jitter), as a real loop does.
            now = max(now, schedule.nextDeadline) + rng.next() % 3_000_000
            ran += schedule.due(now: now)
        }
        // After 10,000 ticks the next deadline is exactly 200 s after the start: oversleeping never accumulated.
        #expect(schedule.nextDeadline == 1_000_000 + 10_000 * 20_000_000)
        #expect(schedule.skippedTicks == 0)
    }

    @Test func fallingFarBehindSkipsInsteadOfBursting() {
        var schedule = TickSchedule(start: 0)
        #expect(schedule.due(now: 0) == 1)
        #expect(schedule.due(now: 10_000_000) == 0)
        #expect(schedule.due(now: 45_000_000) == 2)  // ticks 1 and 2 are due
        #expect(schedule.due(now: 1_000_000_000) == 1)  // a 1 s stall: one tick, the rest skipped
        #expect(schedule.skippedTicks == 47)
        #expect(schedule.nextDeadline == 1_020_000_000)
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
