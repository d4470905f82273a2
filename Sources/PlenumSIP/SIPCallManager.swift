import Foundation
import Logging
import PlenumAudio
import PlenumBridge
import PlenumMedia
import PlenumSDP
import PlenumRTP

/// Where the SIP endpoint listens and how its calls are handled.
public struct SIPConfiguration: Codable, Sendable {
    /// Off: no SIP endpoint at all (browsers only).
    public var enabled = true
    /// sofia-sip bind URL: `sip:ADDRESS:PORT` (UDP and TCP).
    public var listen = "sip:127.0.0.1:5060"
    /// TLS: `sips:ADDRESS:5061`, with `certificateDirectory` holding agent.pem (certificate and key)
    /// and cafile.pem. Calls over TLS may use SRTP with SDES keys.
    public var tlsListen: String?
    public var certificateDirectory: String?
    /// Digest authentication (RFC 3261 §22) for phones of one's own: a call that authenticates runs in
    /// `context` instead of the public one; one that matches nothing public is challenged.
    public var authentication: Authentication?

    public struct Authentication: Codable, Sendable {
        public var realm: String
        /// sofia auth_module password file: one `user:password` line per phone.
        public var passwordFile: String
        public var context: String
    }
    /// The address in our SDP, where RTP is received.
    public var mediaAddress = "127.0.0.1"
    public var rtpPortMin: UInt16 = 20_000
    public var rtpPortMax: UInt16 = 29_998
    /// The dialplan context for calls to this endpoint.
    public var context = "public"
    /// New calls one source address may place per 10 seconds before it is banned for 30 minutes
    /// (raise it for a trunk that brings many callers from one address).
    public var callsPerSourcePer10Seconds = 20
    /// Calls at once, in all and from one source address; the next INVITE gets 503 (issue 11: every
    /// call costs two sockets and a member, so an unbounded count ends in a server that answers nobody).
    public var maxCalls = 2000
    public var maxCallsPerSource = 100
    /// New calls the server sets up per second, from all sources together (bursts of twice that are
    /// fine): call set-up runs on the media loop, and a flood of INVITEs from many addresses must not
    /// starve the calls in progress (issue 11). Beyond it, 503.
    public var maxNewCallsPerSecond = 50
    /// Addresses of your own SIP trunks or PBXs: they bring many callers from one address, so neither
    /// the new-call rate limit nor `maxCallsPerSource` applies to them (issue 12).
    public var trustedSources: [String] = []
    /// A call whose phone sent no RTP or RTCP for this long is hung up (a phone that crashed or lost
    /// its network never sends BYE); on hold (the phone offered sendonly, recvonly or inactive) the
    /// longer `holdTimeoutSeconds` applies. 0 turns the check off.
    public var mediaTimeoutSeconds = 60
    public var holdTimeoutSeconds = 1800
    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SIPConfiguration()
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? d.enabled
        listen = try c.decodeIfPresent(String.self, forKey: .listen) ?? d.listen
        tlsListen = try c.decodeIfPresent(String.self, forKey: .tlsListen)
        certificateDirectory = try c.decodeIfPresent(String.self, forKey: .certificateDirectory)
        authentication = try c.decodeIfPresent(Authentication.self, forKey: .authentication)
        mediaAddress = try c.decodeIfPresent(String.self, forKey: .mediaAddress) ?? d.mediaAddress
        rtpPortMin = try c.decodeIfPresent(UInt16.self, forKey: .rtpPortMin) ?? d.rtpPortMin
        rtpPortMax = try c.decodeIfPresent(UInt16.self, forKey: .rtpPortMax) ?? d.rtpPortMax
        context = try c.decodeIfPresent(String.self, forKey: .context) ?? d.context
        callsPerSourcePer10Seconds = try c.decodeIfPresent(Int.self, forKey: .callsPerSourcePer10Seconds)
            ?? d.callsPerSourcePer10Seconds
        maxCalls = try c.decodeIfPresent(Int.self, forKey: .maxCalls) ?? d.maxCalls
        maxNewCallsPerSecond = try c.decodeIfPresent(Int.self, forKey: .maxNewCallsPerSecond) ?? d.maxNewCallsPerSecond
        trustedSources = try c.decodeIfPresent([String].self, forKey: .trustedSources) ?? d.trustedSources
        maxCallsPerSource = try c.decodeIfPresent(Int.self, forKey: .maxCallsPerSource) ?? d.maxCallsPerSource
        mediaTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .mediaTimeoutSeconds) ?? d.mediaTimeoutSeconds
        holdTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .holdTimeoutSeconds) ?? d.holdTimeoutSeconds
        guard rtpPortMin < rtpPortMax else {
            throw DecodingError.dataCorruptedError(forKey: .rtpPortMax, in: c, debugDescription: "must be above rtpPortMin")
        }
    }
}

/// Runs the calls of one SIP endpoint on a media loop: offer/answer, the RTP legs, the dialplan
/// (answer, prompts, digit collection, PINs) and the move into a room. Loop-confined: SIP events
/// reach it through `MediaLoop.execute`.
public final class SIPCallManager: MediaLoopHook {
    public let configuration: SIPConfiguration
    private(set) var dialplan: Dialplan
    /// The loop's rooms, shared with browsers and meetings.
    public let rooms: Rooms
    let context: MediaLoopContext
    let logger: Logger
    /// Set once the agent runs (the agent's handler needs the manager's loop first).
    public var agent: SIPAgent?
    var sessions: [UInt64: CallSession] = [:]
    var guardian = SourceGuard()
    var pinGuard = PINGuard()
    private var nextPort: UInt16
    public private(set) var tickCount: UInt64 = 0

    public init(configuration: SIPConfiguration, dialplan: Dialplan, rooms: Rooms, context: MediaLoopContext,
                logger: Logger = Logger(label: "plenum.sip")) {
        self.configuration = configuration
        self.dialplan = dialplan
        self.rooms = rooms
        self.context = context
        self.logger = logger
        nextPort = configuration.rtpPortMin
        var limits = SourceGuard.Limits()
        limits.callsPerWindow = configuration.callsPerSourcePer10Seconds
        guardian = SourceGuard(limits: limits)
        // A caller's own controls (the hang-up key) reach its call, in every room.
        rooms.conferenceCreated.append { [weak self] conference in
            conference.observers.append { [weak self] event in
                guard case .hangupRequested(let memberID) = event else { return }
                self?.sessions.values.first { $0.member?.id == memberID }?.hangup()
            }
        }
    }

    public var activeCalls: Int { sessions.count }

    /// Whether a caller may enter a room now (the meetings' guest policies): asked before each join.
    public enum Admission: Sendable { case admit, wait, deny }
    public var admission: ((_ room: String, _ call: UInt64, _ displayName: String) -> Admission)?
    /// A waiting caller hung up before anybody decided.
    public var admissionCancelled: ((_ room: String, _ call: UInt64) -> Void)?

    /// A moderator let a waiting caller in, or not.
    public func decide(call: UInt64, admit: Bool) {
        sessions[call]?.decide(admit: admit)
    }

    /// A member was moved to another room's conference (breakout rooms): its call follows.
    public func moved(memberID: Int, to room: String) {
        guard let session = sessions.values.first(where: { $0.member?.id == memberID }), let conference = context.conferences[room]
        else { return }
        session.moved(to: conference, room: room)
    }

    public func isPhone(memberID: Int) -> Bool { sessions.values.contains { $0.member?.id == memberID } }

    /// New rules and rooms for the calls that come next; calls in progress keep what they started with.
    public func reload(dialplan: Dialplan) {
        self.dialplan = dialplan
        logger.notice("dialplan reloaded", metadata: ["contexts": "\(dialplan.contexts.count)", "calls": "\(sessions.count)"])
    }

    // MARK: Media loop hook

    public func beforeTick() {
        for session in sessions.values { session.leg?.drain() }
    }

    public func afterTick() {
        tickCount &+= 1
        for session in sessions.values {
            session.step()
            session.checkMedia()
        }
    }

    // MARK: SIP events

    public func handle(_ event: SIPEvent) {
        switch event.kind {
        case .invite:
            if event.isReinvite {
                sessions[event.call]?.reinvite(event)
            } else {
                newCall(event)
            }
        case .active:
            sessions[event.call]?.established = true
        case .sourceDropped:
            logger.warning("source dropped: flooding", metadata: ["source": "\(LogPrivacy.tag(event.sourceAddress))", "seconds": "\(event.status)"])
        case .info:
            guard let session = sessions[event.call] else { return }
            for digit in Self.digits(fromInfo: event.body, contentType: event.contentType) { session.receive(digit: digit) }
        case .cancelled, .bye, .terminated:
            if let session = sessions.removeValue(forKey: event.call) {
                session.end()
                logger.info("call ended", metadata: ["call": "\(event.call)", "why": "\(event.kind)"])
            }
        }
    }

    /// How long the kernel drops a source that goes on calling while banned.
    static let floodDropSeconds = 60

    private func newCall(_ event: SIPEvent) {
        if SourceGuard.isScanner(userAgent: event.userAgent) {
            logger.notice("scanner refused", metadata: ["source": "\(LogPrivacy.tag(event.sourceAddress))", "agent": "\(event.userAgent)"])
            agent?.respond(to: event.call, status: 403, phrase: "Forbidden")
            return
        }
        let trusted = configuration.trustedSources.contains(event.sourceAddress)
        switch trusted ? .allow : guardian.admit(event.sourceAddress, now: tickCount) {
        case .allow: break
        case .banned:
            // Still calling while banned: the kernel drops it for a while (no transaction, no answer).
            agent?.respond(to: event.call, status: 403, phrase: "Forbidden")
            agent?.drop(source: event.sourceAddress, seconds: Self.floodDropSeconds)
            return
        case .rateLimited:
            logger.warning("source banned: too many calls", metadata: ["source": "\(LogPrivacy.tag(event.sourceAddress))"])
            agent?.respond(to: event.call, status: 503, phrase: "Service Unavailable")
            return
        }
        if tickCount % 3000 == 0 { guardian.prune(now: tickCount) }
        if let limit = callLimitReached(source: event.sourceAddress, trusted: trusted) {
            logOnce("calls refused: \(limit)", metadata: limit == "per-source limit" ? ["source": "\(LogPrivacy.tag(event.sourceAddress))"] : [:])
            agent?.respond(to: event.call, status: 503, phrase: "Service Unavailable")
            return
        }
        let offer: AudioOffer
        do {
            offer = try AudioOffer(parsing: event.body)
        } catch {
            logger.notice("INVITE refused", metadata: ["call": "\(event.call)", "why": "\(error)"])
            agent?.respond(to: event.call, status: 488, phrase: "Not Acceptable Here")
            return
        }
        guard offer.port > 0, var negotiation = Negotiation.choose(from: offer) else {
            agent?.respond(to: event.call, status: 488, phrase: "Not Acceptable Here")
            return
        }
        let destination: SocketAddress?
        switch Self.mediaDestination(of: offer) {
        case .success(let address): destination = address
        case .failure(let refusal):
            logger.notice("INVITE refused", metadata: ["call": "\(event.call)", "why": "\(refusal)"])
            agent?.respond(to: event.call, status: 488, phrase: "Not Acceptable Here")
            return
        }
        switch offer.transport.uppercased() {
        case "RTP/AVP", "RTP/AVPF":
            break
        case "RTP/SAVP", "RTP/SAVPF":
            // SDES keys travel in the SDP: secret only when the signalling is (TLS). Over UDP or TCP
            // they would be readable by anyone on the path, so such an offer is refused (issue 3).
            guard event.isSecure, let crypto = SDESCrypto.choose(from: offer.crypto) else {
                logger.notice("SRTP offer refused", metadata: ["call": "\(event.call)", "tls": "\(event.isSecure)"])
                agent?.respond(to: event.call, status: 488, phrase: "Not Acceptable Here")
                return
            }
            negotiation.remoteCrypto = crypto
            negotiation.localCrypto = crypto.answer()
        default:
            agent?.respond(to: event.call, status: 488, phrase: "Not Acceptable Here")
            return
        }
        let caller = event.fromUser.isEmpty ? "anonymous" : event.fromUser
        let context = event.authenticatedUser != nil ? (configuration.authentication?.context ?? configuration.context)
            : configuration.context
        guard let match = dialplan.match(context: context, destination: event.requestUser, caller: caller,
                                         source: event.sourceAddress) else {
            if configuration.authentication != nil, event.authenticatedUser == nil {
                agent?.challenge(event.call)  // perhaps one of our own phones: ask who it is
            } else {
                agent?.respond(to: event.call, status: 404, phrase: "Not Found")
            }
            return
        }
        guard let (socket, rtcpSocket) = openMediaSockets() else {
            agent?.respond(to: event.call, status: 503, phrase: "Service Unavailable")
            return
        }
        let leg = RTPLeg(
            socket: socket, rtcpSocket: rtcpSocket,
            codecs: .init(payloadType: negotiation.payloadType, codec: negotiation.codec, telephoneEvent: negotiation.telephoneEvent),
            remote: destination)
        leg.sending = false
        if let remote = negotiation.remoteCrypto, let local = negotiation.localCrypto {
            do {
                try leg.secure(
                    inbound: SRTPSession(profile: remote.profile, keyingMaterial: remote.keyingMaterial, direction: .inbound),
                    outbound: SRTPSession(profile: local.profile, keyingMaterial: local.keyingMaterial, direction: .outbound))
            } catch {
                agent?.respond(to: event.call, status: 488, phrase: "Not Acceptable Here")
                return
            }
        }
        let masked = Self.masked(caller)
        // A display name that is just a number would show the whole number: mask it too.
        let display = DisplayName.clean(event.fromDisplay) ?? ""
        let isNumber = !display.isEmpty && display.allSatisfy { $0.isNumber || "+-() /".contains($0) }
        let displayName = display.isEmpty || isNumber ? "Phone \(masked)" : display
        let session = CallSession(
            id: event.call, source: event.sourceAddress, manager: self, leg: leg, negotiation: negotiation, offerDirection: offer.direction,
            actions: match.rule.actions, variables: match.variables, displayName: displayName, maskedCaller: masked)
        sessions[event.call] = session
        logger.info("call", metadata: [
            "call": "\(event.call)", "to": "\(event.requestUser)", "from": "\(Self.masked(caller))", "rule": "\(match.rule.name)",
            "codec": "\(negotiation.codec.kind)", "rtp": "\(socket.port)", "rtcp": "\(rtcpSocket.port)",
            "srtp": "\(negotiation.localCrypto?.profile.rawValue ?? "none")", "tls": "\(event.isSecure)",
            "user": "\(event.authenticatedUser ?? "-")", "context": "\(context)",
        ])
        session.step()
    }

    /// Why a new call from `source` must wait, if it must.
    /// New-call budget of the whole server (see `maxNewCallsPerSecond`: bursts of twice that), full at start.
    private lazy var newCallRate = RateLimiter<Int>(
        burst: 2 * Double(max(1, configuration.maxNewCallsPerSecond)), perSecond: Double(max(1, configuration.maxNewCallsPerSecond)))

    private func callLimitReached(source: String, trusted: Bool) -> String? {
        if sessions.count >= configuration.maxCalls { return "server limit" }
        guard newCallRate.allow(0, now: Double(tickCount) / 50) else { return "new-call rate" }
        if !trusted, sessions.values.count(where: { $0.source == source }) >= configuration.maxCallsPerSource {
            return "per-source limit"
        }
        return nil
    }

    /// The last tick each refusal was logged at: a flood is logged once a minute, not once a packet.
    private var lastLogged: [String: UInt64] = [:]

    func logOnce(_ message: String, metadata: Logger.Metadata = [:]) {
        if let last = lastLogged[message], tickCount - last < 60 * 50 { return }
        lastLogged[message] = tickCount
        logger.warning("\(message)", metadata: metadata)
    }

    public struct RefusedDestination: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Where an offer says RTP should go, checked: a numeric unicast address and a port in range
    /// (never a hostname: resolving a caller's name would let it steer our resolver). nil for the old
    /// form of hold, c=0.0.0.0 (RFC 3264 §8.4), where nothing is sent. Even a valid address is only
    /// a hint: the leg latches to where media actually comes from (`RTPLeg.latchesToSource`).
    public static func mediaDestination(of offer: AudioOffer) -> Result<SocketAddress?, RefusedDestination> {
        if offer.address == "0.0.0.0" { return .success(nil) }
        guard let address = SocketAddress(host: offer.address, port: offer.port) else {
            return .failure(RefusedDestination(description: "connection address is not a numeric IP address"))
        }
        guard address.isUnicastDestination else {
            return .failure(RefusedDestination(description: "connection address is not unicast (multicast, broadcast or unspecified)"))
        }
        return .success(address)
    }

    /// A caller's number for others to see: its last 4 digits only (GDPR data minimisation).
    static func masked(_ caller: String) -> String {
        let digits = caller.filter(\.isNumber)
        return digits.count < 3 ? "•••" : "••• \(digits.suffix(4))"
    }

    /// An even RTP port and the RTCP port above it (RFC 3550 §11), from the configured range.
    private func openMediaSockets() -> (UDPSocket, UDPSocket)? {
        let span = Int(configuration.rtpPortMax - configuration.rtpPortMin) / 2 + 1
        for _ in 0..<span {
            let port = nextPort & ~1
            nextPort = nextPort + 2 > configuration.rtpPortMax ? configuration.rtpPortMin : nextPort + 2
            guard let rtp = try? UDPSocket(address: configuration.mediaAddress, port: port),
                let rtcp = try? UDPSocket(address: configuration.mediaAddress, port: port + 1)
            else { continue }
            return (rtp, rtcp)
        }
        return nil
    }

    /// Digits from a SIP INFO body: `application/dtmf-relay` ("Signal=5\r\nDuration=160") or `application/dtmf` ("5").
    public static func digits(fromInfo body: String, contentType: String) -> [Character] {
        let type = contentType.lowercased()
        var text = ""
        if type == "application/dtmf-relay" {
            for line in body.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "signal" {
                    text = parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        } else if type == "application/dtmf" {
            text = body.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard text.count == 1, let digit = text.first, "0123456789*#ABCDabcd".contains(digit) else { return [] }
        return [Character(digit.uppercased())]
    }
}
