import PlenumBridge
import Testing

@Suite struct RateLimiterTests {
    @Test func theRateLimiterAllowsABurstThenOnePerSecond() {
        var limiter = RateLimiter<Int>(burst: 5, perSecond: 1)
        var results: [Bool] = []
        for _ in 0..<8 { results.append(limiter.allow(1, now: 0)) }
        #expect(results == [true, true, true, true, true, false, false, false])
        let other = limiter.allow(2, now: 0)
        #expect(other, "per sender")
        let early = limiter.allow(1, now: 0.5)
        let later = limiter.allow(1, now: 1.6)
        #expect(!early && later)
    }

    @Test func aClockThatGoesBackGivesNoTokens() {
        var limiter = RateLimiter<String>(burst: 1, perSecond: 1)
        let first = limiter.allow("server", now: 10)
        let back = limiter.allow("server", now: 5)
        let later = limiter.allow("server", now: 11)
        #expect(first && !back && later, "time going back refills nothing")
    }
}
