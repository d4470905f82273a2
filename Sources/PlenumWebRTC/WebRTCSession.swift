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

    /// How the answer treats each of the offer's m-lines, in the offer's order (RFC 8829 §5.3.1).
    public enum Section: Sendable, Equatable {
        /// The audio stream, mixed in the conference (the first audio m-line).
        case audio(mid: String)
        /// A camera or screen the browser sends: received and forwarded to its subscribers.
        case receiveVideo(VideoReception)
        /// One of the browser's receive slots: somebody's video goes out on it (`stream`), or nothing
        /// for now (inactive, kept for the next camera: no unbounded m-line growth).
        case sendVideo(VideoSlot)
        /// Anything else (a second audio stream, data channels, video we cannot take): port 0.
        case rejected(kind: String, mid: String?, transport: String, format: String)
    }

    /// A video stream the browser publishes, as its offer describes it.
    public struct VideoReception: Sendable, Equatable {
        public var mid: String
        /// VP8, the codec every WebRTC browser has (RFC 7742); H.264 comes with the room codec choice.
        public var codec: SessionDescription.Codec
        /// The SSRCs the browser announced for it (media first; RTX ones are in `repairSSRCs`).
        public var ssrcs: [UInt32]
        public var repairSSRCs: [UInt32]
        /// The RFC 8843 MID header extension's id, when offered.
        public var midExtension: UInt8?
        public var reducedSize: Bool
    }

    /// A receive slot of the browser, as the answer describes it.
    public struct VideoSlot: Sendable, Equatable {
        public var mid: String
        /// The browser's VP8 payload type (forwarded packets are rewritten to it).
        public var payloadType: UInt8
        /// Ours, stable for the slot's life (announced with a=ssrc, so the browser demultiplexes by it).
        public var ssrc: UInt32
        /// The publication sent on it (`WebRTCManager`'s id), nil while inactive.
        public var stream: String?
        public var reducedSize: Bool
    }

    /// What arrived on a received video stream (the forwarding unit builds on these).
    public struct VideoCounters: Sendable, Equatable {
        public var packets = 0, bytes = 0, keyFrames = 0, unknownStream = 0
        /// Packets the browser NACKed on its slots, those sent again, those no longer at hand (or never
        /// sent from the slot's source), and those over the budget.
        public var nacked = 0, retransmitted = 0, missed = 0, overBudget = 0
        public init() {}
    }

    public private(set) var sections: [Section] = []
    public private(set) var videoCounters = VideoCounters()

    /// Accepts a browser's offer: Opus, ICE credentials, a SHA-256 fingerprint and BUNDLE/rtcp-mux.
    /// With `description` (the whole offer) the answer has a section for every m-line: audio, the
    /// videos it publishes (received), the rest rejected; without it, one audio m-line.
    public init(offer: AudioOffer, description: SessionDescription? = nil, context: DTLSContext, socket: UDPSocket,
                now: UInt64 = 0) throws(SetupError) {
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
        if let description { sections = Self.sections(for: description) }
        updateSlots()
        leg.onOtherPayload = { [unowned self] packet, datagram in self.receiveVideo(packet, datagram) }
        leg.onFeedback = { [unowned self] item in self.feedback(item) }
        leg.onLostPacket = { [unowned self] media, sequence in self.lost(media, sequence) }
    }

    /// The browser lost a packet of slot `mid`, sent as `sequence` (its NACK): the forwarding unit
    /// looks it up in the publisher's cache (`incomingSequence`) and sends it again (`retransmit`).
    public var onLostPacket: ((String, UInt16) -> Void)?

    /// Retransmissions left: 8 more each tick (400 a second), at most 200 at once. A NACK flood
    /// costs one lookup per named packet and nothing more.
    private var retransmitBudget = 200

    /// The media loop's tick: the retransmission budget refills.
    public func refillRetransmissions() { retransmitBudget = min(200, retransmitBudget + 8) }

    private func lost(_ media: UInt32, _ sequence: UInt16) {
        for (mid, slot) in slots where slot.ssrc == media {
            videoCounters.nacked += 1
            guard retransmitBudget > 0 else {
                videoCounters.overBudget += 1
                return
            }
            onLostPacket?(mid, sequence)
        }
    }

    /// The publisher's sequence number of the packet slot `mid` sent as `sequence`, if its source sent it.
    public func incomingSequence(onSlot mid: String, for sequence: UInt16) -> UInt16? {
        slots[mid]?.rewriter.incomingSequence(for: sequence)
    }

    /// Sends a publisher's packet (from the cache) on slot `mid` again, numbered as it was sent the
    /// first time; nil cache hits are counted as missed.
    public func retransmit(_ cached: UnsafeRawBufferPointer?, onSlot mid: String) {
        guard let cached, let packet = try? RTPPacket(parsing: cached), let slot = slots[mid],
            let out = slot.rewriter.resent(ssrc: packet.ssrc, sequence: packet.sequenceNumber, timestamp: packet.timestamp),
            established
        else {
            videoCounters.missed += 1
            return
        }
        let payload = UnsafeRawBufferPointer(rebasing: cached[packet.payloadRange])
        guard RTPPacket.headerSize + payload.count + SRTPSession.maxTrailerLength <= forwardBuffer.count else { return }
        RTPPacket.writeHeader(
            into: forwardBuffer, marker: packet.marker, payloadType: slot.payloadType, sequenceNumber: out.sequence,
            timestamp: out.timestamp, ssrc: slot.ssrc)
        UnsafeMutableRawBufferPointer(rebasing: forwardBuffer[RTPPacket.headerSize...]).copyMemory(from: payload)
        retransmitBudget -= 1
        if leg.sendProtected(forwardBuffer, length: RTPPacket.headerSize + payload.count, rtcp: false) { videoCounters.retransmitted += 1 }
    }

    /// A received video packet: the m-line's mid, the packet (decrypted, in place) and whether it starts
    /// a key frame. The forwarding unit sends it on to the subscribers.
    public var onVideo: ((String, RTPPacket, UnsafeRawBufferPointer, Bool) -> Void)?
    /// The browser asks for a key frame of what it receives on the slot `mid` (its PLI or FIR).
    public var onKeyFrameRequest: ((String) -> Void)?

    /// A renegotiation (RFC 8829 §5.2.2 in reverse: the browser offers again, the server answers): a
    /// camera started or stopped, a receive slot added, reused or freed. `subscriptions` names the
    /// stream each receive slot should carry (nil: none); slots not named keep theirs. The sections
    /// are recomputed; every slot keeps its SSRC. The answer follows from `answer`.
    public func renegotiate(_ description: SessionDescription, subscriptions: [String: String?]) throws(SetupError) {
        let offered = description.media.count
        guard offered >= sections.count else { throw .notWebRTC("a renegotiation removed m-lines") }
        guard let ufrag = description.media.first.flatMap({ description.value("ice-ufrag", of: $0) }), ufrag == ice.remote?.usernameFragment
        else { throw .notWebRTC("a renegotiation with other ICE credentials (restart ICE instead)") }
        var next = Self.sections(for: description, previous: sections)
        for index in next.indices {
            guard case .sendVideo(var slot) = next[index] else { continue }
            if let named = subscriptions[slot.mid] { slot.stream = named }
            next[index] = .sendVideo(slot)
        }
        sections = next
        updateSlots()
    }

    /// Slots whose named stream the forwarding unit does not carry (another room's camera, one's own,
    /// one the receiver may not see, one gone) are free in the next answer (inactive), whatever the
    /// browser asked for: the answer never names a stream that does not come.
    public func keepStreams(carried mids: Set<String>) {
        for index in sections.indices {
            guard case .sendVideo(var slot) = sections[index], slot.stream != nil, !mids.contains(slot.mid) else { continue }
            slot.stream = nil
            sections[index] = .sendVideo(slot)
        }
    }

    /// A receive slot's forwarding state. A class, so the per-packet path reads it from the dictionary
    /// and changes it in place (a struct in a dictionary is changed through a `_modify` coroutine, which
    /// allocated per call when measured, issue 13).
    final class Slot {
        let ssrc: UInt32
        var payloadType: UInt8
        var rewriter: RTPStreamRewriter
        init(_ slot: VideoSlot) {
            ssrc = slot.ssrc
            payloadType = slot.payloadType
            rewriter = RTPStreamRewriter(ssrc: slot.ssrc)
        }
    }

    /// The receive slots by mid: each keeps its outgoing stream continuous across sources.
    private var slots: [String: Slot] = [:]

    private func updateSlots() {
        for case .sendVideo(let slot) in sections {
            if let existing = slots[slot.mid] { existing.payloadType = slot.payloadType } else { slots[slot.mid] = Slot(slot) }
        }
    }
    private let forwardBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500 + SRTPSession.maxTrailerLength, alignment: 16)
    public private(set) var forwardedPackets = 0

    deinit { forwardBuffer.deallocate() }

    /// Starts sending `source` (a publisher's SSRC) on slot `mid` from its next key frame, or stops it.
    public func select(_ source: UInt32?, onSlot mid: String) {
        guard let slot = slots[mid] else { return }
        if let source { slot.rewriter.select(source) } else { slot.rewriter.clear() }
    }

    /// Whether slot `mid` waits for its source's key frame (the forwarding unit asks the publisher again).
    public func waitsForKeyFrame(onSlot mid: String) -> Bool { slots[mid]?.rewriter.waitsForKeyFrame ?? false }

    /// Sends a publisher's packet on slot `mid`: our SSRC, the slot's sequence and timestamp, the
    /// browser's payload type, no header extensions (their ids were the publisher's) and no CSRCs.
    /// Allocation-free; false when it was not sent (not the slot's source, before its key frame).
    @discardableResult
    public func forward(_ packet: RTPPacket, _ datagram: UnsafeRawBufferPointer, onSlot mid: String, startsKeyFrame: Bool) -> Bool {
        let payload = UnsafeRawBufferPointer(rebasing: datagram[packet.payloadRange])
        // Padding-only packets (the browser probing bandwidth) carry nothing for the subscriber.
        guard established, !payload.isEmpty, RTPPacket.headerSize + payload.count + SRTPSession.maxTrailerLength <= forwardBuffer.count,
            let slot = slots[mid],
            let out = slot.rewriter.rewrite(ssrc: packet.ssrc, sequence: packet.sequenceNumber, timestamp: packet.timestamp,
                                            startsKeyFrame: startsKeyFrame)
        else { return false }
        RTPPacket.writeHeader(
            into: forwardBuffer, marker: packet.marker, payloadType: slot.payloadType, sequenceNumber: out.sequence,
            timestamp: out.timestamp, ssrc: slot.ssrc)
        UnsafeMutableRawBufferPointer(rebasing: forwardBuffer[RTPPacket.headerSize...]).copyMemory(from: payload)
        guard leg.sendProtected(forwardBuffer, length: RTPPacket.headerSize + payload.count, rtcp: false) else { return false }
        forwardedPackets += 1
        return true
    }

    /// Asks the browser for a key frame of the stream it sends as `ssrc` (RFC 4585 §6.3.1 PLI).
    public func requestKeyFrame(of ssrc: UInt32) {
        guard established else { return }
        let length = RTCP.writePictureLossIndication(into: forwardBuffer, sender: leg.ssrc, media: ssrc)
        leg.sendProtected(forwardBuffer, length: length, rtcp: true)
    }

    private func feedback(_ item: RTCP.Item) {
        let media: UInt32
        switch item {
        case .pictureLossIndication(_, let ssrc), .fullIntraRequest(_, let ssrc): media = ssrc
        default: return
        }
        for case .sendVideo(let slot) in sections where slot.ssrc == media { onKeyFrameRequest?(slot.mid) }
    }

    /// One answer section per offered m-line: the first audio one is the conference's; a video one
    /// the browser sends on (sendrecv or sendonly, VP8 offered) is received; everything else is
    /// rejected (port 0), as JSEP allows (RFC 8829 §5.3.1).
    /// The mids of the cameras an offer publishes (the video m-lines it sends on that Plenum takes).
    public static func publishedVideo(in description: SessionDescription) -> Set<String> {
        var mids: Set<String> = []
        for case .receiveVideo(let video) in sections(for: description) { mids.insert(video.mid) }
        return mids
    }

    static func sections(for description: SessionDescription, previous: [Section] = []) -> [Section] {
        var audioTaken = false
        return description.media.enumerated().map { index, media in
            let mid = media.mid ?? "\(index)"
            let rejected = Section.rejected(kind: media.kind, mid: media.mid, transport: media.transport, format: media.formats.first ?? "0")
            guard media.port != 0 else { return rejected }
            switch media.kind {
            case "audio" where !audioTaken:
                audioTaken = true
                return .audio(mid: mid)
            case "video" where media.direction == .sendrecv || media.direction == .sendonly:
                guard let vp8 = media.codecs.first(where: { $0.name.lowercased() == "vp8" && $0.clockRate == 90_000 }) else { return rejected }
                let repair = Set(media.retransmissionGroups.map(\.repair))
                return .receiveVideo(VideoReception(
                    mid: mid, codec: vp8, ssrcs: media.ssrcs.filter { !repair.contains($0) }, repairSSRCs: Array(repair).sorted(),
                    midExtension: media.extensions["urn:ietf:params:rtp-hdrext:sdes:mid"], reducedSize: media.has("rtcp-rsize")))
            case "video" where media.direction == .recvonly:
                guard let vp8 = media.codecs.first(where: { $0.name.lowercased() == "vp8" && $0.clockRate == 90_000 }) else { return rejected }
                let kept = previous.indices.contains(index) ? previous[index] : nil
                if case .sendVideo(let slot)? = kept, slot.mid == mid {
                    return .sendVideo(VideoSlot(mid: mid, payloadType: vp8.payloadType, ssrc: slot.ssrc, stream: slot.stream,
                                                reducedSize: media.has("rtcp-rsize")))
                }
                return .sendVideo(VideoSlot(mid: mid, payloadType: vp8.payloadType, ssrc: .random(in: 1...UInt32.max), stream: nil,
                                            reducedSize: media.has("rtcp-rsize")))
            default:
                return rejected
            }
        }
    }

    /// A packet of another payload type than the audio's, decrypted: a received video stream's, by its
    /// payload type (the MID extension and SSRCs come in with forwarding). Counted; nothing else yet.
    private func receiveVideo(_ packet: RTPPacket, _ datagram: UnsafeRawBufferPointer) -> Bool {
        // The stream by its announced SSRC; a browser that announced none is matched by payload type.
        var found: VideoReception?
        for case .receiveVideo(let video) in sections where video.codec.payloadType == packet.payloadType {
            if video.ssrcs.contains(packet.ssrc) {
                found = video
                break
            }
            if video.ssrcs.isEmpty, found == nil { found = video }
        }
        guard let video = found else {
            videoCounters.unknownStream += 1
            return false
        }
        videoCounters.packets += 1
        videoCounters.bytes += datagram.count
        let keyFrame = VP8.isKeyFrameStart(UnsafeRawBufferPointer(rebasing: datagram[packet.payloadRange]))
        if keyFrame { videoCounters.keyFrames += 1 }
        onVideo?(video.mid, packet, datagram, keyFrame)
        return true
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
        let first = addresses.first ?? SocketAddress(ipv4: 0x7F00_0001, port: 9)
        let sections = sections.isEmpty ? [.audio(mid: offer.mid.isEmpty ? "0" : offer.mid)] : sections
        let bundle = sections.compactMap { section -> String? in
            switch section {
            case .audio(let mid): mid
            case .receiveVideo(let video): video.mid
            case .sendVideo(let slot): slot.mid
            case .rejected: nil
            }
        }
        var lines = [
            "v=0", "o=- \(sessionID) 1 IN \(first.sdpAddressType) \(first.host)", "s=Plenum", "t=0 0",
            "a=group:BUNDLE \(bundle.joined(separator: " "))", "a=ice-lite", "a=msid-semantic: WMS plenum",
        ]
        // The transport's attributes on every accepted section (RFC 8843 §7.1.3 would allow them on the
        // first only; browsers take both, and a section read alone stays complete).
        let transport = [
            "c=IN \(first.sdpAddressType) \(first.host)", "a=ice-ufrag:\(ice.local.usernameFragment)", "a=ice-pwd:\(ice.local.password)",
            "a=fingerprint:sha-256 \(fingerprint)", "a=setup:passive",
        ]
        // RFC 8445 §5.1.2.1: type preference 126 for host, local preference ordering the families.
        var candidates = addresses.enumerated().map { index, address in
            "a=candidate:\(index + 1) 1 udp \((126 << 24) | ((65_535 - index) << 8) | 255) \(address.host) \(address.port) typ host"
        }
        candidates.append("a=end-of-candidates")
        for section in sections {
            switch section {
            case .audio(let mid):
                let pt = leg.codecs.payloadType
                var formats = "\(pt)"
                if let te = leg.codecs.telephoneEvent { formats += " \(te)" }
                lines += ["m=audio \(first.port) UDP/TLS/RTP/SAVPF \(formats)"] + transport + [
                    "a=mid:\(mid)", "a=\(answerDirection)", "a=rtcp-mux", "a=rtpmap:\(pt) opus/48000/2", "a=fmtp:\(pt) minptime=10;useinbandfec=1",
                ]
                if let te = leg.codecs.telephoneEvent { lines += ["a=rtpmap:\(te) telephone-event/48000", "a=fmtp:\(te) 0-15"] }
                if let ext = leg.codecs.audioLevelExtension { lines.append("a=extmap:\(ext) urn:ietf:params:rtp-hdrext:ssrc-audio-level") }
                lines += ["a=ssrc:\(leg.ssrc) cname:plenum", "a=msid:plenum audio"] + candidates
            case .receiveVideo(let video):
                let pt = video.codec.payloadType
                lines += ["m=video \(first.port) UDP/TLS/RTP/SAVPF \(pt)"] + transport + [
                    "a=mid:\(video.mid)", "a=recvonly", "a=rtcp-mux",
                ]
                if video.reducedSize { lines.append("a=rtcp-rsize") }
                // Loss is repaired by keyframes for now (PLI, FIR); NACK with RTX comes with forwarding.
                lines += ["a=rtpmap:\(pt) VP8/90000", "a=rtcp-fb:\(pt) nack pli", "a=rtcp-fb:\(pt) ccm fir"]
                if let ext = video.midExtension { lines.append("a=extmap:\(ext) urn:ietf:params:rtp-hdrext:sdes:mid") }
                lines += candidates
            case .sendVideo(let slot):
                let pt = slot.payloadType
                lines += ["m=video \(first.port) UDP/TLS/RTP/SAVPF \(pt)"] + transport + [
                    "a=mid:\(slot.mid)", slot.stream == nil ? "a=inactive" : "a=sendonly", "a=rtcp-mux",
                ]
                if slot.reducedSize { lines.append("a=rtcp-rsize") }
                lines += ["a=rtpmap:\(pt) VP8/90000", "a=rtcp-fb:\(pt) nack pli", "a=rtcp-fb:\(pt) ccm fir"]
                // No header extensions: forwarded packets carry none. The browser finds the stream by SSRC.
                lines.append("a=ssrc:\(slot.ssrc) cname:plenum")
                if let stream = slot.stream { lines += ["a=msid:\(stream) \(stream)-video", "a=ssrc:\(slot.ssrc) msid:\(stream) \(stream)-video"] }
                lines += candidates
            case .rejected(let kind, let mid, let transport, let format):
                lines.append("m=\(kind) 0 \(transport) \(format)")
                lines.append("c=IN \(first.sdpAddressType) \(first.host)")
                if let mid { lines.append("a=mid:\(mid)") }
                lines.append("a=inactive")
            }
        }
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
