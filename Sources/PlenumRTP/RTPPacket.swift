/// A received RTP packet, parsed in place (RFC 3550 §5.1). Holds ranges into the caller's buffer;
/// nothing is copied or allocated.
///
///      0                   1                   2                   3
///     |V=2|P|X|  CC   |M|     PT      |       sequence number         |
///     |                           timestamp                           |
///     |           synchronization source (SSRC) identifier            |
///     |            contributing source (CSRC) identifiers  (CC × 32)  |
///     | profile-defined extension id  |        length (32-bit words)  |   when X
public struct RTPPacket: Equatable, Sendable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    /// The extension block's profile (0xBEDE one-byte, 0x100X two-byte, RFC 8285) and its data range.
    public var extensionProfile: UInt16?
    public var extensionRange: Range<Int>
    public var payloadRange: Range<Int>

    public enum ParseError: Error, Equatable, Sendable {
        case tooShort, badVersion, badCSRCCount, badExtension, badPadding
    }

    public static let headerSize = 12

    /// Parses `bytes`; rejects anything that is not well-formed RTP version 2.
    public init(parsing bytes: UnsafeRawBufferPointer) throws(ParseError) {
        guard bytes.count >= Self.headerSize else { throw .tooShort }
        let first = bytes[0]
        guard first >> 6 == 2 else { throw .badVersion }
        let hasPadding = first & 0x20 != 0
        let hasExtension = first & 0x10 != 0
        let csrcCount = Int(first & 0x0F)
        marker = bytes[1] & 0x80 != 0
        payloadType = bytes[1] & 0x7F
        sequenceNumber = bytes.loadBigEndianUInt16(at: 2)
        timestamp = bytes.loadBigEndianUInt32(at: 4)
        ssrc = bytes.loadBigEndianUInt32(at: 8)
        var offset = Self.headerSize + 4 * csrcCount
        guard offset <= bytes.count else { throw .badCSRCCount }
        extensionProfile = nil
        extensionRange = offset..<offset
        if hasExtension {
            guard offset + 4 <= bytes.count else { throw .badExtension }
            let profile = bytes.loadBigEndianUInt16(at: offset)
            let words = Int(bytes.loadBigEndianUInt16(at: offset + 2))
            let end = offset + 4 + 4 * words
            guard end <= bytes.count else { throw .badExtension }
            extensionProfile = profile
            extensionRange = (offset + 4)..<end
            offset = end
        }
        var end = bytes.count
        if hasPadding {
            let padding = Int(bytes[bytes.count - 1])
            guard padding > 0, offset + padding <= bytes.count else { throw .badPadding }
            end -= padding
        }
        payloadRange = offset..<end
    }

    /// Writes a 12-byte header (no CSRC, no extension) at the start of `buffer`; returns 12.
    @discardableResult
    public static func writeHeader(
        into buffer: UnsafeMutableRawBufferPointer, marker: Bool, payloadType: UInt8, sequenceNumber: UInt16,
        timestamp: UInt32, ssrc: UInt32
    ) -> Int {
        buffer[0] = 0x80
        buffer[1] = (marker ? 0x80 : 0) | (payloadType & 0x7F)
        buffer.storeBytes(of: sequenceNumber.bigEndian, toByteOffset: 2, as: UInt16.self)
        buffer.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
        return headerSize
    }
}

/// RFC 8285 header extension elements, read in place.
public enum RTPHeaderExtension {
    /// The data of element `id`, or nil. Handles the one-byte (0xBEDE) and two-byte (0x100X) forms.
    public static func element(
        id: UInt8, profile: UInt16?, in bytes: UnsafeRawBufferPointer, range: Range<Int>
    ) -> Range<Int>? {
        guard let profile, id > 0 else { return nil }
        var offset = range.lowerBound
        if profile == 0xBEDE {
            while offset < range.upperBound {
                let byte = bytes[offset]
                if byte == 0 {  // padding
                    offset += 1
                    continue
                }
                let elementID = byte >> 4
                let length = Int(byte & 0x0F) + 1
                if elementID == 15 { return nil }  // reserved: stop parsing (RFC 8285 §4.2)
                let data = (offset + 1)..<(offset + 1 + length)
                guard data.upperBound <= range.upperBound else { return nil }
                if elementID == id { return data }
                offset = data.upperBound
            }
        } else if profile & 0xFFF0 == 0x1000 {
            while offset + 1 < range.upperBound {
                let elementID = bytes[offset]
                if elementID == 0 {
                    offset += 1
                    continue
                }
                let length = Int(bytes[offset + 1])
                let data = (offset + 2)..<(offset + 2 + length)
                guard data.upperBound <= range.upperBound else { return nil }
                if elementID == id { return data }
                offset = data.upperBound
            }
        }
        return nil
    }

    /// RFC 6464 client-to-mixer audio level: (voice activity flag, level 0-127 in -dBov).
    public static func audioLevel(
        id: UInt8, profile: UInt16?, in bytes: UnsafeRawBufferPointer, range: Range<Int>
    ) -> (voiceActivity: Bool, level: UInt8)? {
        guard let data = element(id: id, profile: profile, in: bytes, range: range), !data.isEmpty else { return nil }
        let byte = bytes[data.lowerBound]
        return (byte & 0x80 != 0, byte & 0x7F)
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always)
    func loadBigEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    @inline(__always)
    func loadBigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
}
