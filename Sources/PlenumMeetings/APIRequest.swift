import CPlenumDTLS

/// The checksum algorithms BigBlueButton accepts (its `supportedChecksumAlgorithms`).
public enum ChecksumAlgorithm: String, CaseIterable, Sendable, Codable {
    case sha1, sha256, sha384, sha512

    /// A checksum names its algorithm by its length in hex digits.
    public init?(hexLength: Int) {
        switch hexLength {
        case 40: self = .sha1
        case 64: self = .sha256
        case 96: self = .sha384
        case 128: self = .sha512
        default: return nil
        }
    }

    var openSSLName: String {
        switch self {
        case .sha1: "SHA1"
        case .sha256: "SHA256"
        case .sha384: "SHA384"
        case .sha512: "SHA512"
        }
    }

    /// The digest of `text`'s UTF-8 bytes in lowercase hex.
    public func hexDigest(_ text: String) -> String {
        var out = [UInt8](repeating: 0, count: 64)
        let bytes = Array(text.utf8)
        let length = plenum_digest(openSSLName, bytes, bytes.count, &out)
        guard length > 0 else { return "" }
        return out[..<Int(length)].map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

extension Unicode.Scalar {
    var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

/// One call of the BigBlueButton API, sans-I/O: the call's name and its raw query string in, the
/// decoded parameters and the checksum verdict out.
///
/// The checksum is a hex digest of call name + query string without the `checksum` parameter + the
/// shared secret, over the query exactly as sent (still URL-encoded): the caller's encoding is what
/// was signed.
public struct APIRequest: Sendable {
    public let call: String
    /// The query without the checksum parameter, as sent.
    public let signedQuery: String
    public let checksum: String?
    /// Decoded parameters in their order, repeats included (a repeat is an error for BigBlueButton).
    public let parameters: [(name: String, value: String)]

    public init(call: String, rawQuery: String) {
        self.call = call
        var kept: [Substring] = []
        var checksum: String?
        var parameters: [(String, String)] = []
        for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            if name == "checksum" {
                checksum = value
            } else {
                kept.append(pair)
                parameters.append((name, value))
            }
        }
        signedQuery = kept.joined(separator: "&")
        self.checksum = checksum
        self.parameters = parameters
    }

    public enum ChecksumVerdict: Equatable, Sendable { case valid, missing, mismatch }

    /// Whether the checksum matches for `secret` with one of the `allowed` algorithms (chosen by the
    /// checksum's length; compared without regard to hex case, in constant time).
    public func verify(secret: String, allowed: Set<ChecksumAlgorithm>) -> ChecksumVerdict {
        guard let checksum, !checksum.isEmpty else { return .missing }
        guard let algorithm = ChecksumAlgorithm(hexLength: checksum.count), allowed.contains(algorithm) else { return .mismatch }
        let expected = Array(algorithm.hexDigest(call + signedQuery + secret).utf8)
        let given = Array(checksum.lowercased().utf8)
        return plenum_secrets_equal(expected, expected.count, given, given.count) == 1 ? .valid : .mismatch
    }

    /// The first value of `name` (names are case-sensitive, as in BigBlueButton).
    public func value(_ name: String) -> String? { parameters.first { $0.name == name }?.value }

    /// `meta_*` parameters, in order, without the prefix and lowercased, as BigBlueButton stores them;
    /// only names of a letter then letters, digits and dashes count (`^meta_[a-zA-Z][a-zA-Z0-9-]*$`).
    public var metadata: [(String, String)] {
        var seen: Set<String> = []
        return parameters.compactMap { parameter -> (String, String)? in
            guard parameter.name.hasPrefix("meta_") else { return nil }
            let key = parameter.name.dropFirst(5)
            guard let first = key.unicodeScalars.first, first.isASCIILetter,
                key.unicodeScalars.allSatisfy({ $0.isASCIILetter || ("0"..."9").contains($0) || $0 == "-" })
            else { return nil }
            let lowered = key.lowercased()
            return seen.insert(lowered).inserted ? (lowered, parameter.value) : nil
        }
    }

    /// application/x-www-form-urlencoded decoding: `+` is a space, `%XX` a byte; bad escapes stay as they are.
    static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let high = hexValue(iterator[iterator.startIndex]), let low = hexValue(iterator[iterator.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
