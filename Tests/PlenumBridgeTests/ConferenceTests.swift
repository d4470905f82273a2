import Foundation
import PlenumAudio
import Testing

@testable import PlenumBridge

/// A test leg: sends a tone (encoded like a real phone would) and records and decodes what it hears.
final class TestPhone: MemberOutput {
    let codec: CodecConfiguration
    let frequency: Double?
    let sendsLevels: Bool
    let encoder: FrameEncoder
    let decoder: FrameDecoder
    var member: Member!
    var heard: [Int16] = []
    var payloads: [[UInt8]] = []
    var sequence: UInt16 = 1000
    var timestamp: UInt32 = 123_456
    var phase = 0
    var amplitudeDBFS: Double

    init(_ codec: CodecConfiguration, tone frequency: Double?, levels: Bool = true, dBFS: Double = -12) {
        self.codec = codec
        self.frequency = frequency
        sendsLevels = levels
        encoder = FrameEncoder(codec)!
        decoder = FrameDecoder(codec)!
        amplitudeDBFS = dBFS
    }

    /// Sends the next 20 ms (silence when no tone).
    func send() {
        var frame = [Int16](repeating: 0, count: 960)
        if let frequency {
            let amplitude = 32767 * pow(10, amplitudeDBFS / 20)
            for i in 0..<960 {
                frame[i] = Int16((amplitude * sin(2 * Double.pi * frequency * Double(phase + i) / 48_000)).rounded())
            }
        }
        phase += 960
        var packet = [UInt8](repeating: 0, count: 2000)
        let n = frame.withUnsafeBufferPointer { f in packet.withUnsafeMutableBytes { encoder.encode(f, into: $0) } }
        let level = frame.withUnsafeBufferPointer { AudioLevel.of($0) }
        if n > 0 {
            _ = packet.withUnsafeBytes {
                member.receive(UnsafeRawBufferPointer(rebasing: $0[..<n]), sequence: sequence, timestamp: timestamp,
                               audioLevel: sendsLevels ? level : nil)
            }
            sequence &+= 1
        }
        timestamp &+= UInt32(codec.rtpUnitsPerFrame)
    }

    func deliver(_ frame: EncodedFrame) {
        payloads.append(Array(frame.payload))
        var out = [Int16](repeating: 0, count: AudioFormat.maxPacketSamples)
        let n = out.withUnsafeMutableBufferPointer { decoder.decode(frame.payload, into: $0) }
        heard += out[..<n]
    }

    /// Tone power relative to everything heard in the last `seconds`.
    func share(of frequency: Double, lastSeconds seconds: Double = 1) -> Double {
        Tone.relativePower(of: frequency, in: heard.suffix(Int(seconds * 48_000)), sampleRate: 48_000)
    }
}

func run(_ conference: Conference, _ phones: [TestPhone], ticks: Int) {
    for _ in 0..<ticks {
        for phone in phones { phone.send() }
        conference.tick()
    }
}

@Suite struct ConferenceTests {
    func makeConference(_ profile: ConferenceProfile = ConferenceProfile()) -> Conference {
        var profile = profile
        profile.announceAlone = false
        profile.enterExitTones = false
        return Conference(name: "3001", profile: profile)
    }

    @Test(arguments: [CodecConfiguration.opus, .pcmu, .g722])
    func eachTalkerHearsTheOthersButNotItself(codec: CodecConfiguration) throws {
        let conference = makeConference()
        let tones = [440.0, 1000.0, 1700.0]
        let phones = tones.map { TestPhone(codec, tone: $0) }
        for (i, phone) in phones.enumerated() {
            phone.member = try conference.join(name: "p\(i)", input: codec, sink: phone)
        }
        run(conference, phones, ticks: 150)
        for (i, phone) in phones.enumerated() {
            let others = tones.enumerated().filter { $0.offset != i }.map(\.element)
            for f in others { #expect(phone.share(of: f) > -6, "phone \(i) hears \(f) Hz") }
            #expect(phone.share(of: tones[i]) < -30, "phone \(i) must not hear itself: \(phone.share(of: tones[i])) dB")
        }
    }

    @Test func mixedCodecsMeetInOneRoom() throws {
        let conference = makeConference()
        let opus = TestPhone(.opus, tone: 600, levels: true)
        let pcma = TestPhone(.pcma, tone: 1300, levels: false)
        let l16 = TestPhone(CodecConfiguration(kind: .l16, sampleRate: 16_000), tone: 2100, levels: false)
        for (i, p) in [opus, pcma, l16].enumerated() { p.member = try conference.join(name: "\(i)", input: p.codec, sink: p) }
        run(conference, [opus, pcma, l16], ticks: 150)
        #expect(opus.share(of: 1300) > -6 && opus.share(of: 2100) > -6 && opus.share(of: 600) < -30)
        #expect(pcma.share(of: 600) > -6 && pcma.share(of: 2100) > -6 && pcma.share(of: 1300) < -30)
        #expect(l16.share(of: 600) > -6 && l16.share(of: 1300) > -6 && l16.share(of: 2100) < -30)
    }

    @Test func listenersOfOneConfigurationShareByteIdenticalPayloads() throws {
        let conference = makeConference()
        let talker = TestPhone(.opus, tone: 800)
        talker.member = try conference.join(name: "talker", input: .opus, sink: talker)
        let listeners = (0..<5).map { _ in TestPhone(.opus, tone: nil) }
        for l in listeners { l.member = try conference.join(name: "l", input: .opus, sink: l) }
        let phoneListener = TestPhone(.pcmu, tone: nil)
        phoneListener.member = try conference.join(name: "phone", input: .pcmu, sink: phoneListener)
        run(conference, [talker] + listeners + [phoneListener], ticks: 100)
        #expect(listeners[0].payloads.count == 100)
        for l in listeners.dropFirst() { #expect(l.payloads == listeners[0].payloads) }
        #expect(conference.groups.count == 2, "one shared encoder per configuration")
        #expect(listeners[0].share(of: 800) > -3 && phoneListener.share(of: 800) > -3)
        // The only talker's mix-minus is empty: it hears silence, not its own tone.
        let talkerLevel = talker.heard.suffix(48_000).withContiguousStorageIfAvailable { AudioLevel.of($0) } ?? 0
        #expect(talker.payloads.count == 100 && talkerLevel >= 80, "talker hears level \(talkerLevel)")
    }

    @Test func twoFullScaleInputsSaturateInsteadOfWrapping() throws {
        let conference = makeConference()
        let a = TestPhone(CodecConfiguration(kind: .l16, sampleRate: 48_000), tone: 500, dBFS: 0)
        let b = TestPhone(CodecConfiguration(kind: .l16, sampleRate: 48_000), tone: 500, dBFS: 0)
        let ear = TestPhone(CodecConfiguration(kind: .l16, sampleRate: 48_000), tone: nil)
        for p in [a, b, ear] { p.member = try conference.join(name: "x", input: p.codec, sink: p) }
        run(conference, [a, b, ear], ticks: 50)
        let tail = ear.heard.suffix(48_000 / 2)
        // In phase, the sum is twice full scale: clipped at the rails, never wrapped to the other sign.
        #expect(tail.max() == Int16.max && tail.min() == Int16.min + 1 || tail.min() == Int16.min)
        for (x, y) in zip(tail, tail.dropFirst()) { #expect(abs(Int(x) - Int(y)) < 20_000, "no wrap-around jump") }
    }

    @Test func onlyTheLoudestTalkersAreMixed() throws {
        var profile = ConferenceProfile()
        profile.maxTalkers = 2
        let conference = makeConference(profile)
        let loud = TestPhone(.opus, tone: 500, dBFS: -6)
        let medium = TestPhone(.opus, tone: 900, dBFS: -12)
        let quiet = TestPhone(.opus, tone: 1500, dBFS: -30)
        let ear = TestPhone(.opus, tone: nil)
        for p in [loud, medium, quiet, ear] { p.member = try conference.join(name: "x", input: .opus, sink: p) }
        run(conference, [loud, medium, quiet, ear], ticks: 100)
        #expect(ear.share(of: 500) > -10 && ear.share(of: 900) > -10)
        #expect(ear.share(of: 1500) < -30)
        #expect(quiet.member.isTalking && !quiet.member.mixedThisTick)
    }

    @Test func mutedDeafAndHeldMembers() throws {
        let conference = makeConference()
        let a = TestPhone(.opus, tone: 700), b = TestPhone(.opus, tone: 1100)
        a.member = try conference.join(name: "a", input: .opus, sink: a)
        b.member = try conference.join(name: "b", input: .opus, sink: b)
        conference.setMuted(a.member.id, true)
        conference.setDeaf(b.member.id, true)
        run(conference, [a, b], ticks: 60)
        #expect(b.payloads.isEmpty, "deaf hears nothing")
        #expect(a.share(of: 1100) > -3)
        conference.setDeaf(b.member.id, false)
        run(conference, [a, b], ticks: 60)
        let tail = Array(b.heard.suffix(48_000))
        let level = tail.withUnsafeBufferPointer { AudioLevel.of($0) }
        #expect(tail.count == 48_000 && level >= 80, "a is muted: b hears silence, level \(level)")
    }

    @Test func eventsReportJoinsTalkingAndMutes() throws {
        let conference = makeConference()
        let seen = EventLog(conference)
        let a = TestPhone(.opus, tone: 700)
        a.member = try conference.join(name: "a", input: .opus, sink: a)
        run(conference, [a], ticks: 5)
        conference.setMuted(a.member.id, true)
        conference.leave(a.member.id)
        let id = a.member.id
        #expect(seen.events == [.memberJoined(id), .talkingStarted(id), .muted(id, true), .memberLeft(id)])
        let b = try makeConference().join(name: "b", input: .opus, sink: TestPhone(.opus, tone: 700))
        #expect(b.id != id, "member ids are unique across rooms")
    }

    @Test func garbageIsCountedAndDisturbsNobody() throws {
        let conference = makeConference()
        let a = TestPhone(.opus, tone: 700), b = TestPhone(.opus, tone: nil)
        let c = TestPhone(.pcmu, tone: nil)
        for p in [a, b, c] { p.member = try conference.join(name: "x", input: p.codec, sink: p) }
        var rng = SystemRandomNumberGenerator()
        for tick in 0..<200 {
            a.send()
            b.send()
            // b also sprays garbage: random bytes, wrong sizes, absurd timestamps.
            let junk = (0..<Int.random(in: 0...3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = junk.withUnsafeBytes { b.member.receive($0, sequence: .random(in: 0...65535), timestamp: .random(in: 0...UInt32.max)) }
            _ = junk.withUnsafeBytes { c.member.receive($0, sequence: UInt16(tick), timestamp: .random(in: 0...UInt32.max)) }
            conference.tick()
        }
        #expect(b.member.counters.rejectedPackets > 50)
        #expect(b.share(of: 700) > -6, "b still hears a")
        #expect(c.share(of: 700) > -10, "c still hears a")
    }

    @Test func comfortNoiseFillsASilentRoomOnlyWhenConfigured() throws {
        var profile = ConferenceProfile()
        profile.comfortNoiseLevel = 60
        let withNoise = makeConference(profile)
        let quiet = makeConference()
        let a = TestPhone(.pcmu, tone: nil), b = TestPhone(.pcmu, tone: nil)
        a.member = try withNoise.join(name: "a", input: .pcmu, sink: a)
        b.member = try quiet.join(name: "b", input: .pcmu, sink: b)
        for _ in 0..<50 { a.send(); b.send(); withNoise.tick(); quiet.tick() }
        let noiseLevel = a.heard.withUnsafeBufferPointer { AudioLevel.of($0) }
        let silenceLevel = b.heard.withUnsafeBufferPointer { AudioLevel.of($0) }
        #expect((57...64).contains(Int(noiseLevel)), "comfort noise at about -60 dBov: \(noiseLevel)")
        #expect(silenceLevel == 127, "digital silence without it")
    }

    @Test func renamingAMemberIsAnEvent() throws {
        let conference = makeConference()
        let a = TestPhone(.pcmu, tone: nil)
        a.member = try conference.join(name: "Phone ••• 1234", input: .pcmu, sink: a)
        var seen: [ConferenceEvent] = []
        conference.observers.append { seen.append($0) }
        conference.rename(a.member.id, to: "  Alice (phone)  ")
        conference.rename(a.member.id, to: "   ")
        #expect(a.member.name == "Alice (phone)")
        #expect(seen == [.renamed(a.member.id, "Alice (phone)")])
    }

    @Test func dtmfCallerControls() throws {
        let conference = makeConference()
        let a = TestPhone(.pcmu, tone: 700)
        a.member = try conference.join(name: "a", input: .pcmu, sink: a)
        conference.dtmf("0", from: a.member.id)
        #expect(a.member.flags.muted)
        conference.dtmf("0", from: a.member.id)
        #expect(!a.member.flags.muted)
        conference.dtmf("3", from: a.member.id)
        #expect(a.member.outputGainSteps == 1)
        conference.dtmf("8", from: a.member.id)
        #expect(a.member.flags.handRaised)
        conference.dtmf("7", from: a.member.id)  // unmapped: nothing happens
    }
}

@Suite struct TransferTests {
    func room(_ name: String) -> Conference {
        var profile = ConferenceProfile()
        profile.announceAlone = false
        profile.enterExitTones = false
        return Conference(name: name, profile: profile)
    }

    func tick(_ rooms: [Conference], _ phones: [TestPhone], _ ticks: Int) {
        for _ in 0..<ticks {
            for phone in phones { phone.send() }
            for room in rooms { room.tick() }
        }
    }

    /// A breakout: b moves from the main room to another and back; each hears its own room only.
    @Test func aMovedMemberHearsAndIsHeardInItsNewRoomOnly() throws {
        let main = room("main"), breakout = room("breakout")
        let a = TestPhone(.pcmu, tone: 700), b = TestPhone(.opus, tone: 1200), c = TestPhone(.g722, tone: 1700)
        a.member = try main.join(name: "a", input: .pcmu, sink: a)
        b.member = try main.join(name: "b", input: .opus, sink: b)
        c.member = try breakout.join(name: "c", input: .g722, sink: c)
        let id = b.member.id
        var seen: [String] = []
        main.observers.append { if case .memberLeft(let m) = $0, m == id { seen.append("left main") } }
        breakout.observers.append { if case .memberJoined(let m) = $0, m == id { seen.append("joined breakout") } }
        tick([main, breakout], [a, b, c], 50)
        try main.transfer(id, to: breakout)
        #expect(main.member(id) == nil && breakout.member(id) === b.member, "the same member, the same id")
        #expect(seen == ["left main", "joined breakout"])
        for phone in [a, b, c] { phone.heard.removeAll() }
        tick([main, breakout], [a, b, c], 100)
        // What each phone heard, decoded at 48 kHz whatever its codec.
        func power(_ phone: TestPhone, _ hz: Double, rate: Int) -> Double {
            Tone.relativePower(of: hz, in: phone.heard.suffix(rate)[...], sampleRate: rate)
        }
        #expect(power(a, 1200, rate: 48_000) < -30, "the main room no longer hears b")
        #expect(power(b, 1700, rate: 48_000) > -6 && power(b, 700, rate: 48_000) < -30, "b hears the breakout only")
        #expect(power(c, 1200, rate: 48_000) > -6, "the breakout hears b")
        try breakout.transfer(id, to: main)
        for phone in [a, b, c] { phone.heard.removeAll() }
        tick([main, breakout], [a, b, c], 100)
        #expect(power(a, 1200, rate: 48_000) > -6 && power(b, 700, rate: 48_000) > -6, "back in the main room")
        #expect(power(c, 1200, rate: 48_000) < -30)
        #expect(breakout.members.map(\.id) == [c.member.id] && main.members.count == 2)
    }
}

/// What a conference's observers were told, in order.
final class EventLog {
    private(set) var events: [ConferenceEvent] = []

    init(_ conference: Conference) {
        conference.observers.append { [weak self] event in self?.events.append(event) }
    }
}

/// The echo test room (issue 14): a member hears itself, one second late, through the real mixer.
@Suite struct EchoRoomTests {
    func rms(_ samples: ArraySlice<Int16>) -> Double {
        guard !samples.isEmpty else { return 0 }
        return (samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(samples.count)).squareRoot()
    }

    @Test(arguments: [CodecConfiguration.opus, .pcmu])
    func aMemberHearsItselfOneSecondLate(codec: CodecConfiguration) throws {
        let conference = Conference(name: "echo-1", profile: .echoTest(language: "en"))
        let phone = TestPhone(codec, tone: 440)
        phone.member = try conference.join(name: "me", input: codec, sink: phone)
        run(conference, [phone], ticks: 45)
        // 45 frames heard (decoded at 48 kHz): silence while the first second is in the delay line.
        #expect(rms(phone.heard[...]) < 30, "nothing comes back before the delay")
        run(conference, [phone], ticks: 55)
        #expect(rms(phone.heard.suffix(48_000 / 2)) > 1000, "the tone comes back after a second")
        #expect(phone.share(of: 440, lastSeconds: 0.5) > -3, "as the same tone")
    }

    @Test func aNormalRoomDoesNotEchoAndTheDelayIsBounded() throws {
        let conference = Conference(name: "3001", profile: .echoTest(language: "en", delayFrames: 0))
        let phone = TestPhone(.opus, tone: 440)
        phone.member = try conference.join(name: "me", input: .opus, sink: phone)
        run(conference, [phone], ticks: 100)
        #expect(rms(phone.heard.suffix(48_000)) < 30, "a member never hears itself in a room")
        let decoder = JSONDecoder()
        #expect(throws: DecodingError.self) { try decoder.decode(ConferenceProfile.self, from: Data(#"{"echoDelayFrames": 251}"#.utf8)) }
        #expect(try decoder.decode(ConferenceProfile.self, from: Data(#"{"echoDelayFrames": 25}"#.utf8)).echoDelayFrames == 25)
    }
}
