/// What arrived on a media port, from the first byte (RFC 7983 §7, RFC 5761 §4 for RTP versus RTCP):
///
///     first byte   0...3     STUN
///                 16...19    ZRTP (not used)
///                 20...63    DTLS
///                 64...79    TURN channel (not used)
///                128...191   RTP or RTCP: RTCP when the second byte (M+PT) is 192...223
public enum PacketClass: Equatable, Sendable {
    case stun, dtls, rtp, rtcp, unknown

    public init(classifying bytes: UnsafeRawBufferPointer) {
        guard let first = bytes.first else {
            self = .unknown
            return
        }
        switch first {
        case 0...3: self = .stun
        case 20...63: self = .dtls
        case 128...191:
            guard bytes.count >= 2 else {
                self = .unknown
                return
            }
            self = (192...223).contains(bytes[1]) ? .rtcp : .rtp
        default: self = .unknown
        }
    }
}
