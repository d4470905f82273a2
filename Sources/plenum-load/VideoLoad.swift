import ArgumentParser
import Foundation
import PlenumAudio
import PlenumWebRTC

#if canImport(Glibc)
import Glibc
#endif

/// The video forwarding benchmark (issue 15): `plenum serve` with P synthetic publishers (500 kbit/s
/// of VP8-shaped packets each, a key frame a second) and S subscribers that each receive every camera
/// on a receive slot of their own, all over the real signalling, ICE, DTLS-SRTP and renegotiation.
/// Every browser also sends silent Opus, as a muted browser does; a run without publishers (the same
/// browsers) is the baseline, so the difference is what forwarding costs. Reports forwarded streams
/// (P × S), Mbit/s forwarded, the server's CPU, µs of CPU per forwarded packet, streams per core at
/// that cost, forwarding latency (median, p99: send time stamped in the payload, one clock) and loss.
struct VideoLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "video-load", abstract: "Forward synthetic cameras to synthetic subscribers and measure the server.")

    @Option(help: "The plenum binary to start.")
    var server = ".build/release/plenum"
    @Option(help: "Address the server listens on (HTTP and the WebRTC port).")
    var serverAddress = "127.0.0.1"
    @Option(help: "Address of the synthetic browsers.")
    var browserAddress = "127.0.0.1"
    @Option(help: "Runs as publishers×subscribers, comma-separated (1×100: one lecture camera; 4×25: a small meeting).")
    var runs = "1x100,1x250,4x50,4x100"
    @Option(help: "Seconds measured per run.")
    var seconds = 20

    func run() throws {
        print("Plenum video forwarding: P cameras of ~500 kbit/s to S subscribers each, \(seconds) s per run, server \(serverAddress)")
        print("  P×S  streams  Mbit/s out  CPU % (base)  µs/packet  streams/core  latency ms (median, p99)  loss %  failed")
        for run in runs.split(separator: ",") {
            let parts = run.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { continue }
            let (publishers, subscribers) = (parts[0], parts[1])
            let base = try runOnce(publishers: 0, subscribers: subscribers + publishers)
            let r = try runOnce(publishers: publishers, subscribers: subscribers)
            let streams = publishers * subscribers
            let forwardingPercent = max(0.01, r.cpuPercent - base.cpuPercent)
            let packetsPerSecond = Double(r.videoReceived) / Double(seconds)
            let microsPerPacket = forwardingPercent / 100 * 1e6 / max(1, packetsPerSecond)
            let mbits = packetsPerSecond * 1200 * 8 / 1e6
            print(String(format: "%5@ %8d %11.1f %7.1f (%4.1f) %10.2f %13.0f %12.2f %8.2f %8.3f %7d",
                         "\(publishers)×\(subscribers)" as NSString, streams, mbits, r.cpuPercent, base.cpuPercent, microsPerPacket,
                         Double(streams) * 100 / forwardingPercent, r.latencyMedianMs, r.latencyP99Ms, r.lossPercent,
                         r.failed + base.failed))
        }
    }

    struct Result {
        var cpuPercent: Double
        var videoReceived: Int
        var lossPercent: Double
        var latencyMedianMs: Double
        var latencyP99Ms: Double
        var failed: Int
    }

    func runOnce(publishers: Int, subscribers: Int) throws -> Result {
        let httpPort = 8096
        let mediaPort: UInt16 = 41_100
        let server = try ServerUnderTest(binary: self.server, name: "video-load-\(publishers)-\(subscribers)", logLevel: "notice") { folder in
            """
            {"sip": {"listen": "sip:\(serverAddress):5096", "mediaAddress": "\(serverAddress)"},
             "httpAddress": "127.0.0.1", "httpPort": \(httpPort), "webrtcPort": \(mediaPort), "dataDirectory": "\(folder.path)/data",
             "rooms": [{"number": "3001"}], "conferenceProfiles": {"default": {"announceAlone": false, "enterExitTones": false}}}
            """
        }
        defer { server.stop() }
        let token = try WebRTCLoad.requestToken(url: "http://127.0.0.1:\(httpPort)/api/token", room: "3001")
        let identity = try DTLSContext()
        let traffic = PhoneTraffic(codec: CodecConfiguration(kind: .opus))
        // Subscribers first, so each hears of the cameras as they start (and renegotiates once per camera).
        let clients = try LoadBrowser.joinAll(count: subscribers + publishers, url: "ws://127.0.0.1:\(httpPort)/ws", token: token) { i in
            let video: LoadVideo = i < subscribers ? (publishers > 0 ? .subscribe(slots: publishers) : .none) : .publish
            return try LoadBrowser(index: i, address: browserAddress, identity: identity, talking: false, traffic: traffic, video: video)
        }
        let failed = clients.filter { !$0.connected }.count
        // Each step the cameras send first; the subscribers read 0.25, 0.5, 1, 3 and 6 ms later too, so a packet
        // forwarded on arrival is timed within a few ms (an upper bound: it includes the generator's own
        // delay in reaching that subscriber); a forward at the next audio tick would show ~20 ms.
        let ordered = clients.filter { $0.video == .publish } + clients.filter { $0.video != .publish }
        let receivers = clients.filter { $0.video != .publish }
        let cpuPercent = server.measure(seconds: seconds, startMeasuring: {
            for c in clients { c.startMeasuring() }
        }, step: { start in
            for c in ordered { c.step(now: monotonicNanoseconds()) }
            for delay: UInt64 in [250_000, 500_000, 1_000_000, 3_000_000, 6_000_000] {
                sleepUntil(start + delay)
                for c in receivers { c.receive() }
            }
        })
        usleep(40_000)
        for c in clients { c.stopMeasuring() }
        server.stop()
        for c in clients { c.signalling?.cancel() }
        let sent = clients.reduce(0) { $0 + $1.videoSentMeasured }
        let received = clients.reduce(0) { $0 + $1.videoReceived }
        let expected = sent * subscribers
        let latencies = clients.flatMap(\.videoLatencies).sorted()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? .nan : Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1000
        }
        return Result(
            cpuPercent: cpuPercent, videoReceived: received,
            lossPercent: expected == 0 ? 0 : 100 * Double(max(0, expected - received)) / Double(expected),
            latencyMedianMs: percentile(0.5), latencyP99Ms: percentile(0.99), failed: failed)
    }
}
