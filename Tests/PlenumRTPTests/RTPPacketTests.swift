import PlenumRTP
import Testing

@Suite struct RTPPacketTests {
    /// A packet with one CSRC, a one-byte header extension holding an RFC 6464 level (id 1) and
    /// a 2-byte element (id 3), a 3-byte payload and 2 bytes of padding.
    static let sample: [UInt8] = [
        0xB1, 0xE0, 0x12, 0x34, 0x00, 0x00, 0x03, 0xC0, 0xDE, 0xAD, 0xBE, 0xEF,  // V=2 P X CC=1, M PT=96
        0x11, 0x22, 0x33, 0x44,  // CSRC
        0xBE, 0xDE, 0x00, 0x02,  // one-byte extension, 2 words
        0x10, 0xA5,  // id 1, len 1: V=1, level 37
        0x31, 0xAA, 0xBB,  // id 3, len 2
        0x00, 0x00, 0x00,  // padding to the word
        0x01, 0x02, 0x03,  // payload
        0x00, 0x02,  // padding (2 bytes, count last)
    ]

    @Test func parsesEveryHeaderField() throws {
        try Self.sample.withUnsafeBytes { bytes in
            let packet = try RTPPacket(parsing: bytes)
            #expect(packet.marker && packet.payloadType == 96)
            #expect(packet.sequenceNumber == 0x1234 && packet.timestamp == 960 && packet.ssrc == 0xDEAD_BEEF)
            #expect(Array(bytes[packet.payloadRange]) == [1, 2, 3])
            let level = RTPHeaderExtension.audioLevel(id: 1, profile: packet.extensionProfile, in: bytes, range: packet.extensionRange)
            #expect(level?.voiceActivity == true && level?.level == 37)
            let other = RTPHeaderExtension.element(id: 3, profile: packet.extensionProfile, in: bytes, range: packet.extensionRange)
            #expect(other.map { Array(bytes[$0]) } == [0xAA, 0xBB])
            #expect(RTPHeaderExtension.element(id: 2, profile: packet.extensionProfile, in: bytes, range: packet.extensionRange) == nil)
        }
    }

    @Test func twoByteExtensions() throws {
        let bytes: [UInt8] = [0x90, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0x00, 0x00, 0x01, 0x05, 0x01, 0x7F, 0x00, 0xAB]
        try bytes.withUnsafeBytes { raw in
            let packet = try RTPPacket(parsing: raw)
            let level = RTPHeaderExtension.audioLevel(id: 5, profile: packet.extensionProfile, in: raw, range: packet.extensionRange)
            #expect(level?.level == 127 && level?.voiceActivity == false)
            #expect(Array(raw[packet.payloadRange]) == [0xAB])
        }
    }

    @Test(arguments: [
        ([UInt8](repeating: 0x80, count: 11), RTPPacket.ParseError.tooShort),
        ([0x40, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], .badVersion),
        ([0x8F, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], .badCSRCCount),
        ([0x90, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0xFF, 0xFF], .badExtension),
        ([0xA0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x00], .badPadding),
        ([0xA0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x20], .badPadding),
    ])
    func rejectsMalformedPackets(bytes: [UInt8], error: RTPPacket.ParseError) {
        #expect(throws: error) { try bytes.withUnsafeBytes { _ = try RTPPacket(parsing: $0) } }
    }

    @Test func randomBytesNeverCrashTheParsers() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            var bytes = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if !bytes.isEmpty, Bool.random(using: &rng) { bytes[0] = 0x80 | (bytes[0] & 0x3F) }
            bytes.withUnsafeBytes { raw in
                if let packet = try? RTPPacket(parsing: raw) {
                    #expect(packet.payloadRange.upperBound <= raw.count && packet.payloadRange.lowerBound <= packet.payloadRange.upperBound)
                    _ = RTPHeaderExtension.audioLevel(id: 1, profile: packet.extensionProfile, in: raw, range: packet.extensionRange)
                    _ = RTPHeaderExtension.element(id: 7, profile: packet.extensionProfile, in: raw, range: packet.extensionRange)
                }
                try? RTCP.parse(raw, item: { _ in }, report: { _ in })
                _ = TelephoneEvent(parsing: raw)
                _ = PacketClass(classifying: raw)
            }
        }
    }

    @Test func writesAHeaderThatParsesBack() throws {
        var buffer = [UInt8](repeating: 0, count: 16)
        buffer.withUnsafeMutableBytes {
            _ = RTPPacket.writeHeader(into: $0, marker: true, payloadType: 111, sequenceNumber: 65_535, timestamp: 0xFFFF_FFFF, ssrc: 42)
        }
        let packet = try buffer.withUnsafeBytes { try RTPPacket(parsing: $0) }
        #expect(packet.marker && packet.payloadType == 111 && packet.sequenceNumber == 65_535)
        #expect(packet.timestamp == 0xFFFF_FFFF && packet.ssrc == 42 && packet.payloadRange == 12..<16)
    }

    @Test func classifiesByFirstByteAsRFC7983Says() {
        func classify(_ bytes: [UInt8]) -> PacketClass { bytes.withUnsafeBytes { PacketClass(classifying: $0) } }
        #expect(classify([0x00, 0x01]) == .stun)
        #expect(classify([22, 0xFE]) == .dtls)
        #expect(classify([0x80, 111]) == .rtp)
        #expect(classify([0x80, 0x80 | 111]) == .rtp)  // marker set
        #expect(classify([0x81, 200]) == .rtcp)
        #expect(classify([0x80, 206]) == .rtcp)
        #expect(classify([0xFF]) == .unknown)
        #expect(classify([]) == .unknown)
    }
}

@Suite struct TelephoneEventTests {
    @Test func parsesAndWritesRFC4733Payloads() {
        var buffer = [UInt8](repeating: 0, count: 4)
        _ = buffer.withUnsafeMutableBytes { TelephoneEvent(event: 11, end: true, volume: 10, duration: 1280).write(into: $0) }
        #expect(buffer == [11, 0x8A, 0x05, 0x00])
        let event = buffer.withUnsafeBytes { TelephoneEvent(parsing: $0) }
        #expect(event?.digit == "#" && event?.end == true && event?.duration == 1280)
        #expect("0123456789*#ABCD".map { TelephoneEvent.event(for: $0) } == (0...15).map { UInt8($0) })
        #expect((0...15).map { TelephoneEvent(event: UInt8($0), end: false, duration: 0).digit } == Array("0123456789*#ABCD"))
        #expect(TelephoneEvent(event: 16, end: false, duration: 0).digit == nil)
    }

    @Test func oneKeyPressIsOneDigitDespiteRepeatsAndEndRetransmissions() {
        var receiver = TelephoneEventReceiver()
        var digits: [Character] = []
        for (digit, timestamp) in [(UInt8(1), UInt32(8000)), (2, 9600), (2, 11_200), (11, 12_800)] {
            for (duration, end) in [(160, false), (320, false), (480, true), (480, true), (480, true)] {
                var payload = [UInt8](repeating: 0, count: 4)
                _ = payload.withUnsafeMutableBytes { TelephoneEvent(event: digit, end: end, duration: UInt16(duration)).write(into: $0) }
                if let d = payload.withUnsafeBytes({ receiver.receive($0, timestamp: timestamp) }) { digits.append(d) }
            }
        }
        #expect(digits == ["1", "2", "2", "#"])
    }
}
