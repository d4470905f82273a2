import PlenumAudio
import PlenumBridge
import PlenumRTP

#if canImport(Glibc)
import Glibc
#endif

/// A conference member reached over RTP (a SIP phone; the WebRTC leg adds ICE and DTLS in front).
/// Reads its socket once per tick, hands audio to its member and digits to `onDigit`, and sends the
/// member's frames with its own SSRC, sequence numbers and timestamps.
public final class RTPLeg: MemberOutput {
    public struct Codecs: Sendable {
        /// The audio payload type and codec the peer sends and receives (one, from offer/answer).
        public var payloadType: UInt8
        public var codec: CodecConfiguration
        /// RFC 4733 telephone-event payload type, if negotiated.
        public var telephoneEvent: UInt8?
        /// RFC 6464 header extension id, if negotiated.
        public var audioLevelExtension: UInt8?
        public init(payloadType: UInt8, codec: CodecConfiguration, telephoneEvent: UInt8? = nil, audioLevelExtension: UInt8? = nil) {
            self.payloadType = payloadType
            self.codec = codec
            self.telephoneEvent = telephoneEvent
            self.audioLevelExtension = audioLevelExtension
        }
    }

    public struct Counters: Sendable, Equatable {
        public var received = 0, sent = 0, malformed = 0, foreign = 0, unknownPayloadType = 0, rtcp = 0, digits = 0
        public var reportsSent = 0
        /// SRTP packets that failed authentication or replay checks (dropped, never the end of a call).
        public var unauthenticated = 0
        public init() {}
    }

    /// The socket it sends from (a WebRTC leg moves to the socket of the address family ICE chose).
    public private(set) var socket: UDPSocket
    /// RTCP's own socket (the RTP port + 1) when the peer does not multiplex RTCP (RFC 5761).
    public let rtcpSocket: UDPSocket?
    public private(set) var rtcpRemote: SocketAddress?
    /// Loss the far end reports for our stream (RTCP fraction lost, in 1/256), for encoder choices.
    public private(set) var remoteFractionLost: UInt8 = 0
    public private(set) var codecs: Codecs
    public private(set) var remote: SocketAddress?
    /// Whether the remote address follows where packets come from (symmetric RTP, RFC 4961, for phones
    /// behind NAT). Such a leg sends nothing before the first valid packet arrived and then only to its
    /// source: the address an SDP names is never trusted as a destination, or any INVITE could aim the
    /// server's media at a third party (reflection and amplification, issue 11). A WebRTC leg turns this
    /// off: ICE has already proven its address.
    public var latchesToSource = true
    public weak var member: Member?
    public var onDigit: ((Character) -> Void)?
    /// A decrypted RTP packet of another payload type than the audio's (a browser's camera on the same
    /// BUNDLEd transport): true when it was taken, otherwise it counts as an unknown payload type.
    public var onOtherPayload: ((RTPPacket, UnsafeRawBufferPointer) -> Bool)?
    /// Each RTCP item that arrived (a subscriber's picture loss indication for the video it receives).
    public var onFeedback: ((RTCP.Item) -> Void)?
    /// Each packet a receiver's generic NACK asks for again: the media SSRC and its sequence number.
    public var onLostPacket: ((UInt32, UInt16) -> Void)?
    /// Sending is paused (the call is on hold, or not answered yet).
    public var sending = true
    public private(set) var counters = Counters()

    /// Our SSRC for this leg's stream (for a=ssrc in SDP).
    public let ssrc: UInt32
    private var sequence: UInt16
    private let timestampOffset: UInt32
    private var statistics = ReceptionStatistics()
    private var digits = TelephoneEventReceiver()
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    private let sendBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 9000, alignment: 16)
    private var latched = false
    private var rtcpLatched = false
    private var srtpIn: SRTPSession?
    private var srtpOut: SRTPSession?
    private var remoteSSRC: UInt32?
    private var octetsSent: UInt32 = 0
    private var lastReportTick: UInt64 = 0
    /// RTCP every 5 s (RFC 3550 §6.2's minimum interval for a two-party session).
    static let reportIntervalTicks: UInt64 = 250

    public init(socket: UDPSocket, rtcpSocket: UDPSocket? = nil, codecs: Codecs, remote: SocketAddress?) {
        self.socket = socket
        self.rtcpSocket = rtcpSocket
        self.codecs = codecs
        self.remote = remote
        if let remote, rtcpSocket != nil { rtcpRemote = remote.with(port: remote.port &+ 1) }
        var rng = SystemRandomNumberGenerator()
        ssrc = rng.next()
        sequence = rng.next()
        timestampOffset = rng.next()
    }

    deinit {
        buffer.deallocate()
        sendBuffer.deallocate()
    }

    /// Encrypts the leg with SRTP from now on (keys from SDES or DTLS): packets that do not
    /// authenticate are dropped and counted.
    public func secure(inbound: SRTPSession, outbound: SRTPSession) {
        srtpIn = inbound
        srtpOut = outbound
    }

    public var isSecure: Bool { srtpIn != nil }

    /// A re-INVITE changed the far end's address (or put it on hold). `socket` replaces the one the
    /// leg sends from (WebRTC: the one whose address family ICE selected).
    public func update(remote: SocketAddress?, socket: UDPSocket? = nil) {
        if let socket { self.socket = socket }
        self.remote = remote
        latched = false
        rtcpLatched = false
        if let remote, rtcpSocket != nil { rtcpRemote = remote.with(port: remote.port &+ 1) }
    }

    /// Reads every datagram waiting on the socket.
    public func drain() {
        var source = SocketAddress(ipv4: 0, port: 0)
        while let length = socket.receive(into: buffer, from: &source) {
            receive(buffer, length: length, from: source)
        }
        guard let rtcpSocket else { return }
        while var length = rtcpSocket.receive(into: buffer, from: &source) {
            guard PacketClass(classifying: UnsafeRawBufferPointer(rebasing: buffer[..<length])) == .rtcp else {
                counters.malformed += 1
                continue
            }
            if let srtpIn {
                do {
                    length = try srtpIn.unprotect(buffer, length: length, rtcp: true)
                } catch {
                    counters.unauthenticated += 1
                    continue
                }
            }
            let datagram = UnsafeRawBufferPointer(rebasing: buffer[..<length])
            if !rtcpLatched {
                rtcpLatched = true
                rtcpRemote = source
            } else if let rtcpRemote, rtcpRemote != source {
                counters.foreign += 1
                continue
            }
            handleRTCP(datagram)
        }
    }

    private func handleRTCP(_ datagram: UnsafeRawBufferPointer) {
        counters.rtcp += 1
        let ours = ssrc
        do {
            try RTCP.parse(datagram, item: { item in self.onFeedback?(item) }, report: { block in
                if block.ssrc == ours { self.remoteFractionLost = block.fractionLost }
            }, lost: { media, sequence in self.onLostPacket?(media, sequence) })
        } catch {
            counters.malformed += 1
        }
    }

    /// A datagram that arrived for this leg on a port it shares with others (WebRTC: after ICE and
    /// DTLS, the session hands over RTP and RTCP). Decrypted in place when the leg is secure.
    public func receive(_ buffer: UnsafeMutableRawBufferPointer, length: Int, from source: SocketAddress) {
        var length = length
        if let srtpIn {
            let kind = PacketClass(classifying: UnsafeRawBufferPointer(rebasing: buffer[..<length]))
            guard kind == .rtp || kind == .rtcp else {
                counters.malformed += 1
                return
            }
            do {
                length = try srtpIn.unprotect(buffer, length: length, rtcp: kind == .rtcp)
            } catch {
                counters.unauthenticated += 1
                return
            }
        }
        handle(UnsafeRawBufferPointer(rebasing: buffer[..<length]), from: source)
    }

    func handle(_ datagram: UnsafeRawBufferPointer, from source: SocketAddress) {
        // Symmetric RTP: until the first valid packet any source may speak (the SDP address may be a
        // phone's private one behind NAT); after it, only that source.
        if latched, let remote, remote != source {
            counters.foreign += 1
            return
        }
        switch PacketClass(classifying: datagram) {
        case .rtp:
            guard let packet = try? RTPPacket(parsing: datagram) else {
                counters.malformed += 1
                return
            }
            latch(source)
            counters.received += 1
            let payload = UnsafeRawBufferPointer(rebasing: datagram[packet.payloadRange])
            if packet.payloadType == codecs.payloadType {
                remoteSSRC = packet.ssrc
                statistics.record(sequence: packet.sequenceNumber, timestamp: packet.timestamp, arrival: arrivalInRTPUnits())
                let level = codecs.audioLevelExtension.flatMap {
                    RTPHeaderExtension.audioLevel(id: $0, profile: packet.extensionProfile, in: datagram, range: packet.extensionRange)?.level
                }
                member?.receive(payload, sequence: packet.sequenceNumber, timestamp: packet.timestamp, audioLevel: level)
            } else if packet.payloadType == codecs.telephoneEvent {
                // Same stream, same sequence numbers as the audio (RFC 4733 §2.1): counted for loss,
                // and a pause in the audio rather than a hole in it.
                if remoteSSRC == nil || remoteSSRC == packet.ssrc {
                    statistics.record(sequence: packet.sequenceNumber, timestamp: nil, arrival: 0)
                    member?.receivePause(sequence: packet.sequenceNumber, timestamp: packet.timestamp)
                }
                if let digit = digits.receive(payload, timestamp: packet.timestamp) {
                    counters.digits += 1
                    onDigit?(digit)
                }
            } else if onOtherPayload?(packet, datagram) != true {
                counters.unknownPayloadType += 1
            }
        case .rtcp:
            // RTCP multiplexed on the RTP port (RFC 5761).
            latch(source)
            handleRTCP(datagram)
        default:
            counters.malformed += 1
        }
    }

    private func latch(_ source: SocketAddress) {
        guard latchesToSource, !latched else { return }
        latched = true
        remote = source
    }

    /// Whether a packet may go to `remote` now (see `latchesToSource`).
    private var mayReachRemote: Bool { !latchesToSource || latched }

    public func deliver(_ frame: EncodedFrame) {
        guard sending, mayReachRemote, let remote, frame.payload.count + RTPPacket.headerSize <= sendBuffer.count else { return }
        let timestamp = timestampOffset &+ UInt32(truncatingIfNeeded: frame.tick &* UInt64(frame.codec.rtpUnitsPerFrame))
        RTPPacket.writeHeader(
            into: sendBuffer, marker: false, payloadType: codecs.payloadType, sequenceNumber: sequence, timestamp: timestamp,
            ssrc: ssrc)
        UnsafeMutableRawBufferPointer(rebasing: sendBuffer[RTPPacket.headerSize...]).copyMemory(from: frame.payload)
        sequence &+= 1
        var length = RTPPacket.headerSize + frame.payload.count
        if let srtpOut {
            guard let protected = try? srtpOut.protect(sendBuffer, length: length) else { return }
            length = protected
        }
        if socket.send(UnsafeRawBufferPointer(rebasing: sendBuffer[..<length]), to: remote) {
            counters.sent += 1
            octetsSent &+= UInt32(truncatingIfNeeded: frame.payload.count)
        }
        if frame.tick &- lastReportTick >= Self.reportIntervalTicks {
            lastReportTick = frame.tick
            sendReport(rtpTimestamp: timestamp)
        }
    }

    /// Sends a packet built by the caller in `buffer` (room for the SRTP trailer after `length`):
    /// protected like our own, to where our own go. For forwarded video and its RTCP feedback.
    @discardableResult
    public func sendProtected(_ buffer: UnsafeMutableRawBufferPointer, length: Int, rtcp: Bool) -> Bool {
        guard sending, mayReachRemote, let remote else { return false }
        var length = length
        if let srtpOut {
            guard let protected = try? srtpOut.protect(buffer, length: length, rtcp: rtcp) else { return false }
            length = protected
        }
        return socket.send(UnsafeRawBufferPointer(rebasing: buffer[..<length]), to: remote)
    }

    /// A sender report with a block about what we receive (RFC 3550 §6.4.1), to the RTCP port, or
    /// multiplexed on the RTP port when there is no RTCP socket.
    private func sendReport(rtpTimestamp: UInt32) {
        // Like RTP, RTCP goes only where RTCP (or, multiplexed, RTP) came from on a latching leg.
        let destination: SocketAddress?
        if rtcpSocket == nil {
            destination = mayReachRemote ? remote : nil
        } else {
            destination = !latchesToSource || rtcpLatched ? rtcpRemote : nil
        }
        guard let destination else { return }
        let block = remoteSSRC.map { statistics.makeReport(ssrc: $0) }
        var length = RTCP.writeSenderReport(
            into: sendBuffer, ssrc: ssrc, ntp: Self.ntpNow(), rtpTimestamp: rtpTimestamp,
            packets: UInt32(truncatingIfNeeded: counters.sent), octets: octetsSent, block: block)
        if let srtpOut {
            guard let protected = try? srtpOut.protect(sendBuffer, length: length, rtcp: true) else { return }
            length = protected
        }
        let sent = (rtcpSocket ?? socket).send(UnsafeRawBufferPointer(rebasing: sendBuffer[..<length]), to: destination)
        if sent { counters.reportsSent += 1 }
    }

    private func arrivalInRTPUnits() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let nanoseconds = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        return nanoseconds / 1000 * Int64(codecs.codec.rtpClockRate) / 1_000_000
    }

    /// Wall-clock time as a 64-bit NTP timestamp (seconds since 1900 in the high word).
    static func ntpNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let seconds = UInt64(ts.tv_sec) + 2_208_988_800
        let fraction = UInt64(ts.tv_nsec) * (1 << 32) / 1_000_000_000
        return seconds << 32 | fraction
    }
}
