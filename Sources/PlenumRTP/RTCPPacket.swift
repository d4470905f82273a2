/// RTCP, as much as a bridge needs (RFC 3550 §6): walk a compound packet, read sender and receiver
/// reports and BYE, and write a receiver report for the streams a leg receives.
public enum RTCP {
    public enum PacketType: UInt8, Sendable {
        case senderReport = 200, receiverReport = 201, sourceDescription = 202, goodbye = 203, application = 204
        case transportFeedback = 205, payloadFeedback = 206, extendedReport = 207
    }

    /// A report block about one source (RFC 3550 §6.4.1).
    public struct ReportBlock: Equatable, Sendable {
        public var ssrc: UInt32
        /// Fraction lost since the previous report, in 1/256.
        public var fractionLost: UInt8
        public var cumulativeLost: Int32
        public var extendedHighestSequence: UInt32
        public var jitter: UInt32
        public var lastSenderReport: UInt32
        public var delaySinceLastSenderReport: UInt32

        public init(ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequence: UInt32,
                    jitter: UInt32, lastSenderReport: UInt32 = 0, delaySinceLastSenderReport: UInt32 = 0) {
            self.ssrc = ssrc
            self.fractionLost = fractionLost
            self.cumulativeLost = cumulativeLost
            self.extendedHighestSequence = extendedHighestSequence
            self.jitter = jitter
            self.lastSenderReport = lastSenderReport
            self.delaySinceLastSenderReport = delaySinceLastSenderReport
        }
    }

    public enum Item: Equatable, Sendable {
        case senderReport(ssrc: UInt32, ntp: UInt64, rtpTimestamp: UInt32, packets: UInt32, octets: UInt32, reports: Int)
        case receiverReport(ssrc: UInt32, reports: Int)
        case goodbye(ssrcs: Int)
        /// "Send me a key frame" (RFC 4585 §6.3.1): the video forwarding unit relays it to the publisher.
        case pictureLossIndication(sender: UInt32, media: UInt32)
        /// The same as a command (RFC 5104 §4.3.1), for the first FCI entry's SSRC.
        case fullIntraRequest(sender: UInt32, media: UInt32)
        /// Generic NACK (RFC 4585 §6.2.1): `lost` packets named in `entries` FCI entries.
        case negativeAcknowledgement(sender: UInt32, media: UInt32, entries: Int, lost: Int)
        case other(type: UInt8)
    }

    public enum ParseError: Error, Equatable, Sendable { case tooShort, badVersion, badLength, notRTCP }

    /// Walks a compound packet; calls `item` for each packet, `report` for each report block and `lost`
    /// for each sequence number a generic NACK names (its PID, then each bit of its BLP: RFC 4585
    /// §6.2.1). A datagram bounds the work: at most 372 FCI entries fit in 1,500 bytes.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, item: (Item) -> Void, report: (ReportBlock) -> Void = { _ in },
        lost: (_ media: UInt32, _ sequence: UInt16) -> Void = { _, _ in }
    ) throws(ParseError) {
        var offset = 0
        guard bytes.count >= 4 else { throw .tooShort }
        while offset < bytes.count {
            guard offset + 4 <= bytes.count else { throw .tooShort }
            guard bytes[offset] >> 6 == 2 else { throw .badVersion }
            let count = Int(bytes[offset] & 0x1F)
            let type = bytes[offset + 1]
            guard (192...223).contains(type) else { throw .notRTCP }
            let length = (Int(bytes.loadBigEndianUInt16(at: offset + 2)) + 1) * 4
            guard offset + length <= bytes.count else { throw .badLength }
            let body = offset + 4
            switch PacketType(rawValue: type) {
            case .senderReport:
                guard length >= 28 + 24 * count else { throw .badLength }
                let ntp = UInt64(bytes.loadBigEndianUInt32(at: body + 4)) << 32 | UInt64(bytes.loadBigEndianUInt32(at: body + 8))
                item(.senderReport(
                    ssrc: bytes.loadBigEndianUInt32(at: body), ntp: ntp, rtpTimestamp: bytes.loadBigEndianUInt32(at: body + 12),
                    packets: bytes.loadBigEndianUInt32(at: body + 16), octets: bytes.loadBigEndianUInt32(at: body + 20),
                    reports: count))
                readBlocks(bytes, at: body + 24, count: count, report: report)
            case .receiverReport:
                guard length >= 8 + 24 * count else { throw .badLength }
                item(.receiverReport(ssrc: bytes.loadBigEndianUInt32(at: body), reports: count))
                readBlocks(bytes, at: body + 4, count: count, report: report)
            case .goodbye:
                item(.goodbye(ssrcs: count))
            case .payloadFeedback, .transportFeedback:
                // The common feedback header (RFC 4585 §6.1): FMT in the count field, sender and media SSRC.
                guard length >= 12 else { throw .badLength }
                let sender = bytes.loadBigEndianUInt32(at: body), media = bytes.loadBigEndianUInt32(at: body + 4)
                let feedback = body + 8, entries = (length - 12) / 4
                switch (PacketType(rawValue: type), count) {
                case (.payloadFeedback, 1):
                    item(.pictureLossIndication(sender: sender, media: media))
                case (.payloadFeedback, 4) where length >= 20:
                    item(.fullIntraRequest(sender: sender, media: bytes.loadBigEndianUInt32(at: feedback)))
                case (.transportFeedback, 1):
                    var count = 0
                    for i in 0..<entries {
                        let packetID = bytes.loadBigEndianUInt16(at: feedback + 4 * i)
                        let bitmask = bytes.loadBigEndianUInt16(at: feedback + 4 * i + 2)
                        count += 1 + bitmask.nonzeroBitCount
                        lost(media, packetID)
                        for bit in 0..<16 where bitmask & (1 << bit) != 0 { lost(media, packetID &+ UInt16(bit + 1)) }
                    }
                    item(.negativeAcknowledgement(sender: sender, media: media, entries: entries, lost: count))
                default:
                    item(.other(type: type))
                }
            default:
                item(.other(type: type))
            }
            offset += length
        }
    }

    private static func readBlocks(
        _ bytes: UnsafeRawBufferPointer, at start: Int, count: Int, report: (ReportBlock) -> Void
    ) {
        for i in 0..<count {
            let o = start + 24 * i
            let lostWord = bytes.loadBigEndianUInt32(at: o + 4)
            var cumulative = Int32(bitPattern: lostWord & 0x00FF_FFFF)
            if cumulative & 0x0080_0000 != 0 { cumulative -= 0x0100_0000 }  // 24-bit signed
            report(ReportBlock(
                ssrc: bytes.loadBigEndianUInt32(at: o), fractionLost: UInt8(lostWord >> 24), cumulativeLost: cumulative,
                extendedHighestSequence: bytes.loadBigEndianUInt32(at: o + 8), jitter: bytes.loadBigEndianUInt32(at: o + 12),
                lastSenderReport: bytes.loadBigEndianUInt32(at: o + 16),
                delaySinceLastSenderReport: bytes.loadBigEndianUInt32(at: o + 20)))
        }
    }

    /// Writes a sender report (RFC 3550 §6.4.1) with one report block (or none); returns its length.
    public static func writeSenderReport(
        into buffer: UnsafeMutableRawBufferPointer, ssrc: UInt32, ntp: UInt64, rtpTimestamp: UInt32, packets: UInt32,
        octets: UInt32, block: ReportBlock?
    ) -> Int {
        let length = writeReportHeader(into: buffer, type: .senderReport, fixedLength: 28, ssrc: ssrc, block: block)
        buffer.storeBytes(of: UInt32(ntp >> 32).bigEndian, toByteOffset: 8, as: UInt32.self)
        buffer.storeBytes(of: UInt32(truncatingIfNeeded: ntp).bigEndian, toByteOffset: 12, as: UInt32.self)
        buffer.storeBytes(of: rtpTimestamp.bigEndian, toByteOffset: 16, as: UInt32.self)
        buffer.storeBytes(of: packets.bigEndian, toByteOffset: 20, as: UInt32.self)
        buffer.storeBytes(of: octets.bigEndian, toByteOffset: 24, as: UInt32.self)
        if let block { writeBlock(block, into: buffer, at: 28) }
        return length
    }

    private static func writeBlock(_ block: ReportBlock, into buffer: UnsafeMutableRawBufferPointer, at o: Int) {
        buffer.storeBytes(of: block.ssrc.bigEndian, toByteOffset: o, as: UInt32.self)
        let lost = UInt32(block.fractionLost) << 24 | (UInt32(bitPattern: block.cumulativeLost) & 0x00FF_FFFF)
        buffer.storeBytes(of: lost.bigEndian, toByteOffset: o + 4, as: UInt32.self)
        buffer.storeBytes(of: block.extendedHighestSequence.bigEndian, toByteOffset: o + 8, as: UInt32.self)
        buffer.storeBytes(of: block.jitter.bigEndian, toByteOffset: o + 12, as: UInt32.self)
        buffer.storeBytes(of: block.lastSenderReport.bigEndian, toByteOffset: o + 16, as: UInt32.self)
        buffer.storeBytes(of: block.delaySinceLastSenderReport.bigEndian, toByteOffset: o + 20, as: UInt32.self)
    }

    /// Writes a picture loss indication (RFC 4585 §6.3.1: PSFB, FMT 1, no FCI); returns its length (12).
    public static func writePictureLossIndication(into buffer: UnsafeMutableRawBufferPointer, sender: UInt32, media: UInt32) -> Int {
        buffer[0] = 0x80 | 1
        buffer[1] = PacketType.payloadFeedback.rawValue
        buffer.storeBytes(of: UInt16(2).bigEndian, toByteOffset: 2, as: UInt16.self)
        buffer.storeBytes(of: sender.bigEndian, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: media.bigEndian, toByteOffset: 8, as: UInt32.self)
        return 12
    }

    /// Writes a receiver report with one block (or none); returns its length.
    public static func writeReceiverReport(
        into buffer: UnsafeMutableRawBufferPointer, ssrc: UInt32, block: ReportBlock?
    ) -> Int {
        let length = writeReportHeader(into: buffer, type: .receiverReport, fixedLength: 8, ssrc: ssrc, block: block)
        if let block { writeBlock(block, into: buffer, at: 8) }
        return length
    }

    /// The common header of SR and RR (version 2, report count, type, length in words minus one, sender
    /// SSRC); returns the whole packet's length for `fixedLength` bytes before the report block.
    private static func writeReportHeader(
        into buffer: UnsafeMutableRawBufferPointer, type: PacketType, fixedLength: Int, ssrc: UInt32, block: ReportBlock?
    ) -> Int {
        let count = block == nil ? 0 : 1
        let length = fixedLength + 24 * count
        buffer[0] = 0x80 | UInt8(count)
        buffer[1] = type.rawValue
        buffer.storeBytes(of: UInt16(length / 4 - 1).bigEndian, toByteOffset: 2, as: UInt16.self)
        buffer.storeBytes(of: ssrc.bigEndian, toByteOffset: 4, as: UInt32.self)
        return length
    }
}

/// Reception statistics for one source, for receiver reports (RFC 3550 Appendix A.3 and A.8).
public struct ReceptionStatistics: Sendable {
    public private(set) var received: UInt32 = 0
    private var baseSequence: UInt32 = 0
    private var maxSequence: UInt16 = 0
    private var cycles: UInt32 = 0
    private var started = false
    private var expectedPrior: UInt32 = 0
    private var receivedPrior: UInt32 = 0
    private var transit: Int64 = 0
    private var hasTransit = false
    /// Interarrival jitter in RTP units, scaled by 16 as in A.8.
    private var jitterScaled: Int64 = 0

    public init() {}

    public var extendedHighestSequence: UInt32 { cycles | UInt32(maxSequence) }
    public var jitter: UInt32 { UInt32(clamping: jitterScaled >> 4) }

    /// `arrival` is the arrival time in the stream's RTP clock units. A packet whose timestamp says
    /// nothing about its sending time (an RFC 4733 event repeats its start time, §2.5.1.2) counts for
    /// loss only: `timestamp` nil.
    public mutating func record(sequence: UInt16, timestamp: UInt32?, arrival: Int64) {
        if !started {
            started = true
            baseSequence = UInt32(sequence)
            maxSequence = sequence
        } else {
            let delta = sequence &- maxSequence
            if delta < 0x8000 {
                if sequence < maxSequence { cycles &+= 0x1_0000 }
                maxSequence = sequence
            }
        }
        received &+= 1
        guard let timestamp else { return }
        let newTransit = arrival - Int64(timestamp)
        if hasTransit {
            let d = abs(newTransit - transit)
            jitterScaled += d - ((jitterScaled + 8) >> 4)
        }
        transit = newTransit
        hasTransit = true
    }

    /// A report block, and the interval counters reset (A.3).
    public mutating func makeReport(ssrc: UInt32) -> RTCP.ReportBlock {
        let expected = extendedHighestSequence &- baseSequence &+ 1
        let lost = Int64(expected) - Int64(received)
        let expectedInterval = expected &- expectedPrior
        let receivedInterval = received &- receivedPrior
        expectedPrior = expected
        receivedPrior = received
        let lostInterval = Int64(expectedInterval) - Int64(receivedInterval)
        let fraction: UInt8 = expectedInterval == 0 || lostInterval <= 0 ? 0 : UInt8(clamping: (lostInterval << 8) / Int64(expectedInterval))
        return RTCP.ReportBlock(
            ssrc: ssrc, fractionLost: fraction, cumulativeLost: Int32(clamping: max(-0x80_0000, min(0x7F_FFFF, lost))),
            extendedHighestSequence: extendedHighestSequence, jitter: jitter)
    }
}
