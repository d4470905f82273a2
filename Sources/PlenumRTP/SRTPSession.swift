import CSRTP
import Synchronization

/// One direction of SRTP and SRTCP (RFC 3711) through libsrtp2: protect outgoing packets or unprotect
/// incoming ones, in place. Replay protection (a 1024-packet window) is libsrtp's.
///
/// Not thread-safe: a session belongs to one leg on one media loop.
public final class SRTPSession {
    /// The protection profiles Plenum offers, in order of preference: GCM is about 2.5× cheaper than
    /// AES-CM with Debian's NSS-backed libsrtp2 (RFC 7714, RFC 3711).
    public enum Profile: String, Sendable, CaseIterable {
        case aeadAES128GCM = "AEAD_AES_128_GCM"
        case aes128CMHMACSHA1_80 = "AES_CM_128_HMAC_SHA1_80"
        /// A 32-bit tag on RTP (RTCP keeps 80 bits, RFC 3711 §5.2): common on phones.
        case aes128CMHMACSHA1_32 = "AES_CM_128_HMAC_SHA1_32"

        /// Master key plus master salt, in bytes.
        public var keyingMaterialLength: Int {
            switch self {
            case .aeadAES128GCM: 16 + 12
            case .aes128CMHMACSHA1_80, .aes128CMHMACSHA1_32: 16 + 14
            }
        }

        /// The DTLS-SRTP protection profile number (RFC 5764 §4.1.2, RFC 7714 §14.2).
        public var dtlsProfileID: UInt16 {
            switch self {
            case .aeadAES128GCM: 0x0007
            case .aes128CMHMACSHA1_80: 0x0001
            case .aes128CMHMACSHA1_32: 0x0002
            }
        }
    }

    public enum Direction: Sendable { case inbound, outbound }

    public enum Failure: Error, Equatable, Sendable {
        case badKey
        case authentication
        case replay
        case other(Int32)
    }

    /// Room a caller must leave after a packet for `protect` to append the tag.
    public static let maxTrailerLength = 16 + 128

    private var session: srtp_t?
    public let profile: Profile

    private static let initialised: Bool = srtp_init() == srtp_err_status_ok

    public init(profile: Profile, keyingMaterial: [UInt8], direction: Direction) throws(Failure) {
        guard Self.initialised, keyingMaterial.count == profile.keyingMaterialLength else { throw .badKey }
        self.profile = profile
        var policy = srtp_policy_t()
        switch profile {
        case .aeadAES128GCM:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        case .aes128CMHMACSHA1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)  // = AES_CM_128_HMAC_SHA1_80 (a macro in srtp.h)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        case .aes128CMHMACSHA1_32:
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp)
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        }
        policy.ssrc.type = direction == .inbound ? ssrc_any_inbound : ssrc_any_outbound
        policy.window_size = 1024
        // A NACKed video packet is sent again with the index it had (RFC 4585 without RTX), which the
        // sender's own replay check would refuse. It is byte for byte the packet sent before (the
        // forwarding unit rewrites header and payload the same way), so the same index encrypts the
        // same plaintext: no keystream is reused on different data.
        policy.allow_repeat_tx = direction == .outbound ? 1 : 0
        var key = keyingMaterial
        var created: srtp_t?
        let status = key.withUnsafeMutableBufferPointer { buffer -> srtp_err_status_t in
            policy.key = buffer.baseAddress
            return srtp_create(&created, &policy)
        }
        guard status == srtp_err_status_ok, let created else { throw .other(Int32(status.rawValue)) }
        session = created
        for i in key.indices { key[i] = 0 }
    }

    deinit {
        if let session { srtp_dealloc(session) }
    }

    /// Protects an RTP packet of `length` bytes in `buffer` (which must have `maxTrailerLength` to spare);
    /// returns the new length.
    public func protect(_ buffer: UnsafeMutableRawBufferPointer, length: Int, rtcp: Bool = false) throws(Failure) -> Int {
        guard let base = buffer.baseAddress, length + Self.maxTrailerLength <= buffer.count else { throw .other(-1) }
        var len = Int32(length)
        let status = rtcp ? srtp_protect_rtcp(session, base, &len) : srtp_protect(session, base, &len)
        try Self.check(status)
        return Int(len)
    }

    /// Authenticates and decrypts an SRTP packet in place; returns the plain length.
    public func unprotect(_ buffer: UnsafeMutableRawBufferPointer, length: Int, rtcp: Bool = false) throws(Failure) -> Int {
        guard let base = buffer.baseAddress, length <= buffer.count else { throw .other(-1) }
        var len = Int32(length)
        let status = rtcp ? srtp_unprotect_rtcp(session, base, &len) : srtp_unprotect(session, base, &len)
        try Self.check(status)
        return Int(len)
    }

    private static func check(_ status: srtp_err_status_t) throws(Failure) {
        switch status {
        case srtp_err_status_ok: return
        case srtp_err_status_auth_fail: throw .authentication
        case srtp_err_status_replay_fail, srtp_err_status_replay_old: throw .replay
        default: throw .other(Int32(status.rawValue))
        }
    }
}
