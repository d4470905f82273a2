import COpenSSL
import CPlenumDTLS
import CZlib

/// A STUN message (RFC 8489), as ICE uses it (RFC 8445 §7): parsed in place, built into a buffer.
///
///      0                   1                   2                   3
///     |0 0|     STUN Message Type     |         Message Length        |
///     |                         Magic Cookie                          |
///     |                     Transaction ID (96 bits)                  |
///     attributes: type (16), length (16), value padded to 4 bytes
public struct STUNMessage: Sendable, Equatable {
    public static let magicCookie: UInt32 = 0x2112_A442
    public static let headerSize = 20

    public enum MessageType: UInt16, Sendable {
        case bindingRequest = 0x0001
        case bindingSuccess = 0x0101
        case bindingError = 0x0111
        case bindingIndication = 0x0011
    }

    public enum Attribute: UInt16, Sendable {
        case mappedAddress = 0x0001, username = 0x0006, messageIntegrity = 0x0008, errorCode = 0x0009
        case xorMappedAddress = 0x0020, priority = 0x0024, useCandidate = 0x0025
        case fingerprint = 0x8028, iceControlled = 0x8029, iceControlling = 0x802A
    }

    public enum ParseError: Error, Equatable, Sendable {
        case tooShort, notSTUN, badLength, badAttribute, badFingerprint
    }

    public var type: UInt16
    public var transactionID: [UInt8]
    public var username: String?
    public var priority: UInt32?
    public var useCandidate = false
    public var iceControlling: UInt64?
    public var iceControlled: UInt64?
    /// Byte offset of the MESSAGE-INTEGRITY attribute, for `verifyIntegrity`.
    public var integrityOffset: Int?
    public var hasFingerprint = false

    /// Parses and checks the framing and, when present, the FINGERPRINT (RFC 8489 §14.7).
    public init(parsing bytes: UnsafeRawBufferPointer) throws(ParseError) {
        guard bytes.count >= Self.headerSize else { throw .tooShort }
        guard bytes[0] & 0xC0 == 0, bytes.loadBE32(4) == Self.magicCookie else { throw .notSTUN }
        let length = Int(bytes.loadBE16(2))
        guard length % 4 == 0, Self.headerSize + length == bytes.count else { throw .badLength }
        type = bytes.loadBE16(0)
        transactionID = Array(bytes[8..<20])
        var offset = Self.headerSize
        while offset < bytes.count {
            guard offset + 4 <= bytes.count else { throw .badAttribute }
            let attributeType = bytes.loadBE16(offset)
            let attributeLength = Int(bytes.loadBE16(offset + 2))
            let value = (offset + 4)..<(offset + 4 + attributeLength)
            guard value.upperBound <= bytes.count else { throw .badAttribute }
            if hasFingerprint { throw .badAttribute }  // nothing may follow FINGERPRINT
            switch Attribute(rawValue: attributeType) {
            case .username:
                guard attributeLength <= 513 else { throw .badAttribute }
                username = String(decoding: bytes[value], as: UTF8.self)
            case .priority:
                guard attributeLength == 4 else { throw .badAttribute }
                priority = bytes.loadBE32(value.lowerBound)
            case .useCandidate:
                useCandidate = true
            case .iceControlling:
                guard attributeLength == 8 else { throw .badAttribute }
                iceControlling = UInt64(bytes.loadBE32(value.lowerBound)) << 32 | UInt64(bytes.loadBE32(value.lowerBound + 4))
            case .iceControlled:
                guard attributeLength == 8 else { throw .badAttribute }
                iceControlled = UInt64(bytes.loadBE32(value.lowerBound)) << 32 | UInt64(bytes.loadBE32(value.lowerBound + 4))
            case .messageIntegrity:
                guard attributeLength == 20, integrityOffset == nil else { throw .badAttribute }
                integrityOffset = offset
            case .fingerprint:
                guard attributeLength == 4 else { throw .badAttribute }
                let expected = Self.fingerprint(UnsafeRawBufferPointer(rebasing: bytes[..<offset]), length: offset + 8)
                guard bytes.loadBE32(value.lowerBound) == expected else { throw .badFingerprint }
                hasFingerprint = true
            default:
                break  // comprehension-optional or unknown: ignored (ICE needs no other)
            }
            offset = value.upperBound + (4 - attributeLength % 4) % 4
        }
    }

    /// Checks MESSAGE-INTEGRITY (HMAC-SHA1 with the short-term password, RFC 8489 §14.5): the HMAC covers
    /// the message up to the attribute, with the header's length as if the message ended after it.
    public static func verifyIntegrity(_ bytes: UnsafeRawBufferPointer, at offset: Int, password: String) -> Bool {
        guard offset + 24 <= bytes.count else { return false }
        var header = Array(bytes[..<offset])
        let adjusted = UInt16(offset + 24 - headerSize)
        header[2] = UInt8(adjusted >> 8)
        header[3] = UInt8(adjusted & 0xFF)
        guard let mac = hmacSHA1(key: Array(password.utf8), data: header) else { return false }
        let received = Array(bytes[(offset + 4)..<(offset + 24)])
        return plenum_secrets_equal(mac, mac.count, received, received.count) == 1
    }

    /// CRC-32 of the message so far XOR 0x5354554e, with the length field covering the fingerprint.
    static func fingerprint(_ prefix: UnsafeRawBufferPointer, length: Int) -> UInt32 {
        var header = Array(prefix)
        let adjusted = UInt16(length - headerSize)
        header[2] = UInt8(adjusted >> 8)
        header[3] = UInt8(adjusted & 0xFF)
        let crc = header.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        return UInt32(truncatingIfNeeded: crc) ^ 0x5354_554E
    }

    static func hmacSHA1(key: [UInt8], data: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 20)
        var length = 0
        let status = key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                EVP_Q_mac(nil, "HMAC", nil, "SHA1", nil, k.baseAddress, k.count, d.baseAddress, d.count, &out, 20, &length)
            }
        }
        return status != nil && length == 20 ? out : nil
    }

    /// Builds a Binding request as a controlling full agent sends it (RFC 8445 §7.2.2): USERNAME, PRIORITY,
    /// ICE-CONTROLLING, optionally USE-CANDIDATE, MESSAGE-INTEGRITY with the peer's password, FINGERPRINT.
    /// For tests and load tools (the bridge itself only answers checks).
    public static func bindingRequest(
        transactionID: [UInt8], username: String, password: String, priority: UInt32, tieBreaker: UInt64,
        useCandidate: Bool
    ) -> [UInt8] {
        var bytes = header(.bindingRequest, transactionID: transactionID)
        func be16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func be32(_ v: UInt32) { bytes += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        let name = Array(username.utf8)
        be16(Attribute.username.rawValue)
        be16(UInt16(name.count))
        bytes += name + [UInt8](repeating: 0, count: (4 - name.count % 4) % 4)
        be16(Attribute.priority.rawValue)
        be16(4)
        be32(priority)
        be16(Attribute.iceControlling.rawValue)
        be16(8)
        be32(UInt32(tieBreaker >> 32))
        be32(UInt32(tieBreaker & 0xFFFF_FFFF))
        if useCandidate {
            be16(Attribute.useCandidate.rawValue)
            be16(0)
        }
        appendIntegrityAndFingerprint(to: &bytes, password: password)
        return bytes
    }

    /// The 20-byte header with a zero length (set once the attributes are known).
    static func header(_ type: MessageType, transactionID: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        let cookie = magicCookie
        bytes += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 0]
        bytes += [UInt8(cookie >> 24), UInt8(cookie >> 16 & 0xFF), UInt8(cookie >> 8 & 0xFF), UInt8(cookie & 0xFF)]
        return bytes + transactionID
    }

    /// MESSAGE-INTEGRITY (HMAC-SHA1 over everything before it, with the header's length counting it) and
    /// FINGERPRINT (CRC-32 with the length counting it), the last two attributes of every ICE message.
    static func appendIntegrityAndFingerprint(to bytes: inout [UInt8], password: String) {
        func be16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        let integrityAt = bytes.count
        bytes[2] = UInt8((integrityAt + 24 - headerSize) >> 8)
        bytes[3] = UInt8((integrityAt + 24 - headerSize) & 0xFF)
        let mac = hmacSHA1(key: Array(password.utf8), data: bytes) ?? [UInt8](repeating: 0, count: 20)
        be16(Attribute.messageIntegrity.rawValue)
        be16(20)
        bytes += mac
        let total = bytes.count + 8
        let crc = bytes.withUnsafeBytes { fingerprint($0, length: total) }
        be16(Attribute.fingerprint.rawValue)
        be16(4)
        bytes += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)]
        bytes[2] = UInt8((total - headerSize) >> 8)
        bytes[3] = UInt8((total - headerSize) & 0xFF)
    }

    /// Builds a Binding success response (RFC 8445 §7.3.1.4): XOR-MAPPED-ADDRESS of the request's source,
    /// MESSAGE-INTEGRITY with our password, FINGERPRINT. Returns its length in `buffer` (≥ 76 bytes).
    public static func writeBindingSuccess(
        into buffer: UnsafeMutableRawBufferPointer, transactionID: [UInt8], address: Endpoint, password: String
    ) -> Int {
        var bytes = header(.bindingSuccess, transactionID: transactionID)
        func be16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func be32(_ v: UInt32) { bytes += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        // XOR-MAPPED-ADDRESS (RFC 8489 §14.2): the port XORed with the cookie's high half; an IPv4 address
        // with the cookie, an IPv6 address with the cookie followed by the transaction ID.
        be16(Attribute.xorMappedAddress.rawValue)
        if let ipv4 = address.ipv4 {
            be16(8)
            bytes += [0, 0x01]
            be16(address.port ^ UInt16(magicCookie >> 16))
            be32(ipv4 ^ magicCookie)
        } else {
            be16(20)
            bytes += [0, 0x02]
            be16(address.port ^ UInt16(magicCookie >> 16))
            let mask = [UInt8(magicCookie >> 24), UInt8(magicCookie >> 16 & 0xFF), UInt8(magicCookie >> 8 & 0xFF),
                        UInt8(magicCookie & 0xFF)] + transactionID
            for i in 0..<16 {
                let word = i < 8 ? address.high : address.low
                bytes.append(UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64(i % 8))) ^ mask[i])
            }
        }
        appendIntegrityAndFingerprint(to: &bytes, password: password)
        guard buffer.count >= bytes.count else { return 0 }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return bytes.count
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always) func loadBE16(_ offset: Int) -> UInt16 { UInt16(self[offset]) << 8 | UInt16(self[offset + 1]) }
    @inline(__always) func loadBE32(_ offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }
}
