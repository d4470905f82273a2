import ArgumentParser
import Foundation
import PlenumAudio
import PlenumMedia
import PlenumRTP

#if canImport(Glibc)
import Glibc
#endif

/// The end-to-end load benchmark for phone dial-in (issue 3): starts `plenum serve`, places N calls into
/// one room over SIP (a minimal UDP user agent of the benchmark's own: the system under test is the
/// server's sofia-sip stack), streams RTP from each call for the measured time (3 talkers sending a
/// tone, the others silence), and reports the server's CPU per participant, the loss and jitter the
/// phones saw, and the server's jitter-buffer delay.
struct SIPLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sip-load", abstract: "Hold N phone calls in one room and measure the server.")

    @Option(help: "The plenum binary to start.")
    var server = ".build/release/plenum"
    @Option(help: "Address the server listens on (SIP and RTP).")
    var serverAddress = "127.0.0.1"
    @Option(help: "Address of the simulated phones.")
    var phoneAddress = "127.0.0.1"
    @Option(help: "Call counts, comma-separated.")
    var calls = "50,100,250"
    @Option(help: "Talkers among the calls.")
    var talkers = 3
    @Option(help: "Seconds of measured audio per run.")
    var seconds = 60
    @Option(help: "Codec the phones use: pcmu or opus.")
    var codec = "pcmu"

    func run() throws {
        print("Plenum SIP load: one room, \(talkers) talkers, \(codec), \(seconds) s per run, server \(serverAddress)")
        print("calls  server CPU %  CPU % per call  calls/core  loss %  jitter ms  jb delay ms (talkers)  underruns")
        for count in calls.split(separator: ",").compactMap({ Int($0) }) {
            let result = try runOnce(calls: count)
            print(String(format: "%5d %12.1f %15.3f %11.0f %7.3f %10.2f %22.1f %10d", count, result.cpuPercent,
                         result.cpuPercent / Double(count), 100 / (result.cpuPercent / Double(count)), result.lossPercent,
                         result.jitterMs, result.jitterBufferMs, result.underruns))
        }
    }

    struct Result {
        var cpuPercent: Double
        var lossPercent: Double
        var jitterMs: Double
        var jitterBufferMs: Double
        var underruns: Int
    }

    func runOnce(calls count: Int) throws -> Result {
        let sipPort = 5090
        let server = try ServerUnderTest(binary: self.server, name: "sip-load-\(count)", logLevel: "info") { _ in
            """
            {"sip": {"listen": "sip:\(serverAddress):\(sipPort)", "mediaAddress": "\(serverAddress)", "rtpPortMin": 22000, "rtpPortMax": 23998, "callsPerSourcePer10Seconds": 100000},
             "rooms": [{"number": "3001"}], "conferenceProfiles": {"default": {"announceAlone": false, "enterExitTones": false}}}
            """
        }
        defer { server.stop() }

        let agent = try LoadUserAgent(local: phoneAddress, server: serverAddress, serverPort: UInt16(sipPort))
        var phones: [LoadPhone] = []
        let traffic = PhoneTraffic(codec: codec == "opus" ? .opus : .pcmu)
        for i in 0..<count {
            let phone = try LoadPhone(index: i, address: phoneAddress, talking: i < talkers, traffic: traffic)
            try agent.call(phone, room: "3001")
            phones.append(phone)
        }
        // Let every call settle into the room, then measure.
        let cpuPercent = server.measure(seconds: seconds, startMeasuring: {
            for phone in phones { phone.resetStatistics() }
        }, step: { _ in
            for phone in phones {
                phone.send()
                phone.drain()
            }
        })
        usleep(40_000)  // the last packets in flight
        for phone in phones { phone.stopMeasuring() }
        for phone in phones { try agent.hangUp(phone) }
        usleep(500_000)
        server.stop()

        let expected = phones.reduce(0) { $0 + $1.expectedPackets }
        let received = phones.reduce(0) { $0 + $1.receivedPackets }
        let jitter = phones.map(\.jitterMs).reduce(0, +) / Double(max(1, phones.count))
        // The server logs each call's jitter-buffer figures when it ends.
        let text = server.logText
        var talkerDelays: [Double] = []
        var underruns = 0
        for line in text.split(separator: "\n") where line.contains("call statistics") {
            let fields = Dictionary(line.split(separator: " ").compactMap { part -> (String, String)? in
                let kv = part.split(separator: "=", maxSplits: 1)
                return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
            }, uniquingKeysWith: { a, _ in a })
            underruns += Int(fields["underruns"] ?? "0") ?? 0
            if let played = Int(fields["played"] ?? "0"), played > 100, let delay = Double(fields["jitter_buffer_ms"] ?? "") {
                talkerDelays.append(delay)
            }
        }
        return Result(
            cpuPercent: cpuPercent,
            lossPercent: expected == 0 ? 0 : 100 * Double(max(0, expected - received)) / Double(expected),
            jitterMs: jitter,
            jitterBufferMs: talkerDelays.isEmpty ? .nan : talkerDelays.reduce(0, +) / Double(talkerDelays.count),
            underruns: underruns)
    }
}

/// Pre-encoded 20 ms frames a simulated phone sends.
final class PhoneTraffic {
    let codec: CodecConfiguration
    let tone: [[UInt8]]
    let silence: [UInt8]
    init(codec: CodecConfiguration) {
        self.codec = codec
        let encoder = FrameEncoder(codec)!
        var out = [UInt8](repeating: 0, count: 1500)
        let samples = Tone.sine(frequency: 440, milliseconds: 1000, dBFS: -12, ramp: false)
        var frames: [[UInt8]] = []
        for k in 0..<50 {
            let n = samples[(k * 960)..<(k * 960 + 960)].withUnsafeBufferPointer { f in out.withUnsafeMutableBytes { encoder.encode(f, into: $0) } }
            frames.append(Array(out[..<n]))
        }
        tone = frames
        let zeros = [Int16](repeating: 0, count: 960)
        let n = zeros.withUnsafeBufferPointer { f in out.withUnsafeMutableBytes { encoder.encode(f, into: $0) } }
        silence = Array(out[..<n])
    }
}

/// One simulated phone's media: RTP out every 20 ms, RTP in counted (loss, RFC 3550 jitter).
final class LoadPhone {
    let index: Int
    let socket: UDPSocket
    let talking: Bool
    let traffic: PhoneTraffic
    var remote: SocketAddress?
    var callID = ""
    var fromTag = ""
    var toTag = ""
    var contact = ""
    private var sequence: UInt16 = 0
    private var timestamp: UInt32 = 0
    private var frame = 0
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    private var statistics = ReceptionStatistics()
    private var firstArrival: UInt64 = 0
    private(set) var receivedPackets = 0
    private var measuringSince: UInt64 = 0

    init(index: Int, address: String, talking: Bool, traffic: PhoneTraffic) throws {
        self.index = index
        socket = try UDPSocket(address: address, port: 0)
        self.talking = talking
        self.traffic = traffic
    }

    deinit { buffer.deallocate() }

    private var measuringUntil: UInt64 = 0
    var expectedPackets: Int { measuringSince == 0 ? 0 : Int((measuringUntil - measuringSince) / 20_000_000) }

    func stopMeasuring() {
        drain()
        measuringUntil = monotonicNanoseconds()
        measuringSince = measuringSince == 0 ? 0 : measuringSince
    }

    var jitterMs: Double { Double(statistics.jitter) / Double(traffic.codec.rtpClockRate) * 1000 }

    func resetStatistics() {
        statistics = ReceptionStatistics()
        receivedPackets = 0
        measuringSince = monotonicNanoseconds()
    }

    func send() {
        guard let remote else { return }
        let payload = talking ? traffic.tone[frame % traffic.tone.count] : traffic.silence
        frame += 1
        RTPPacket.writeHeader(into: buffer, marker: false, payloadType: traffic.codec.kind == .opus ? 96 : 0,
                              sequenceNumber: sequence, timestamp: timestamp, ssrc: UInt32(index + 1))
        payload.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[12..<(12 + $0.count)]).copyMemory(from: $0) }
        socket.send(UnsafeRawBufferPointer(rebasing: buffer[..<(12 + payload.count)]), to: remote)
        sequence &+= 1
        timestamp &+= UInt32(traffic.codec.rtpUnitsPerFrame)
    }

    func drain() {
        var source = SocketAddress(ipv4: 0, port: 0)
        while let n = socket.receive(into: buffer, from: &source) {
            guard let packet = try? RTPPacket(parsing: UnsafeRawBufferPointer(rebasing: buffer[..<n])) else { continue }
            let now = monotonicNanoseconds()
            if firstArrival == 0 { firstArrival = now }
            let arrival = Int64((now - firstArrival) * UInt64(traffic.codec.rtpClockRate) / 1_000_000_000)
            statistics.record(sequence: packet.sequenceNumber, timestamp: packet.timestamp, arrival: arrival)
            if measuringSince > 0, measuringUntil == 0 { receivedPackets += 1 }
        }
    }
}

/// Just enough of a SIP user agent client to place and end calls over UDP for the load test.
final class LoadUserAgent {
    let socket: UDPSocket
    let local: String
    let server: String
    let serverPort: UInt16
    let destination: SocketAddress
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)

    struct Failure: Error, CustomStringConvertible { var description: String }

    init(local: String, server: String, serverPort: UInt16) throws {
        socket = try UDPSocket(address: local, port: 0)
        self.local = local
        self.server = server
        self.serverPort = serverPort
        guard let destination = SocketAddress(host: server, port: serverPort) else { throw Failure(description: "bad server address") }
        self.destination = destination
    }

    deinit { buffer.deallocate() }

    func call(_ phone: LoadPhone, room: String) throws {
        phone.callID = "load-\(phone.index)-\(UInt32.random(in: 0...UInt32.max))@\(local)"
        phone.fromTag = "f\(phone.index)"
        let payloadType = phone.traffic.codec.kind == .opus ? "96" : "0"
        let rtpmap = phone.traffic.codec.kind == .opus ? "a=rtpmap:96 opus/48000/2\r\n" : "a=rtpmap:0 PCMU/8000\r\n"
        let sdp = "v=0\r\no=load \(phone.index) 1 IN IP4 \(local)\r\ns=load\r\nc=IN IP4 \(local)\r\nt=0 0\r\n"
            + "m=audio \(phone.socket.port) RTP/AVP \(payloadType) 101\r\n\(rtpmap)a=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n"
        let invite = request("INVITE", uri: "sip:\(room)@\(server):\(serverPort)", phone: phone, cseq: 1, toTag: nil,
                             extra: "Content-Type: application/sdp\r\n", body: sdp)
        send(invite)
        let deadline = monotonicNanoseconds() + 5_000_000_000
        while monotonicNanoseconds() < deadline {
            guard let response = receive(), response.contains(phone.callID) else { continue }
            let status = response.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
            if status < 200 { continue }
            guard status == 200 else { throw Failure(description: "call \(phone.index): \(status)") }
            phone.toTag = Self.field(response, header: "To", parameter: "tag") ?? ""
            phone.contact = Self.contact(response) ?? "sip:\(room)@\(server):\(serverPort)"
            let port = Self.mediaPort(response) ?? 0
            phone.remote = SocketAddress(host: Self.mediaAddress(response) ?? server, port: port)
            send(request("ACK", uri: phone.contact, phone: phone, cseq: 1, toTag: phone.toTag, extra: "", body: ""))
            return
        }
        throw Failure(description: "call \(phone.index): no answer")
    }

    func hangUp(_ phone: LoadPhone) throws {
        send(request("BYE", uri: phone.contact, phone: phone, cseq: 2, toTag: phone.toTag, extra: "", body: ""))
        let deadline = monotonicNanoseconds() + 2_000_000_000
        while monotonicNanoseconds() < deadline {
            if let response = receive(), response.contains(phone.callID), response.contains("CSeq: 2 BYE") { return }
        }
    }

    private func request(_ method: String, uri: String, phone: LoadPhone, cseq: Int, toTag: String?, extra: String, body: String) -> String {
        let branch = "z9hG4bK-\(phone.index)-\(method.lowercased())-\(UInt32.random(in: 0...UInt32.max))"
        return "\(method) \(uri) SIP/2.0\r\n"
            + "Via: SIP/2.0/UDP \(local):\(socket.port);branch=\(branch);rport\r\n"
            + "Max-Forwards: 70\r\n"
            + "From: <sip:load\(phone.index)@\(local)>;tag=\(phone.fromTag)\r\n"
            + "To: <sip:3001@\(server)>\(toTag.map { ";tag=\($0)" } ?? "")\r\n"
            + "Call-ID: \(phone.callID)\r\nCSeq: \(cseq) \(method)\r\n"
            + "Contact: <sip:load\(phone.index)@\(local):\(socket.port)>\r\nUser-Agent: plenum-bench\r\n"
            + extra + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    private func send(_ message: String) {
        var bytes = Array(message.utf8)
        _ = bytes.withUnsafeMutableBytes { socket.send(UnsafeRawBufferPointer($0), to: destination) }
    }

    private func receive() -> String? {
        var source = SocketAddress(ipv4: 0, port: 0)
        for _ in 0..<200 {
            if let n = socket.receive(into: buffer, from: &source) {
                return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[..<n]), as: UTF8.self)
            }
            usleep(1000)
        }
        return nil
    }

    static func field(_ message: String, header: String, parameter: String) -> String? {
        for line in message.split(separator: "\r\n") where line.lowercased().hasPrefix(header.lowercased() + ":") {
            for part in line.split(separator: ";") where part.hasPrefix(parameter + "=") {
                return String(part.dropFirst(parameter.count + 1)).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    static func contact(_ message: String) -> String? {
        for line in message.split(separator: "\r\n") where line.lowercased().hasPrefix("contact:") {
            guard let open = line.firstIndex(of: "<"), let close = line.firstIndex(of: ">") else { continue }
            return String(line[line.index(after: open)..<close])
        }
        return nil
    }

    static func mediaPort(_ message: String) -> UInt16? {
        for line in message.split(separator: "\r\n") where line.hasPrefix("m=audio ") {
            return UInt16(line.split(separator: " ")[1])
        }
        return nil
    }

    static func mediaAddress(_ message: String) -> String? {
        for line in message.split(separator: "\r\n") where line.hasPrefix("c=IN IP4 ") {
            return String(line.dropFirst("c=IN IP4 ".count))
        }
        return nil
    }
}
