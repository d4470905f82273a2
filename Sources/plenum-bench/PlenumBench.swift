import ArgumentParser
import CAllocationCounter
import CPlenumShims
import Foundation
import PlenumAudio
import PlenumBridge
import PlenumMeetings
import PlenumServer
import PlenumWebRTC

#if canImport(Glibc)
import Glibc
#endif

/// The mixer benchmark: one room in process, release build, codecs included, no sockets or SRTP.
/// Each configuration also runs the same room with per-member encoding (the FreeSWITCH / Janus /
/// ConfBridge way) as the baseline, so the figures come as ratios measured in the same command.
@main
struct PlenumBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plenum-bench", abstract: "Benchmarks of the Plenum audio bridge.",
        subcommands: [MixerBenchmark.self, QualityRun.self, SRTPBenchmark.self], defaultSubcommand: MixerBenchmark.self)
}

struct MixerBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mixer", abstract: "Measure the conference mixer (CPU per tick and per member, memory).")

    @Option(help: "Room sizes, comma-separated.")
    var members = "10,100,1000,5000,10000"
    @Option(help: "Talkers in each room.")
    var talkers = 3
    @Option(help: "Also run a room where everybody talks, of this size (0 to skip).")
    var allTalking = 50
    @Option(help: "CPU seconds to spend per measurement (at least 50 ticks run).")
    var seconds = 2.0
    @Option(help: "Largest room for the per-member-encoding baseline (it is slow by design).")
    var baselineLimit = 1000
    @Option(help: "Modes to run, comma-separated: per-member (the baseline), levels, no-levels.")
    var modes = "per-member,levels,no-levels"
    @Option(help: "Run exactly this many measured ticks instead of --seconds (for allocation counting under valgrind).")
    var ticks: Int?
    @Flag(help: "Attach the server's own observers (the browsers' outbox and the meetings), as `plenum serve` does.")
    var observers = false
    @Option(help: "The first talker stops and starts every this many ticks (0: it talks throughout).")
    var toggleEvery = 0

    func run() throws {
        let sizes = members.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        print("Plenum mixer benchmark: Opus 48 kHz 32 kbit/s, 20 ms ticks, release build, one thread")
        print("mode         members talkers mixed  µs/tick  ns/member/tick  members/core  KiB/member  vs baseline")
        var results: [String: Double] = [:]
        func report(_ label: String, _ n: Int, _ t: Int, _ mixed: Int, _ r: Measurement, baselineKey: String? = nil) {
            let perMember = r.nanosecondsPerTick / Double(n)
            let perCore = 20_000_000 / perMember
            var ratio = ""
            if let key = baselineKey, let base = results[key] { ratio = String(format: "%.1f× less CPU", base / r.nanosecondsPerTick) }
            results["\(label)-\(n)-\(t)-\(mixed)"] = r.nanosecondsPerTick
            let padded = label.padding(toLength: 12, withPad: " ", startingAt: 0)
            print(String(format: "%@ %7d %7d %5d %8.1f %15.0f %13.0f %11.1f  %@", padded as NSString, n, t, mixed,
                         r.nanosecondsPerTick / 1000, perMember, perCore, r.kibPerMember, ratio as NSString))
            if ticks != nil {
                print("allocations: \(label) \(n) members: \(r.allocations) in \(r.ticks) ticks on the mixing thread," +
                      " \(r.talkingEvents) talking events")
            }
        }
        var rooms = sizes.map { ($0, talkers, talkers) }
        if allTalking > 0 {
            rooms.append((allTalking, allTalking, allTalking))  // everybody mixed: a mix-minus each
            rooms.append((allTalking, allTalking, 4))  // everybody talks, the default loudest 4 are mixed
        }
        for (n, t, mixed) in rooms {
            let modes = Set(self.modes.split(separator: ",").map(String.init))
            if modes.contains("per-member"), n <= baselineLimit {
                report("per-member", n, t, mixed, try measure(members: n, talkers: t, mixed: mixed, levels: true, share: false))
            }
            if modes.contains("levels") {
                report("levels", n, t, mixed, try measure(members: n, talkers: t, mixed: mixed, levels: true, share: true),
                       baselineKey: "per-member-\(n)-\(t)-\(mixed)")
            }
            if modes.contains("no-levels") {
                report("no-levels", n, t, mixed, try measure(members: n, talkers: t, mixed: mixed, levels: false, share: true),
                       baselineKey: "per-member-\(n)-\(t)-\(mixed)")
            }
        }
        print("members/core = members a core holds in real time (20 ms per tick) at this per-member cost.")
    }

    struct Measurement {
        var nanosecondsPerTick: Double
        var kibPerMember: Double
        /// Heap allocations of the mixing thread in the measured ticks (CAllocationCounter).
        var allocations: UInt
        var ticks: Int
        var talkingEvents: Int
    }

    /// Counts the talking events of every measured room (the toggling talker's).
    final class Counter: @unchecked Sendable { var value = 0 }
    static let talkingEvents = Counter()

    /// The server around the room, as `plenum serve` builds it on a loop: rooms, meetings, browsers
    /// (a WebRTC port on loopback, no browser in it). Their observers are the conference's.
    struct Server {
        let context = MediaLoopContext()
        let rooms: Rooms
        let meetings: MeetingManager
        let browsers: WebRTCManager

        init(profile: ConferenceProfile) throws {
            rooms = Rooms(RoomDirectory([.init(number: "bench", profile: "bench")]), sounds: nil, profiles: ["bench": profile],
                          context: context)
            meetings = MeetingManager(roles: RoleBook(), reservedNumbers: ["bench"], rooms: rooms, context: context,
                                      loop: MediaLoop(name: "bench"))
            let port = try WebRTCPort(addresses: ["127.0.0.1"], port: 0, context: DTLSContext())
            browsers = WebRTCManager(port: port, rooms: rooms, context: context)
            meetings.browsers = browsers
        }
    }

    func measure(members n: Int, talkers t: Int, mixed: Int, levels: Bool, share: Bool) throws -> Measurement {
        var profile = ConferenceProfile()
        profile.announceAlone = false
        profile.enterExitTones = false
        profile.shareListenerEncodes = share
        profile.maxTalkers = max(1, min(mixed, 64))
        // A toggling talker must be heard to stop: a hangover shorter than its pauses.
        if toggleEvery > 0 { profile.talkHangoverFrames = max(1, toggleEvery / 2) }
        let rssBefore = residentBytes()
        let server = observers ? try Server(profile: profile) : nil
        let conference = server?.rooms.conference(for: "bench") ?? Conference(name: "bench", profile: profile)
        let counter = Self.talkingEvents
        conference.observers.append { event in
            if case .talkingStarted = event { counter.value += 1 }
            if case .talkingStopped = event { counter.value += 1 }
        }
        let traffic = Traffic.shared
        let sink = PacketizingSink()
        var legs: [Member] = []
        legs.reserveCapacity(n)
        for i in 0..<n {
            legs.append(try conference.join(name: "m\(i)", input: .opus, sink: sink))
        }
        var sequence: UInt16 = 0
        var timestamp: UInt32 = 0
        func tick(_ k: Int) {
            let frame = k % traffic.speech.count
            let pausing = toggleEvery > 0 && (k / toggleEvery) % 2 == 1
            for (i, member) in legs.enumerated() {
                let talking = i < t && !(i == 0 && pausing)
                let payload = talking ? traffic.speech[frame] : traffic.silence
                let level: UInt8? = levels ? (talking ? traffic.speechLevels[frame] : 127) : nil
                payload.withUnsafeBytes { _ = member.receive($0, sequence: sequence, timestamp: timestamp, audioLevel: level) }
            }
            sequence &+= 1
            timestamp &+= 960
            conference.tick()
        }
        for k in 0..<50 { tick(k) }  // warm up: talkers detected, encoders allocated
        let rssAfter = residentBytes()
        let eventsBefore = Self.talkingEvents.value
        // The counter must see allocations at all (a malloc not replaced would count nothing).
        let probe = plenum_thread_allocations()
        withExtendedLifetime([Int](repeating: 1, count: 64 + n)) {}
        guard plenum_thread_allocations() > probe else { throw ValidationError("the allocation counter sees nothing") }
        let tracing = ProcessInfo.processInfo.environment["PLENUM_TRACE_ALLOCATIONS"] != nil
        if tracing { plenum_trace_allocations(1) }
        defer { plenum_trace_allocations(0) }
        let allocationsBefore = plenum_thread_allocations()
        let begin = threadCPUNanoseconds()
        let fixedTicks = self.ticks
        var ticks = 0
        while ticks < (fixedTicks ?? 50) || (fixedTicks == nil && Double(threadCPUNanoseconds() - begin) < seconds * 1e9) {
            tick(50 + ticks)
            ticks += 1
            if fixedTicks == nil, ticks >= 5000 { break }
        }
        let elapsed = Double(threadCPUNanoseconds() - begin)
        let allocations = plenum_thread_allocations() - allocationsBefore
        withExtendedLifetime((conference, server)) {}
        return Measurement(
            nanosecondsPerTick: elapsed / Double(ticks),
            kibPerMember: Double(max(0, rssAfter - rssBefore)) / 1024 / Double(n),
            allocations: allocations, ticks: ticks, talkingEvents: Self.talkingEvents.value - eventsBefore)
    }
}

/// Sends speech through a conference the way a browser would (Opus 32 kbit/s with audio levels) and
/// writes what listeners with different codecs hear, plus the same speech through one Opus encode and
/// decode alone (the codec's own ceiling), all at 16 kHz for PESQ wideband (scripts/quality.py).
struct QualityRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality", abstract: "Write speech as heard through the bridge, for PESQ.")

    @Option(help: "Speech to send (16-bit WAV, any rate).")
    var input: String
    @Option(help: "Folder for the output WAV files.")
    var output: String

    final class Recorder: MemberOutput {
        let decoder: FrameDecoder
        var heard: [Int16] = []
        init(_ codec: CodecConfiguration) { decoder = FrameDecoder(codec)! }
        func deliver(_ frame: EncodedFrame) {
            var out = [Int16](repeating: 0, count: AudioFormat.maxPacketSamples)
            let n = out.withUnsafeMutableBufferPointer { decoder.decode(frame.payload, into: $0) }
            heard += out[..<n]
        }
    }

    func run() throws {
        let speech = try WAVFile(contentsOf: URL(fileURLWithPath: input)).resampled(to: 48_000).samples
        var profile = ConferenceProfile()
        profile.announceAlone = false
        profile.enterExitTones = false
        let conference = Conference(name: "quality", profile: profile)
        let talker = try conference.join(name: "talker", input: .opus, sink: Recorder(.opus))
        let listeners: [(String, CodecConfiguration)] = [("opus", .opus), ("g722", .g722), ("pcmu", .pcmu)]
        var recorders: [(String, Recorder)] = []
        for (name, codec) in listeners {
            let recorder = Recorder(codec)
            try conference.join(name: name, input: codec, sink: recorder)
            recorders.append((name, recorder))
        }
        let browser = FrameEncoder(.opus)!
        let direct = FrameDecoder(.opus)!
        var directHeard: [Int16] = []
        var packet = [UInt8](repeating: 0, count: 1500)
        var decoded = [Int16](repeating: 0, count: AudioFormat.maxPacketSamples)
        var sequence: UInt16 = 0
        var timestamp: UInt32 = 0
        let frames = speech.count / 960 + 10
        let silence = [UInt8]([0xF8, 0xFF, 0xFE])  // an Opus CELT frame of digital silence
        for k in 0..<frames {
            var frame = [Int16](repeating: 0, count: 960)
            for i in 0..<960 where k * 960 + i < speech.count { frame[i] = speech[k * 960 + i] }
            let level = frame.withUnsafeBufferPointer { AudioLevel.of($0) }
            let n = frame.withUnsafeBufferPointer { f in packet.withUnsafeMutableBytes { browser.encode(f, into: $0) } }
            packet.withUnsafeBytes { p in
                let payload = UnsafeRawBufferPointer(rebasing: p[..<n])
                _ = talker.receive(payload, sequence: sequence, timestamp: timestamp, audioLevel: level)
                let m = decoded.withUnsafeMutableBufferPointer { direct.decode(payload, into: $0) }
                directHeard += decoded[..<m]
            }
            for member in conference.members where member.id != talker.id {
                silence.withUnsafeBytes { _ = member.receive($0, sequence: sequence, timestamp: timestamp, audioLevel: 127) }
            }
            sequence &+= 1
            timestamp &+= 960
            conference.tick()
        }
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func write(_ name: String, _ samples: [Int16]) throws {
            let wav = WAVFile(sampleRate: 48_000, samples: samples).resampled(to: 16_000)
            try wav.data().write(to: folder.appendingPathComponent("\(name).wav"))
        }
        try write("reference", speech)
        try write("direct-opus", directHeard)
        // The other codecs' own ceilings: the speech through one encode and decode, no bridge.
        for (name, codec) in [("direct-g722", CodecConfiguration.g722), ("direct-pcmu", .pcmu)] {
            let encoder = FrameEncoder(codec)!
            let decoder = FrameDecoder(codec)!
            var heard: [Int16] = []
            for k in 0..<(speech.count / 960) {
                let n = speech[(k * 960)..<(k * 960 + 960)].withUnsafeBufferPointer { f in
                    packet.withUnsafeMutableBytes { encoder.encode(f, into: $0) }
                }
                let m = packet.withUnsafeBytes { p in
                    decoded.withUnsafeMutableBufferPointer { decoder.decode(UnsafeRawBufferPointer(rebasing: p[..<n]), into: $0) }
                }
                heard += decoded[..<m]
            }
            try write(name, heard)
        }
        for (name, recorder) in recorders { try write("bridge-\(name)", recorder.heard) }
        print("wrote reference, direct-opus and bridge-{opus,g722,pcmu} to \(folder.path)")
    }
}

/// Pre-encoded traffic: one second of Opus speech-like audio (a vowel-ish harmonic tone) and a
/// silence packet, as a browser would send them.
final class Traffic: Sendable {
    static let shared = Traffic()
    let speech: [[UInt8]]
    let speechLevels: [UInt8]
    let silence: [UInt8]

    init() {
        let encoder = FrameEncoder(.opus)!
        var speech: [[UInt8]] = []
        var levels: [UInt8] = []
        var out = [UInt8](repeating: 0, count: 1500)
        for k in 0..<50 {
            let frame = (0..<960).map { i -> Int16 in
                let t = Double(k * 960 + i) / 48_000
                let v = 0.3 * sin(2 * .pi * 180 * t) + 0.2 * sin(2 * .pi * 360 * t) + 0.1 * sin(2 * .pi * 1100 * t)
                return Int16(v * 20_000)
            }
            let n = frame.withUnsafeBufferPointer { f in out.withUnsafeMutableBytes { encoder.encode(f, into: $0) } }
            speech.append(Array(out[..<n]))
            levels.append(frame.withUnsafeBufferPointer { AudioLevel.of($0) })
        }
        let zeros = [Int16](repeating: 0, count: 960)
        let n = zeros.withUnsafeBufferPointer { f in out.withUnsafeMutableBytes { encoder.encode(f, into: $0) } }
        self.speech = speech
        speechLevels = levels
        silence = Array(out[..<n])
    }
}

/// Stands in for an RTP leg: writes a 12-byte RTP header (RFC 3550 §5.1) and copies the payload, as
/// the real legs do before SRTP; counts bytes so the work is not optimised away.
final class PacketizingSink: MemberOutput {
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 9000, alignment: 16)
    private(set) var bytes = 0
    private var sequence: UInt16 = 0

    func deliver(_ frame: EncodedFrame) {
        buffer[0] = 0x80
        buffer[1] = 111
        buffer.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
        buffer.storeBytes(of: UInt32(truncatingIfNeeded: frame.tick &* 960).bigEndian, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: UInt32(0x1234_5678).bigEndian, toByteOffset: 8, as: UInt32.self)
        UnsafeMutableRawBufferPointer(rebasing: buffer[12..<(12 + frame.payload.count)]).copyMemory(from: frame.payload)
        sequence &+= 1
        bytes &+= 12 + frame.payload.count
    }
}

func threadCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Bytes allocated on the heap now (glibc's mallinfo2: in-use blocks plus mmapped ones). Unlike the
/// resident set this does not depend on what earlier runs freed.
func residentBytes() -> Int {
    Int(plenum_heap_bytes_in_use())
}
