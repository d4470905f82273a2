import Foundation
import PlenumBridge
import PlenumICE
import PlenumMeetings
import PlenumRTP
import PlenumSDP
import PlenumSIP
import PlenumServer

/// Every parser that faces the network, each behind one entry point that takes raw bytes as a peer
/// would send them (issue 11). libFuzzer drives them from `Fuzz/` (built with `-sanitize=fuzzer,address`);
/// the test suite replays the kept corpus (`Tests/FuzzCorpus/<target>/`) through the same entry points,
/// so a crash found once stays fixed. An entry point only has to return: refusing the input is fine.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// The SIP request as sofia parses it and as the agent hands it to Swift, then what the call
    /// manager reads of it: display name, INFO digits, the SDP offer and its media destination.
    case sip
    case sdp
    case stun
    /// RTP with header extensions (RFC 8285 one- and two-byte) and the RFC 6464 level, and RFC 4733 events.
    case rtp
    case rtcp
    /// The WebSocket's JSON messages, through the dispatch table the session uses.
    case signalling
    /// BigBlueButton API query strings: checksum, then every call's parameters.
    case api

    public func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .sip:
            guard let event = SIPAgent.parse(message: bytes) else { return }
            _ = DisplayName.clean(event.fromDisplay)
            _ = SourceGuard.isScanner(userAgent: event.userAgent)
            _ = SIPCallManager.digits(fromInfo: event.body, contentType: event.contentType)
            Self.offer(event.body)
        case .sdp:
            Self.offer(String(decoding: bytes, as: UTF8.self))
        case .stun:
            guard let message = try? STUNMessage(parsing: bytes) else { return }
            if let offset = message.integrityOffset { _ = STUNMessage.verifyIntegrity(bytes, at: offset, password: "fuzz") }
        case .rtp:
            guard let packet = try? RTPPacket(parsing: bytes) else { return }
            for id in UInt8(1)...UInt8(14) {
                _ = RTPHeaderExtension.audioLevel(id: id, profile: packet.extensionProfile, in: bytes, range: packet.extensionRange)
            }
            var events = TelephoneEventReceiver()
            _ = events.receive(UnsafeRawBufferPointer(rebasing: bytes[packet.payloadRange]), timestamp: packet.timestamp)
        case .rtcp:
            try? RTCP.parse(bytes, item: { _ in }, report: { _ in })
        case .signalling:
            _ = ClientRequest.decode(Data(bytes))
        case .api:
            let text = String(decoding: bytes, as: UTF8.self)
            let call = text.prefix { $0 != "?" }
            let query = text.drop { $0 != "?" }.dropFirst()
            let request = APIRequest(call: String(call), rawQuery: String(query))
            _ = request.verify(secret: "fuzz-secret", allowed: Set(ChecksumAlgorithm.allCases))
            _ = BigBlueButtonAPI.createSettings(request, freeVoiceBridge: { "70000" })
            _ = BigBlueButtonAPI.createMeetingID(request)
        }
    }

    private static func offer(_ text: String) {
        // A browser's whole offer (issue 15), read as the server reads it: every m-line's codecs,
        // extensions, SSRCs and rids.
        if let description = try? SessionDescription(parsing: text) {
            _ = description.bundle
            for media in description.media {
                _ = (media.codecs.map(\.associatedPayloadType), media.extensions, media.ssrcs, media.retransmissionGroups.count, media.sendRIDs)
            }
        }
        guard let offer = try? AudioOffer(parsing: text) else { return }
        _ = SIPCallManager.mediaDestination(of: offer)
        _ = Negotiation.choose(from: offer)
    }
}
