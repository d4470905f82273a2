import PlenumAudio
import PlenumICE
import PlenumMedia
import PlenumRTP
import PlenumSDP

#if canImport(Glibc)
import Glibc
#endif

/// One browser's media on the shared UDP port: ICE-lite checks, then DTLS from the nominated address
/// only, then SRTP into its RTP leg (RFC 8829/8834 in their audio-only essentials). Loop-confined.
public final class WebRTCSession {
    /// Replaced on an ICE restart (RFC 8445 §9): new credentials, while DTLS and SRTP carry on.
    public private(set) var ice: ICELiteAgent
    public let dtls: DTLSTransport
    public let leg: RTPLeg
    public private(set) var established = false
    public private(set) var failure: String?
    /// Where the DTLS handshake runs (the checked address it came from, and the socket), and when
    /// OpenSSL's retransmission timer is due, in the loop's milliseconds.
    private var handshakePeer: (address: SocketAddress, socket: UDPSocket)?
    private var handshakeDeadline: UInt64?

    public struct Offer: Sendable {
        public var offer: AudioOffer
        public init(_ offer: AudioOffer) { self.offer = offer }
    }

    public enum SetupError: Error, Equatable, CustomStringConvertible {
        case notWebRTC(String)
        case fingerprintChanged
        public var description: String {
            switch self {
            case .notWebRTC(let why): "not a WebRTC audio offer: \(why)"
            case .fingerprintChanged: "a new DTLS certificate needs a new join"
            }
        }
    }

    /// Accepts a browser's offer: Opus, ICE credentials, a SHA-256 fingerprint and BUNDLE/rtcp-mux.
    public init(offer: AudioOffer, context: DTLSContext, socket: UDPSocket, now: UInt64 = 0) throws(SetupError) {
        guard offer.transport.uppercased().hasPrefix("UDP/TLS/RTP/SAVP") else { throw .notWebRTC("transport \(offer.transport)") }
        guard !offer.iceUsernameFragment.isEmpty, !offer.icePassword.isEmpty else { throw .notWebRTC("no ICE credentials") }
        let parts = offer.fingerprint.split(separator: " ")
        guard parts.count == 2, parts[0].lowercased() == "sha-256" else { throw .notWebRTC("no sha-256 fingerprint") }
        guard offer.setup != "passive" else { throw .notWebRTC("a=setup:passive leaves nobody to start DTLS") }
        guard let opus = offer.formats.first(where: { $0.encoding.lowercased() == "opus" && $0.clockRate == 48_000 }) else {
            throw .notWebRTC("no Opus")
        }
        guard let dtls = DTLSTransport(context: context, isServer: true, expectedFingerprint: String(parts[1])) else {
            throw .notWebRTC("DTLS unavailable")
        }
        ice = ICELiteAgent(remote: ICECredentials(usernameFragment: offer.iceUsernameFragment, password: offer.icePassword), now: now)
        self.dtls = dtls
        let codec = CodecConfiguration(kind: .opus)
        let events = offer.formats.first { $0.encoding.lowercased() == "telephone-event" && $0.clockRate == 48_000 }
        leg = RTPLeg(socket: socket, codecs: .init(
            payloadType: opus.payloadType, codec: codec, telephoneEvent: events?.payloadType,
            audioLevelExtension: offer.audioLevelExtension), remote: nil)
        leg.sending = false
        leg.latchesToSource = false
        self.offer = offer
    }

    private(set) var offer: AudioOffer

    /// The answer's direction mirrors the offer's (RFC 3264 §6.1): a listen-only browser (recvonly)
    /// gets sendonly.
    var answerDirection: String {
        switch offer.direction {
        case .recvonly: "sendonly"
        case .sendonly: "recvonly"
        case .inactive: "inactive"
        default: "sendrecv"
        }
    }

    /// An ICE restart (RFC 8445 §9, RFC 8829 §5.2.1): the browser's network changed or its checks
    /// failed, so it sends an offer with new ICE credentials. Media pauses until the new pair is
    /// nominated; the DTLS association and SRTP keys stay (same certificate), so no new join.
    public func restartICE(offer newOffer: AudioOffer, now: UInt64) throws(SetupError) {
        guard !newOffer.iceUsernameFragment.isEmpty, !newOffer.icePassword.isEmpty else { throw .notWebRTC("no ICE credentials") }
        guard newOffer.fingerprint.lowercased() == offer.fingerprint.lowercased() else { throw .fingerprintChanged }
        let remote = ICECredentials(usernameFragment: newOffer.iceUsernameFragment, password: newOffer.icePassword)
        if remote == ice.remote { return }  // a renegotiation without restart: the same agent goes on
        ice = ICELiteAgent(remote: remote, now: now)
        offer = newOffer
    }

    /// Our answer (RFC 8829 §5.3): ICE-lite, passive DTLS, a host candidate per address of the shared
    /// port (IPv4 and IPv6, RFC 8445 §5.1.1.1), Opus with FEC.
    public func answer(addresses: [SocketAddress], fingerprint: String, sessionID: UInt64) -> String {
        let pt = leg.codecs.payloadType
        var formats = "\(pt)"
        if let te = leg.codecs.telephoneEvent { formats += " \(te)" }
        let mid = offer.mid.isEmpty ? "0" : offer.mid
        let first = addresses.first ?? SocketAddress(ipv4: 0x7F00_0001, port: 9)
        var lines = [
            "v=0", "o=- \(sessionID) 1 IN \(first.sdpAddressType) \(first.host)", "s=Plenum", "t=0 0", "a=group:BUNDLE \(mid)",
            "a=ice-lite", "a=msid-semantic: WMS plenum",
            "m=audio \(first.port) UDP/TLS/RTP/SAVPF \(formats)", "c=IN \(first.sdpAddressType) \(first.host)",
            "a=ice-ufrag:\(ice.local.usernameFragment)", "a=ice-pwd:\(ice.local.password)",
            "a=fingerprint:sha-256 \(fingerprint)", "a=setup:passive", "a=mid:\(mid)", "a=\(answerDirection)", "a=rtcp-mux",
            "a=rtpmap:\(pt) opus/48000/2", "a=fmtp:\(pt) minptime=10;useinbandfec=1",
        ]
        if let te = leg.codecs.telephoneEvent { lines += ["a=rtpmap:\(te) telephone-event/48000", "a=fmtp:\(te) 0-15"] }
        if let ext = leg.codecs.audioLevelExtension { lines.append("a=extmap:\(ext) urn:ietf:params:rtp-hdrext:ssrc-audio-level") }
        lines += [
            "a=ssrc:\(leg.ssrc) cname:plenum", "a=msid:plenum audio",
        ]
        // RFC 8445 §5.1.2.1: type preference 126 for host, local preference ordering the families.
        for (index, address) in addresses.enumerated() {
            let priority = (126 << 24) | ((65_535 - index) << 8) | 255
            lines.append("a=candidate:\(index + 1) 1 udp \(priority) \(address.host) \(address.port) typ host")
        }
        lines.append("a=end-of-candidates")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A datagram for this session (found by ICE username or by its nominated address), read from
    /// `socket` (one of the shared port's sockets, one per address family).
    func receive(_ buffer: UnsafeMutableRawBufferPointer, length: Int, from source: SocketAddress, via socket: UDPSocket,
                 now: UInt64, scratch: UnsafeMutableRawBufferPointer) {
        let datagram = UnsafeRawBufferPointer(rebasing: buffer[..<length])
        let endpoint = Endpoint(source)
        switch PacketClass(classifying: datagram) {
        case .stun:
            if case .respond(let n) = ice.handle(datagram, from: endpoint, now: now, response: scratch) {
                socket.send(UnsafeRawBufferPointer(rebasing: scratch[..<n]), to: source)
            }
            // The browser nominated another pair after the handshake (its network changed): media follows.
            if established, let selected = ice.selected.map(SocketAddress.init), selected != leg.remote {
                leg.update(remote: selected, socket: socket)
            }
        case .dtls:
            // DTLS only from an address that passed an ICE check (issue 4: "DTLS from a foreign address").
            guard ice.validated.contains(endpoint) else { return }
            handshakePeer = (source, socket)
            for reply in dtls.receive(datagram) { _ = reply.withUnsafeBytes { socket.send($0, to: source) } }
            handshakeDeadline = dtls.timeout.map { now + UInt64($0) }
            if !established, dtls.state == .connected {
                do {
                    let (inbound, outbound) = try dtls.srtpSessions()
                    leg.secure(inbound: inbound, outbound: outbound)
                    leg.update(remote: ice.selected.map(SocketAddress.init) ?? source, socket: socket)
                    leg.sending = true
                    established = true
                } catch {
                    failure = "SRTP keys: \(error)"
                }
            } else if case .failed(let why) = dtls.state {
                failure = why
            }
        case .rtp, .rtcp:
            guard established, let selected = ice.selected, selected == endpoint else { return }
            leg.receive(buffer, length: length, from: source)
        case .unknown:
            return
        }
    }
}

extension WebRTCSession {
    /// Resends our last handshake flight when OpenSSL's timer says it was lost (RFC 6347 §4.2.4): the
    /// browser waits for it, and a lost ServerHello would otherwise be recovered only if the browser
    /// retransmits (issue 13). Called every tick while the session is handshaking.
    func checkHandshakeTimer(now: UInt64) {
        guard !established, failure == nil, let deadline = handshakeDeadline, now >= deadline, let peer = handshakePeer else { return }
        for datagram in dtls.onTimeout() { _ = datagram.withUnsafeBytes { peer.socket.send($0, to: peer.address) } }
        handshakeDeadline = dtls.timeout.map { now + UInt64($0) }
        if case .failed(let why) = dtls.state { failure = why }
    }
}

extension Endpoint {
    init(_ address: SocketAddress) { self.init(high: address.high, low: address.low, port: address.port) }
}

extension SocketAddress {
    init(_ endpoint: Endpoint) { self.init(high: endpoint.high, low: endpoint.low, port: endpoint.port) }
}

/// All browsers on one UDP port (issue 4: easy firewalling), on each configured address (one socket per
/// address, IPv4 and IPv6, all with the same port number): datagrams go to their session by the
/// nominated 5-tuple, or, for a STUN check from a new address, by the ICE username. Drained before
/// each tick on the media loop.
public final class WebRTCPort {
    public let sockets: [UDPSocket]
    public let context: DTLSContext
    private var byFragment: [String: WebRTCSession] = [:]
    private var byEndpoint: [Endpoint: WebRTCSession] = [:]
    /// Sessions whose DTLS handshake is not done: their retransmission timers run.
    private var handshaking: [ObjectIdentifier: WebRTCSession] = [:]
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 16)
    public private(set) var unroutable = 0

    /// The addresses browsers reach the port on, for the answer's candidates.
    public var addresses: [SocketAddress] { sockets.map(\.address) }

    /// Binds `port` on every address in `addresses` (port 0: a free port, the same on all of them).
    public init(addresses: [String], port: UInt16, context: DTLSContext) throws {
        guard let first = addresses.first else { throw UDPSocket.Failure.badAddress("no address") }
        let primary = try UDPSocket(address: first, port: port)
        var sockets = [primary]
        for address in addresses.dropFirst() { sockets.append(try UDPSocket(address: address, port: primary.port)) }
        self.sockets = sockets
        self.context = context
    }

    public convenience init(address: String, port: UInt16, context: DTLSContext) throws {
        try self.init(addresses: [address], port: port, context: context)
    }

    deinit {
        buffer.deallocate()
        scratch.deallocate()
    }

    public func add(_ session: WebRTCSession) {
        byFragment[session.ice.local.usernameFragment] = session
        handshaking[ObjectIdentifier(session)] = session
    }

    /// After an ICE restart: the session answers to its new username only.
    public func reindex(_ session: WebRTCSession, previousFragment: String) {
        byFragment[previousFragment] = nil
        byFragment[session.ice.local.usernameFragment] = session
    }

    public func remove(_ session: WebRTCSession) {
        byFragment[session.ice.local.usernameFragment] = nil
        handshaking[ObjectIdentifier(session)] = nil
        for (endpoint, s) in byEndpoint where s === session { byEndpoint[endpoint] = nil }
    }

    /// Reads every waiting datagram on every socket and routes it.
    public func drain(now: UInt64) {
        var source = SocketAddress(ipv4: 0, port: 0)
        for socket in sockets {
            while let length = socket.receive(into: buffer, from: &source) {
                let datagram = UnsafeRawBufferPointer(rebasing: buffer[..<length])
                let endpoint = Endpoint(source)
                var session = byEndpoint[endpoint]
                if PacketClass(classifying: datagram) == .stun, let fragment = ICELiteAgent.localFragment(of: datagram) {
                    session = byFragment[fragment]
                }
                guard let session else {
                    unroutable += 1
                    continue
                }
                session.receive(buffer, length: length, from: source, via: socket, now: now, scratch: scratch)
                if session.ice.validated.contains(endpoint) { byEndpoint[endpoint] = session }
            }
        }
        for (id, session) in handshaking {
            if session.established || session.failure != nil {
                handshaking[id] = nil
            } else {
                session.checkHandshakeTimer(now: now)
            }
        }
    }
}
