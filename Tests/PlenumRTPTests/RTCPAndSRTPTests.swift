import PlenumRTP
import Testing

@Suite struct RTCPTests {
    @Test func receiverReportRoundTrip() throws {
        var buffer = [UInt8](repeating: 0, count: 64)
        let block = RTCP.ReportBlock(ssrc: 7, fractionLost: 25, cumulativeLost: -3, extendedHighestSequence: 0x1_0005, jitter: 44)
        let n = buffer.withUnsafeMutableBytes { RTCP.writeReceiverReport(into: $0, ssrc: 99, block: block) }
        #expect(n == 32)
        var items: [RTCP.Item] = []
        var blocks: [RTCP.ReportBlock] = []
        try buffer.withUnsafeBytes { try RTCP.parse(UnsafeRawBufferPointer(rebasing: $0[..<n]), item: { items.append($0) }, report: { blocks.append($0) }) }
        #expect(items == [.receiverReport(ssrc: 99, reports: 1)])
        #expect(blocks == [block])
    }

    @Test func senderReportRoundTrip() throws {
        var buffer = [UInt8](repeating: 0, count: 64)
        let block = RTCP.ReportBlock(ssrc: 5, fractionLost: 3, cumulativeLost: 9, extendedHighestSequence: 77, jitter: 12)
        let n = buffer.withUnsafeMutableBytes {
            RTCP.writeSenderReport(into: $0, ssrc: 42, ntp: 0xDEAD_BEEF_0000_0001, rtpTimestamp: 960, packets: 50, octets: 8000, block: block)
        }
        #expect(n == 52)
        var items: [RTCP.Item] = []
        var blocks: [RTCP.ReportBlock] = []
        try buffer.withUnsafeBytes { try RTCP.parse(UnsafeRawBufferPointer(rebasing: $0[..<n]), item: { items.append($0) }, report: { blocks.append($0) }) }
        #expect(items == [.senderReport(ssrc: 42, ntp: 0xDEAD_BEEF_0000_0001, rtpTimestamp: 960, packets: 50, octets: 8000, reports: 1)])
        #expect(blocks == [block])
    }

    @Test func compoundSenderReportWithSDESAndBye() throws {
        let packet: [UInt8] = [
            0x81, 200, 0x00, 0x0C, 0, 0, 0, 1,  // SR, 1 block, length 12 words
            0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0x03, 0xC0, 0, 0, 0, 10, 0, 0, 0x06, 0x40,  // NTP, RTP ts, packets, octets
            0, 0, 0, 9, 0x0A, 0, 0, 1, 0, 0, 0, 50, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0,  // report block
            0x81, 202, 0x00, 0x02, 0, 0, 0, 1, 1, 2, 0x61, 0x62,  // SDES CNAME "ab"
            0x81, 203, 0x00, 0x01, 0, 0, 0, 1,  // BYE
        ]
        var items: [RTCP.Item] = []
        var blocks: [RTCP.ReportBlock] = []
        try packet.withUnsafeBytes { try RTCP.parse($0, item: { items.append($0) }, report: { blocks.append($0) }) }
        #expect(items == [
            .senderReport(ssrc: 1, ntp: 0x2_0000_0003, rtpTimestamp: 960, packets: 10, octets: 1600, reports: 1),
            .other(type: 202), .goodbye(ssrcs: 1),
        ])
        #expect(blocks.first?.fractionLost == 10 && blocks.first?.cumulativeLost == 1 && blocks.first?.jitter == 3)
    }

    /// Video feedback (issue 15): PLI written and read back, FIR and generic NACK read, a feedback
    /// packet too short for its header refused.
    @Test func videoFeedbackIsReadAndWritten() throws {
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = buffer.withUnsafeMutableBytes { RTCP.writePictureLossIndication(into: $0, sender: 1, media: 0xBEEF) }
        #expect(length == 12 && Array(buffer[..<4]) == [0x81, 206, 0, 2])
        let fir: [UInt8] = [0x84, 206, 0, 4, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 5, 0, 0, 0]
        let nack: [UInt8] = [0x81, 205, 0, 4, 0, 0, 0, 7, 0, 0, 0, 9, 0, 100, 0b1000_0001, 0b0000_0011, 0, 200, 0, 0]
        var items: [RTCP.Item] = []
        try (Array(buffer[..<length]) + fir + nack).withUnsafeBytes { try RTCP.parse($0, item: { items.append($0) }) }
        #expect(items == [
            .pictureLossIndication(sender: 1, media: 0xBEEF), .fullIntraRequest(sender: 7, media: 0x1234),
            .negativeAcknowledgement(sender: 7, media: 9, entries: 2, lost: 1 + 4 + 1),
        ])
        // Each sequence number the NACK names: PID 100 with BLP bits 0, 1, 8 and 15, then PID 200.
        var lost: [UInt16] = []
        try nack.withUnsafeBytes { try RTCP.parse($0, item: { _ in }, lost: { media, sequence in if media == 9 { lost.append(sequence) } }) }
        #expect(lost == [100, 101, 102, 109, 116, 200])
        let short: [UInt8] = [0x81, 206, 0, 1, 0, 0, 0, 1]
        #expect(throws: RTCP.ParseError.badLength) { try short.withUnsafeBytes { try RTCP.parse($0, item: { _ in }) } }
    }

    @Test func malformedRTCPIsRejected() {
        let cases: [[UInt8]] = [[0x80, 201], [0x80, 201, 0, 9, 0, 0, 0, 1], [0x40, 201, 0, 1, 0, 0, 0, 1], [0x80, 111, 0, 1, 0, 0, 0, 1],
                                [0x81, 201, 0, 1, 0, 0, 0, 1]]
        for bytes in cases {
            #expect(throws: RTCP.ParseError.self) { try bytes.withUnsafeBytes { try RTCP.parse($0, item: { _ in }) } }
        }
    }

    @Test func receptionStatisticsCountLossAndWraparound() {
        var stats = ReceptionStatistics()
        var sequence: UInt16 = 65_530
        for i in 0..<100 {
            if i % 10 != 3 { stats.record(sequence: sequence, timestamp: UInt32(i * 160), arrival: Int64(i * 160)) }
            sequence &+= 1
        }
        let report = stats.makeReport(ssrc: 1)
        #expect(report.cumulativeLost == 10)
        #expect(report.fractionLost == 25)  // 10 % of 256
        #expect(report.extendedHighestSequence == 0x1_0000 + 93)
        #expect(report.jitter == 0, "perfectly paced arrivals")
    }
}

@Suite struct SRTPSessionTests {
    static let rtp: [UInt8] = [0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7] + (0..<160).map { UInt8($0 & 0xFF) }

    @Test(arguments: SRTPSession.Profile.allCases)
    func protectThenUnprotectRoundTripsAndTamperingIsCaught(profile: SRTPSession.Profile) throws {
        let key = (0..<profile.keyingMaterialLength).map { UInt8($0 * 7 & 0xFF) }
        let sender = try SRTPSession(profile: profile, keyingMaterial: key, direction: .outbound)
        let receiver = try SRTPSession(profile: profile, keyingMaterial: key, direction: .inbound)
        var buffer = Self.rtp + [UInt8](repeating: 0, count: SRTPSession.maxTrailerLength)
        let protected = try buffer.withUnsafeMutableBytes { try sender.protect($0, length: Self.rtp.count) }
        #expect(protected > Self.rtp.count)
        #expect(Array(buffer[12..<Self.rtp.count]) != Array(Self.rtp[12...]), "payload is encrypted")
        let copy = buffer
        let plain = try buffer.withUnsafeMutableBytes { try receiver.unprotect($0, length: protected) }
        #expect(Array(buffer[..<plain]) == Self.rtp)
        // The same packet again is a replay.
        var replay = copy
        #expect(throws: SRTPSession.Failure.replay) { try replay.withUnsafeMutableBytes { _ = try receiver.unprotect($0, length: protected) } }
        // A flipped bit fails authentication.
        var tampered = copy
        tampered[20] ^= 1
        tampered[3] = 2  // a new sequence number, so it is not a replay
        #expect(throws: SRTPSession.Failure.authentication) {
            try tampered.withUnsafeMutableBytes { _ = try receiver.unprotect($0, length: protected) }
        }
    }

    @Test func wrongKeyLengthIsRefused() {
        #expect(throws: SRTPSession.Failure.badKey) { _ = try SRTPSession(profile: .aeadAES128GCM, keyingMaterial: [1, 2, 3], direction: .inbound) }
    }
}
