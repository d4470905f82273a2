import Foundation
import PlenumRTP

/// SDP security descriptions for SRTP (RFC 4568): `a=crypto:<tag> <suite> inline:<base64 key||salt>[|lifetime][|MKI]`.
/// Keys in SDP are only secret when the SIP signalling is encrypted, so Plenum accepts them over TLS only.
public struct SDESCrypto: Sendable, Equatable {
    public var tag: Int
    public var profile: SRTPSession.Profile
    public var keyingMaterial: [UInt8]

    public init(tag: Int, profile: SRTPSession.Profile, keyingMaterial: [UInt8]) {
        self.tag = tag
        self.profile = profile
        self.keyingMaterial = keyingMaterial
    }

    /// Parses one attribute value; nil for an unknown suite, a bad key, or MKIs (not supported).
    public init?(attribute: String) {
        let parts = attribute.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 3, let tag = Int(parts[0]), (0...999_999_999).contains(tag),
            let profile = SRTPSession.Profile(rawValue: String(parts[1])), parts[2].hasPrefix("inline:")
        else { return nil }
        let params = parts[2].dropFirst("inline:".count).split(separator: "|")
        guard let encoded = params.first, params.count <= 2, let key = Data(base64Encoded: String(encoded)),
            key.count == profile.keyingMaterialLength
        else { return nil }
        self.init(tag: tag, profile: profile, keyingMaterial: [UInt8](key))
    }

    /// The first supported offer, by Plenum's preference (GCM, then the 80- and 32-bit HMAC tags).
    public static func choose(from attributes: [String]) -> SDESCrypto? {
        let offers = attributes.compactMap(SDESCrypto.init(attribute:))
        for profile in [SRTPSession.Profile.aeadAES128GCM, .aes128CMHMACSHA1_80, .aes128CMHMACSHA1_32] {
            if let offer = offers.first(where: { $0.profile == profile }) { return offer }
        }
        return nil
    }

    /// Our side of the answer: same tag and suite, a fresh random key.
    public func answer() -> SDESCrypto {
        var rng = SystemRandomNumberGenerator()
        return SDESCrypto(tag: tag, profile: profile, keyingMaterial: (0..<profile.keyingMaterialLength).map { _ in rng.next() })
    }

    public var attribute: String { "\(tag) \(profile.rawValue) inline:\(Data(keyingMaterial).base64EncodedString())" }
}
