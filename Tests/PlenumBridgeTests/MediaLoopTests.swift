import Foundation
import PlenumAudio
import Synchronization
import Testing

@testable import PlenumBridge

final class CountingSink: MemberOutput, @unchecked Sendable {
    let frames = Mutex(0)
    func deliver(_ frame: EncodedFrame) { frames.withLock { $0 += 1 } }
}

@Suite struct MediaLoopTests {
    /// The loop owns its conferences: commands from another thread create and feed one, and its
    /// thread ticks it. (Tick timing is the benchmark's business; here: it runs and stops.)
    @Test func commandsRunOnTheLoopAndConferencesTick() async throws {
        let loop = MediaLoop(name: "test-media")
        let sink = CountingSink()
        loop.execute { context in
            var profile = ConferenceProfile()
            profile.announceAlone = false
            let conference = Conference(name: "1234", profile: profile)
            _ = try? conference.join(name: "a", input: .pcmu, sink: sink)
            context.conferences["1234"] = conference
        }
        loop.start()
        var delivered = 0
        for _ in 0..<100 where delivered < 10 {
            try await Task.sleep(for: .milliseconds(20))
            delivered = sink.frames.withLock { $0 }
        }
        loop.stop()
        #expect(delivered >= 10, "the conference ticked on the loop's thread")
    }
}
