import Foundation
import PlenumAudio
import Testing

@testable import PlenumBridge

/// Largest second difference |x[n+1] - 2x[n] + x[n-1]| in a window: a click or a discontinuity in an
/// otherwise smooth tone shows as a spike here.
func roughness(_ samples: ArraySlice<Int16>) -> Int {
    var peak = 0
    var i = samples.startIndex + 1
    while i < samples.endIndex - 1 {
        peak = max(peak, abs(Int(samples[i + 1]) - 2 * Int(samples[i]) + Int(samples[i - 1])))
        i += 1
    }
    return peak
}

/// Sample index where the signal first exceeds `threshold` in magnitude.
func onset(_ samples: [Int16], threshold: Int16 = 1000) -> Int? {
    samples.firstIndex { abs(Int($0)) > Int(threshold) }
}

@Suite struct TalkerTransitionTests {
    func makeConference() -> Conference {
        var profile = ConferenceProfile()
        profile.announceAlone = false
        profile.enterExitTones = false
        return Conference(name: "t", profile: profile)
    }

    /// B listens to A's steady tone, talks for a second (moving to a private encoder cloned from the
    /// shared one) and stops (back to the shared stream). What B hears of A stays smooth throughout.
    @Test(arguments: [CodecConfiguration.opus, .pcmu, .g722])
    func listenerBecomingTalkerAndBackHearsNoGlitch(codec: CodecConfiguration) throws {
        let conference = makeConference()
        let a = TestPhone(codec, tone: 300, dBFS: -12)
        let b = TestPhone(codec, tone: nil)
        let c = TestPhone(codec, tone: nil)  // keeps the shared encoder busy while B talks
        for p in [a, b, c] { p.member = try conference.join(name: "x", input: codec, sink: p) }
        run(conference, [a, b, c], ticks: 100)
        let bSilent = TestPhone(codec, tone: nil)
        // B talks (a tone it must not hear back) for one second.
        let bTalking = TestPhone(codec, tone: 2500)
        bTalking.member = b.member
        bTalking.sequence = b.sequence
        bTalking.timestamp = b.timestamp
        for _ in 0..<50 {
            a.send(); bTalking.send(); c.send()
            conference.tick()
        }
        #expect(b.member.privateEncoder != nil, "a talker has its own encoder")
        bSilent.member = b.member
        bSilent.sequence = bTalking.sequence
        bSilent.timestamp = bTalking.timestamp
        for _ in 0..<100 {
            a.send(); bSilent.send(); c.send()
            conference.tick()
        }
        #expect(b.member.privateEncoder == nil, "back on the shared encoder after the hangover")
        // B heard A's tone the whole time, and never its own.
        let heard = b.heard
        #expect(heard.count == 250 * 960)
        #expect(Tone.relativePower(of: 2500, in: heard[(100 * 960)...], sampleRate: 48_000) < -30)
        // Switch points: into the private encoder at tick ~100, back at ~100 + 50 + hangover.
        let steady = roughness(heard[(40 * 960)..<(95 * 960)])
        let into = roughness(heard[(98 * 960)..<(104 * 960)])
        let back = roughness(heard[(170 * 960)..<(182 * 960)])
        #expect(into <= steady * 2 + 200, "switch to private encoder: \(into) vs steady \(steady)")
        #expect(back <= steady * 2 + 200, "switch back to shared encoder: \(back) vs steady \(steady)")
        let level = heard[(100 * 960)...].withContiguousStorageIfAvailable { AudioLevel.of($0) } ?? 127
        #expect(level < 25, "A stays audible")
    }

    /// From a packet's arrival to the first outgoing packet carrying its audio: the bridge adds at most
    /// one tick of waiting (0-20 ms, the packet arriving just after a tick) plus its encoder's look-ahead.
    @Test func addedLatencyIsOneTickPlusLookahead() throws {
        let conference = makeConference()
        let a = TestPhone(.opus, tone: 1000, dBFS: -6)
        let b = TestPhone(.opus, tone: nil)
        for p in [a, b] { p.member = try conference.join(name: "x", input: .opus, sink: p) }
        let silentA = TestPhone(.opus, tone: nil)
        silentA.member = a.member
        for _ in 0..<30 { silentA.send(); b.send(); conference.tick() }
        a.sequence = silentA.sequence
        a.timestamp = silentA.timestamp
        let bHeardBefore = b.heard.count
        for _ in 0..<20 { a.send(); b.send(); conference.tick() }
        // Here every packet arrives just before the tick that plays it (0 ms wait), so what remains is
        // the bridge's processing delay: decode (0 for Opus) and the encoder look-ahead.
        let heardOnset = try #require(onset(Array(b.heard[bHeardBefore...])))
        // The same tone through the phone's own encoder and a decoder alone, for the sender's share.
        let direct = roundTripOnset()
        let bridgeDelayMs = Double(heardOnset - direct) / 48
        let lookaheadMs = Double(FrameEncoder(.opus)!.lookahead48k) / 48
        #expect(bridgeDelayMs >= 0 && bridgeDelayMs <= lookaheadMs + 1.5, "bridge processing \(bridgeDelayMs) ms")
        #expect(20 + bridgeDelayMs <= 30, "worst case with the tick wait: \(20 + bridgeDelayMs) ms")
    }

    func roundTripOnset() -> Int {
        let phone = TestPhone(.opus, tone: 1000, dBFS: -6)
        let decoder = FrameDecoder(.opus)!
        var heard: [Int16] = []
        var packet = [UInt8](repeating: 0, count: 1500)
        var out = [Int16](repeating: 0, count: 5760)
        for _ in 0..<20 {
            var frame = [Int16](repeating: 0, count: 960)
            for i in 0..<960 {
                frame[i] = Int16((32767 * pow(10, -6.0 / 20) * sin(2 * Double.pi * 1000 * Double(phone.phase + i) / 48_000)).rounded())
            }
            phone.phase += 960
            let n = frame.withUnsafeBufferPointer { f in packet.withUnsafeMutableBytes { phone.encoder.encode(f, into: $0) } }
            let m = packet.withUnsafeBytes { p in out.withUnsafeMutableBufferPointer { decoder.decode(UnsafeRawBufferPointer(rebasing: p[..<n]), into: $0) } }
            heard += out[..<m]
        }
        return onset(heard) ?? 0
    }
}
