import Testing

@testable import PlenumServer

/// The video publication's rate cap (a byte bucket one second deep on the loop's millisecond clock).
struct RateCapTests {
    @Test func aKeyFramePassesWholeAndAFloodIsHeldToTheCap() {
        var cap = RateCap(bytesPerSecond: 250_000)
        // A 200 KB key frame at once: within the second's depth.
        var admitted = 0
        for _ in 0..<170 where cap.admit(1200, now: 1_000) { admitted += 1200 }
        #expect(admitted == 170 * 1200)
        // Then 5 Mbit/s (625 KB/s) for 4 s in 20 ms ticks: about the cap gets through, the rest is dropped.
        admitted = 0
        var dropped = 0
        for tick in 1...200 {
            for _ in 0..<10 {
                if cap.admit(1250, now: 1_000 + UInt64(tick) * 20) { admitted += 1250 } else { dropped += 1 }
            }
        }
        #expect(admitted <= 4 * 250_000 + 50_000)
        #expect(admitted >= 4 * 250_000 - 100_000)
        #expect(dropped > 0)
    }

    @Test func anIdlePublisherRefillsToOneSecondOnly() {
        var cap = RateCap(bytesPerSecond: 100_000)
        let answers = [
            cap.admit(100_000, now: 0), cap.admit(1, now: 0),
            // An hour idle buys one second, not an hour of burst; the clock going back changes nothing.
            cap.admit(100_000, now: 3_600_000), cap.admit(1_000, now: 3_599_000), cap.admit(1_000, now: 3_600_010),
        ]
        #expect(answers == [true, false, true, false, true])
    }
}
