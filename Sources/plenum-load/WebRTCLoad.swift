import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HummingbirdWSClient
import Logging
import PlenumAudio
import PlenumICE
import PlenumMedia
import PlenumRTP
import PlenumSDP
import PlenumWebRTC
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The end-to-end load benchmark for browsers (issue 4): starts `plenum serve`, joins N synthetic
/// browsers to one room over the real signalling (a WebSocket each, held open), and for each does what a
/// browser does on the wire: an ICE check with USE-CANDIDATE and consent checks every 5 s, a DTLS
/// handshake checking the server's fingerprint, then SRTP-protected Opus every 20 ms with the RFC 6464
/// level (3 talkers send a tone, the rest silence, as Chrome does without DTX). aiortc is far too slow
/// to be the load, so the browser side is made of the server's own sans-I/O pieces used as a client.
/// Reports the server's CPU per participant, the loss the browsers saw and their set-up times.
struct WebRTCLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webrtc-load", abstract: "Hold N synthetic DTLS-SRTP browsers in one room and measure the server.")

    @Option(help: "The plenum binary to start.")
    var server = ".build/release/plenum"
    @Option(help: "Address the server listens on (HTTP and the WebRTC port).")
    var serverAddress = "127.0.0.1"
    @Option(help: "Address of the synthetic browsers.")
    var browserAddress = "127.0.0.1"
    @Option(help: "Browser counts, comma-separated.")
    var browsers = "50,100,250,500"
    @Option(help: "Talkers among the browsers.")
    var talkers = 3
    @Option(help: "Seconds of measured audio per run.")
    var seconds = 30

    func run() throws {
        print("Plenum WebRTC load: one room, \(talkers) talkers, Opus over DTLS-SRTP, \(seconds) s per run, server \(serverAddress)")
        print("browsers  server CPU %  µs CPU/s per browser  browsers/core  loss %  setup ms (median, max)  failed")
        for count in browsers.split(separator: ",").compactMap({ Int($0) }) {
            let r = try runOnce(count)
            print(String(format: "%8d %12.1f %21.0f %14.0f %7.3f %11.0f %11.0f %8d", count, r.cpuPercent,
                         r.cpuPercent / 100 * 1e6 / Double(count), 100 / (r.cpuPercent / Double(count)), r.lossPercent,
                         r.setupMedianMs, r.setupMaxMs, r.failed))
        }
    }

    struct Result {
        var cpuPercent: Double
        var lossPercent: Double
        var setupMedianMs: Double
        var setupMaxMs: Double
        var failed: Int
    }

    func runOnce(_ count: Int) throws -> Result {
        // Signalling on loopback (plain HTTP is allowed there: no certificate to trust), media on the
        // server's address, as behind a reverse proxy.
        let httpPort = 8095
        let mediaPort: UInt16 = 41_000
        let server = try ServerUnderTest(binary: self.server, name: "webrtc-load-\(count)", logLevel: "notice") { folder in
            """
            {"sip": {"listen": "sip:\(serverAddress):5095", "mediaAddress": "\(serverAddress)"},
             "httpAddress": "127.0.0.1", "httpPort": \(httpPort), "webrtcPort": \(mediaPort), "dataDirectory": "\(folder.path)/data",
             "rooms": [{"number": "3001"}], "conferenceProfiles": {"default": {"announceAlone": false, "enterExitTones": false}}}
            """
        }
        defer { server.stop() }
        let token = try Self.requestToken(url: "http://127.0.0.1:\(httpPort)/api/token", room: "3001")

        let identity = try DTLSContext()
        let traffic = PhoneTraffic(codec: CodecConfiguration(kind: .opus))
        let clients = try LoadBrowser.joinAll(count: count, url: "ws://127.0.0.1:\(httpPort)/ws", token: token) { i in
            try LoadBrowser(index: i, address: browserAddress, identity: identity, talking: i < talkers, traffic: traffic)
        }
        let failed = clients.filter { !$0.connected }.count

        let cpuPercent = server.measure(seconds: seconds, startMeasuring: {
            for c in clients { c.startMeasuring() }
        }, step: { now in
            for c in clients { c.step(now: now) }
        })
        usleep(40_000)
        for c in clients { c.stopMeasuring() }
        server.stop()
        for c in clients { c.signalling?.cancel() }

        let connected = clients.filter(\.connected)
        let expected = connected.reduce(0) { $0 + $1.expectedPackets }
        let received = connected.reduce(0) { $0 + $1.receivedPackets }
        let setups = connected.map { Double($0.connectedAt - $0.signallingStarted) / 1e6 }.sorted()
        return Result(
            cpuPercent: cpuPercent,
            lossPercent: expected == 0 ? 100 : 100 * Double(max(0, expected - received)) / Double(expected),
            setupMedianMs: setups.isEmpty ? .nan : setups[setups.count / 2], setupMaxMs: setups.last ?? .nan,
            failed: failed)
    }
}

extension WebRTCLoad {
    /// The join page's request: a room number for an access token (POST /api/token).
    static func requestToken(url: String, room: String) throws -> String {
        guard let endpoint = URL(string: url) else { throw LoadBrowser.Failure(description: "bad URL \(url)") }
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data("{\"room\": \"\(room)\"}".utf8)
        let reply = SignallingReply()
        URLSession.shared.dataTask(with: request) { data, _, _ in
            reply.text.withLock { $0 = data.map { String(decoding: $0, as: UTF8.self) } }
            reply.arrived.signal()
        }.resume()
        guard reply.arrived.wait(timeout: .now() + 5) == .success, let text = reply.text.withLock({ $0 }),
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let token = object["token"] as? String
        else { throw LoadBrowser.Failure(description: "no token for room \(room)") }
        return token
    }
}

/// The answer to one browser's join, handed from the WebSocket task to the benchmark's thread.
final class SignallingReply: Sendable {
    let text = Mutex<String?>(nil)
    let arrived = DispatchSemaphore(value: 0)
}

/// What a synthetic browser does with video (the video load): nothing, publish a camera, or receive
/// the room's cameras on `slots` receive slots.
enum LoadVideo: Equatable {
    case none, publish, subscribe(slots: Int)
}

/// One synthetic browser: the client side of ICE, DTLS and SRTP, driven once per 20 ms step.
final class LoadBrowser {
    /// Joins `count` browsers made by `make` over the signalling, one after another, and steps them
    /// until every one is connected (ICE, DTLS) or 10 s passed; the handshakes go on while the others
    /// join (the server answers checks at its ticks).
    static func joinAll(count: Int, url: String, token: String, make: (Int) throws -> LoadBrowser) throws -> [LoadBrowser] {
        var clients: [LoadBrowser] = []
        for i in 0..<count {
            let client = try make(i)
            client.signallingStarted = monotonicNanoseconds()
            try client.join(url: url, token: token)
            clients.append(client)
            if i % 10 == 9 { for c in clients { c.step(now: monotonicNanoseconds()) } }
        }
        let setupDeadline = monotonicNanoseconds() + 10_000_000_000
        while monotonicNanoseconds() < setupDeadline, clients.contains(where: { !$0.connected }) {
            usleep(2000)
            for c in clients { c.step(now: monotonicNanoseconds()) }
        }
        return clients
    }

    let index: Int
    let socket: UDPSocket
    let identity: DTLSContext
    let talking: Bool
    let traffic: PhoneTraffic
    let credentials = ICECredentials.random()
    var signalling: Task<Void, Never>?
    var signallingStarted: UInt64 = 0
    private(set) var connectedAt: UInt64 = 0
    private var server: SocketAddress?
    private var serverCredentials: ICECredentials?
    private var dtls: DTLSTransport?
    private var srtp: (inbound: SRTPSession, outbound: SRTPSession)?
    private var checkedAt: UInt64 = 0
    private var checkAnswered = false
    private var dtlsTimerAt: UInt64 = 0
    private var sequence: UInt16 = 0
    private var timestamp: UInt32 = 0
    private var frame = 0
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    private(set) var receivedPackets = 0
    let video: LoadVideo
    private var videoSequence: UInt16 = 0
    private var videoTimestamp: UInt32 = 0
    private var videoSent = 0
    /// Video packets sent while measuring.
    private(set) var videoSentMeasured = 0
    private(set) var videoReceived = 0
    /// Forwarding latency of each received video packet, in microseconds (send time in the payload).
    private(set) var videoLatencies: [UInt32] = []
    private var measuringSince: UInt64 = 0
    private var measuringUntil: UInt64 = 0

    var connected: Bool { srtp != nil }
    var expectedPackets: Int { measuringSince == 0 ? 0 : Int((measuringUntil - measuringSince) / 20_000_000) }

    struct Failure: Error, CustomStringConvertible { var description: String }

    init(index: Int, address: String, identity: DTLSContext, talking: Bool, traffic: PhoneTraffic, video: LoadVideo = .none) throws {
        self.index = index
        self.video = video
        if video != .none { videoLatencies.reserveCapacity(50 * 120) }
        socket = try UDPSocket(address: address, port: 0)
        self.identity = identity
        self.talking = talking
        self.traffic = traffic
    }

    deinit { buffer.deallocate() }

    /// The video m-lines' mids: "1" for a camera, "1"… for the receive slots.
    var videoMids: [String] {
        switch video {
        case .none: []
        case .publish: ["1"]
        case .subscribe(let slots): (1...max(1, slots)).map(String.init)
        }
    }

    var offer: String {
        let host = socket.address.host
        let videoLines = videoMids.flatMap { mid in
            [
                "m=video \(socket.port) UDP/TLS/RTP/SAVPF 96", "c=IN \(socket.address.sdpAddressType) \(host)",
                "a=ice-ufrag:\(credentials.usernameFragment)", "a=ice-pwd:\(credentials.password)",
                "a=fingerprint:sha-256 \(identity.fingerprint)", "a=setup:actpass", "a=mid:\(mid)",
                video == .publish ? "a=sendonly" : "a=recvonly", "a=rtcp-mux", "a=rtcp-rsize", "a=rtpmap:96 VP8/90000",
                "a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli",
            ] + (video == .publish ? ["a=ssrc:\(videoSSRC) cname:load\(index)"] : [])
        }
        return ([
            "v=0", "o=- \(index + 1) 1 IN \(socket.address.sdpAddressType) \(host)", "s=-", "t=0 0",
            "a=group:BUNDLE \((["0"] + videoMids).joined(separator: " "))",
            "m=audio \(socket.port) UDP/TLS/RTP/SAVPF 111", "c=IN \(socket.address.sdpAddressType) \(host)",
            "a=ice-ufrag:\(credentials.usernameFragment)", "a=ice-pwd:\(credentials.password)",
            "a=fingerprint:sha-256 \(identity.fingerprint)", "a=setup:actpass", "a=mid:0",
            "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level", "a=sendrecv", "a=rtcp-mux",
            "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1",
            "a=candidate:1 1 udp 2130706431 \(host) \(socket.port) typ host",
        ] + videoLines).joined(separator: "\r\n") + "\r\n"
    }

    var videoSSRC: UInt32 { 0x0100_0000 + UInt32(index) }

    /// Joins over the WebSocket (kept open by its task until cancelled) and reads the answer.
    func join(url: String, token: String) throws {
        let reply = SignallingReply()
        let request = String(decoding: try JSONSerialization.data(withJSONObject: [
            "type": "join", "token": token, "name": "load \(index)", "sdp": offer,
        ]), as: UTF8.self)
        // A subscriber gives its receive slots the room's cameras as they are announced (`cameras`),
        // with the same offer again (`renegotiate`).
        let slots: [String] = if case .subscribe = video { videoMids } else { [] }
        let sdp = offer
        signalling = Task {
            // The answer lists every participant: in a big room it outgrows the client's 16 KiB default.
            _ = try? await WebSocketClient.connect(
                url: url, configuration: .init(maxFrameSize: 1 << 20), logger: Logger(label: "load")
            ) { inbound, outbound, _ in
                try await outbound.write(.text(request))
                var memberID: Int?
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .text(let text) = message else { continue }
                    if reply.text.withLock({ $0 == nil }) {
                        reply.text.withLock { $0 = text }
                        reply.arrived.signal()
                    }
                    guard !slots.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                    else { continue }
                    if object["type"] as? String == "answer" { memberID = object["memberId"] as? Int }
                    guard object["type"] as? String == "cameras", let cameras = object["cameras"] as? [[String: Any]] else { continue }
                    let ids = cameras.filter { ($0["member"] as? Int) != memberID }.compactMap { $0["id"] as? String }
                    var subscriptions: [String: Any] = [:]
                    for (i, mid) in slots.enumerated() { subscriptions[mid] = i < ids.count ? ids[i] : NSNull() }
                    let renegotiate = try JSONSerialization.data(withJSONObject: [
                        "type": "renegotiate", "sdp": sdp, "subscriptions": subscriptions,
                    ])
                    try await outbound.write(.text(String(decoding: renegotiate, as: UTF8.self)))
                }
            }
            reply.arrived.signal()
        }
        guard reply.arrived.wait(timeout: .now() + 5) == .success, let text = reply.text.withLock({ $0 }),
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            object["type"] as? String == "answer", let sdp = object["sdp"] as? String
        else { throw Failure(description: "browser \(index): no answer") }
        let answer = try AudioOffer(parsing: sdp)
        guard let candidate = sdp.split(separator: "\r\n").first(where: { $0.hasPrefix("a=candidate:") }) else {
            throw Failure(description: "browser \(index): no candidate")
        }
        let fields = candidate.split(separator: " ")
        guard fields.count >= 6, let port = UInt16(fields[5]), let address = SocketAddress(host: String(fields[4]), port: port)
        else { throw Failure(description: "browser \(index): bad candidate") }
        server = address
        serverCredentials = ICECredentials(usernameFragment: answer.iceUsernameFragment, password: answer.icePassword)
        let fingerprint = answer.fingerprint.split(separator: " ").last.map(String.init) ?? ""
        dtls = DTLSTransport(context: identity, isServer: false, expectedFingerprint: fingerprint)
    }

    private func send(_ bytes: UnsafeRawBufferPointer) {
        guard let server else { return }
        socket.send(bytes, to: server)
    }

    /// One 20 ms step: connectivity checks (every 100 ms until answered, then every 5 s for consent,
    /// RFC 7675), DTLS retransmissions, a media packet, and everything that arrived.
    func step(now: UInt64) {
        guard let serverCredentials, let dtls else { return }
        let interval: UInt64 = checkAnswered ? 5_000_000_000 : 100_000_000
        if now >= checkedAt + interval {
            checkedAt = now
            let request = STUNMessage.bindingRequest(
                transactionID: (0..<12).map { _ in UInt8.random(in: 0...255) },
                username: "\(serverCredentials.usernameFragment):\(credentials.usernameFragment)",
                password: serverCredentials.password, priority: 2_130_706_431, tieBreaker: UInt64(index + 1),
                useCandidate: !checkAnswered)
            request.withUnsafeBytes { send($0) }
        }
        if checkAnswered, dtls.state == .handshaking, let timeout = dtls.timeout {
            if dtlsTimerAt == 0 { dtlsTimerAt = now + UInt64(timeout) * 1_000_000 }
            if now >= dtlsTimerAt {
                for datagram in dtls.onTimeout() { datagram.withUnsafeBytes { send($0) } }
                dtlsTimerAt = 0
            }
        }
        if let srtp {
            sendMedia(srtp.outbound)
            if video == .publish { sendVideo(srtp.outbound, now: now) }
        }
        receive(dtls)
    }

    /// Reads what arrived (the video load also calls it between steps, so a forwarded packet's
    /// latency is not rounded up to the next step).
    func receive() {
        if let dtls { receive(dtls) }
    }

    private func receive(_ dtls: DTLSTransport) {
        var source = SocketAddress(ipv4: 0, port: 0)
        while let length = socket.receive(into: buffer, from: &source) {
            let datagram = UnsafeRawBufferPointer(rebasing: buffer[..<length])
            switch PacketClass(classifying: datagram) {
            case .stun:
                if !checkAnswered {
                    checkAnswered = true
                    for datagram in dtls.start() { datagram.withUnsafeBytes { send($0) } }
                }
            case .dtls:
                for reply in dtls.receive(datagram) { reply.withUnsafeBytes { send($0) } }
                if srtp == nil, dtls.state == .connected, let sessions = try? dtls.srtpSessions() {
                    srtp = sessions
                    connectedAt = monotonicNanoseconds()
                }
            case .rtp:
                guard let srtp, let plain = try? srtp.inbound.unprotect(buffer, length: length) else { continue }
                let measuring = measuringSince > 0 && measuringUntil == 0
                // Video: payload type 96 here; the first 8 payload bytes after the descriptor hold the send time.
                if length > 1, buffer[1] & 0x7F != 111 {
                    guard measuring, plain >= 12 + 2 + 8 else { continue }
                    videoReceived += 1
                    var sent: UInt64 = 0
                    for i in 0..<8 { sent = sent << 8 | UInt64(buffer[12 + 2 + i]) }
                    let now = monotonicNanoseconds()
                    if now > sent, videoLatencies.count < videoLatencies.capacity { videoLatencies.append(UInt32(min(now - sent, 4_000_000_000) / 1000)) }
                    continue
                }
                if measuring { receivedPackets += 1 }
            default:
                continue
            }
        }
    }

    /// An Opus frame with its RFC 6464 level in a one-byte header extension (RFC 8285), SRTP-protected.
    private func sendMedia(_ outbound: SRTPSession) {
        let payload = talking ? traffic.tone[frame % traffic.tone.count] : traffic.silence
        frame += 1
        RTPPacket.writeHeader(into: buffer, marker: false, payloadType: 111, sequenceNumber: sequence, timestamp: timestamp,
                              ssrc: UInt32(index + 1))
        buffer[0] |= 0x10  // X: a header extension follows
        let level: UInt8 = talking ? 12 : 127
        let header: [UInt8] = [0xBE, 0xDE, 0x00, 0x01, 0x10, 0x80 | level, 0x00, 0x00]
        for (i, byte) in header.enumerated() { buffer[12 + i] = byte }
        payload.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[20..<(20 + $0.count)]).copyMemory(from: $0) }
        sequence &+= 1
        timestamp &+= 960
        guard let length = try? outbound.protect(buffer, length: 20 + payload.count) else { return }
        send(UnsafeRawBufferPointer(rebasing: buffer[..<length]))
    }

    /// About 500 kbit/s of VP8 as a camera sends it: one 1,200-byte packet per 20 ms step (50 a
    /// second), a key frame each second; the payload carries its send time for the latency.
    private func sendVideo(_ outbound: SRTPSession, now: UInt64) {
        RTPPacket.writeHeader(into: buffer, marker: true, payloadType: 96, sequenceNumber: videoSequence, timestamp: videoTimestamp,
                              ssrc: videoSSRC)
        let payloadLength = 1200
        buffer[12] = 0x10  // VP8 payload descriptor: the start of partition 0
        buffer[13] = videoSent % 50 == 0 ? 0x00 : 0x01  // VP8 payload header: P bit clear for a key frame
        var stamp = now
        for i in (0..<8).reversed() {
            buffer[14 + i] = UInt8(stamp & 0xFF)
            stamp >>= 8
        }
        for i in 22..<(12 + payloadLength) { buffer[i] = UInt8(truncatingIfNeeded: i) }
        videoSequence &+= 1
        videoTimestamp &+= 1800  // 90 kHz at 50 frames a second
        videoSent += 1
        if measuringSince > 0, measuringUntil == 0 { videoSentMeasured += 1 }
        guard let length = try? outbound.protect(buffer, length: 12 + payloadLength) else { return }
        send(UnsafeRawBufferPointer(rebasing: buffer[..<length]))
    }

    func startMeasuring() {
        receivedPackets = 0
        videoReceived = 0
        videoSentMeasured = 0
        videoLatencies.removeAll(keepingCapacity: true)
        measuringSince = monotonicNanoseconds()
    }

    func stopMeasuring() {
        step(now: monotonicNanoseconds())
        measuringUntil = monotonicNanoseconds()
    }
}
