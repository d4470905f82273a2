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
    /// Issue 13: the loop waits on readiness. A watched descriptor's reader runs on the loop when
    /// something arrives (here a pipe), a command runs when it is queued, and the tick goes on beside.
    @Test func aWatchedDescriptorIsReadWhenSomethingArrivesAndTicksGoOn() async throws {
        let loop = MediaLoop(name: "readiness")
        loop.start()
        defer { loop.stop() }
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        let (reader, writer) = (ends[0], ends[1])
        _ = fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) | O_NONBLOCK)
        defer {
            close(reader)
            close(writer)
        }
        let seen = Mutex<[UInt8]>([])
        let watching = await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            loop.execute { context in
                done.resume(returning: context.watch(reader) {
                    var byte: UInt8 = 0
                    while read(reader, &byte, 1) == 1 { seen.withLock { $0.append(byte) } }
                })
            }
        }
        #expect(watching, "the loop watches descriptors")
        for value: UInt8 in [1, 2, 3] {
            var byte = value
            _ = write(writer, &byte, 1)
            let deadline = Date().addingTimeInterval(5)
            while !seen.withLock({ $0.contains(value) }), Date() < deadline { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(seen.withLock { $0 } == [1, 2, 3])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.execute { context in
                context.unwatch(reader)
                done.resume()
            }
        }
        var four: UInt8 = 4
        _ = write(writer, &four, 1)
        let ticks = loop.currentStatistics.ticks
        let deadline = Date().addingTimeInterval(5)
        while loop.currentStatistics.ticks < ticks + 100, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(loop.currentStatistics.ticks >= ticks + 100, "ticks go on")
        #expect(seen.withLock { $0 } == [1, 2, 3], "an unwatched descriptor is not read")
    }

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
