import PlenumAudio

public typealias MemberID = Int

/// One encoded frame a member's leg sends on this tick. `payload` is valid only during `deliver`; listeners
/// of one encoder group receive the very same bytes (the leg adds its own RTP header and SRTP).
public struct EncodedFrame {
    public var payload: UnsafeRawBufferPointer
    public var codec: CodecConfiguration
    /// The conference tick this packet ends with; a leg derives its RTP timestamp from it
    /// (`tick * codec.rtpUnitsPerFrame`), so DTX gaps keep the timeline.
    public var tick: UInt64
    /// True when the payload is the shared encode of the full mix.
    public var isShared: Bool

    public init(payload: UnsafeRawBufferPointer, codec: CodecConfiguration, tick: UInt64, isShared: Bool) {
        self.payload = payload
        self.codec = codec
        self.tick = tick
        self.isShared = isShared
    }
}

/// What a leg (SIP RTP leg, WebRTC leg, a benchmark sink) implements to be a conference member.
/// Called on the conference's media loop, once per tick, for each member that hears something.
public protocol MemberOutput: AnyObject {
    func deliver(_ frame: EncodedFrame)
}

/// Per-member flags shown to the control plane.
public struct MemberFlags: Sendable, Equatable {
    public var muted = false
    public var deaf = false
    public var onHold = false
    public var moderator = false
    public var handRaised = false
    public init(muted: Bool = false, deaf: Bool = false, onHold: Bool = false, moderator: Bool = false) {
        self.muted = muted
        self.deaf = deaf
        self.onHold = onHold
        self.moderator = moderator
    }
}

/// A conference member: one leg's audio in and out, with its state. Lives on the conference's media loop.
public final class Member {
    public let id: MemberID
    public var name: String
    /// How the member joined, for participant lists (a phone shows a masked number, never the whole one).
    public enum Kind: Sendable, Equatable { case phone(maskedNumber: String), browser, other }
    public var kind = Kind.other
    public let inputCodec: CodecConfiguration
    public let outputCodec: CodecConfiguration
    public internal(set) var flags: MemberFlags
    /// Gains in 3 dB steps (-4...+4), as caller controls change them.
    public internal(set) var inputGainSteps = 0
    public internal(set) var outputGainSteps = 0
    let output: MemberOutput

    public struct Counters: Sendable, Equatable {
        public var receivedPackets = 0
        public var rejectedPackets = 0
        public var deliveredFrames = 0
    }
    public internal(set) var counters = Counters()

    var detector: TalkDetector
    var jitter: JitterBuffer
    /// Allocated the first time the member's audio must be decoded (a listener never pays for it).
    var input: InputStage?
    /// Loudest RFC 6464 level among packets received since the last tick (127 = none/silent).
    var pendingLevel = AudioLevel.silence
    /// Whether the leg hands in audio levels; without them, Opus/G.722/L16 must be decoded to be heard.
    var legProvidesLevels = false
    var mixedLastTick = false
    var mixedThisTick = false
    var privateEncoder: FrameEncoder?
    var prompts: [SoundPlayer] = []

    init(id: MemberID, name: String, input: CodecConfiguration, output: CodecConfiguration, flags: MemberFlags,
         profile: ConferenceProfile, sink: MemberOutput) {
        self.id = id
        self.name = name
        inputCodec = input
        outputCodec = output
        self.flags = flags
        self.output = sink
        detector = TalkDetector(
            thresholdLevel: profile.talkThresholdLevel, onsetFrames: profile.talkOnsetFrames,
            hangoverFrames: profile.talkHangoverFrames)
        let maxPayload = input.kind == .l16 ? input.samplesPerFrame * 6 : 512
        var jitterConfiguration = JitterBuffer.Configuration(unitsPerTick: input.rtpUnitsPerFrame, maxPayloadBytes: maxPayload)
        jitterConfiguration.capacity = 32  // 640 ms of 20 ms packets: far beyond any jitter worth waiting for
        jitter = JitterBuffer(jitterConfiguration)
    }

    public var isTalking: Bool { detector.isTalking }

    /// The member's jitter buffer counters (played, lost, underruns, dropped, mean delay).
    public var jitterStatistics: JitterBuffer.Statistics { jitter.statistics }

    /// Hands in one received RTP payload (sequence number and timestamp from its header, and the
    /// RFC 6464 level when the leg has one). Garbage is counted and dropped; it never reaches the mix.
    @discardableResult
    public func receive(_ payload: UnsafeRawBufferPointer, sequence: UInt16, timestamp: UInt32, audioLevel: UInt8? = nil)
        -> JitterBuffer.InsertOutcome
    {
        counters.receivedPackets += 1
        guard !flags.onHold, let duration = inputCodec.rtpDuration(ofPayload: payload) else {
            counters.rejectedPackets += 1
            return .rejected
        }
        var level = AudioLevel.silence
        if let audioLevel {
            legProvidesLevels = true
            level = min(audioLevel & 0x7F, AudioLevel.silence)
        } else if inputCodec.kind == .pcmu || inputCodec.kind == .pcma {
            level = AudioLevel.fromMeanSquare(G711.meanSquare(payload, law: inputCodec.kind == .pcmu ? .ulaw : .alaw))
        }
        let outcome = jitter.insert(payload, sequence: sequence, timestamp: timestamp, duration: duration, level: level)
        if outcome == .rejected {
            counters.rejectedPackets += 1
        } else if outcome == .stored || outcome == .restarted {
            pendingLevel = min(pendingLevel, level)
        }
        return outcome
    }

    /// The stream spent `sequence` on a telephone event instead of audio (see `JitterBuffer.insertPause`).
    public func receivePause(sequence: UInt16, timestamp: UInt32) {
        guard !flags.onHold else { return }
        jitter.insertPause(sequence: sequence, timestamp: timestamp)
    }

    /// Whether this member's level is only known by decoding it.
    var decodesEveryTick: Bool {
        !legProvidesLevels && inputCodec.kind != .pcmu && inputCodec.kind != .pcma && jitter.isStarted
    }

    /// Decodes (or conceals) this tick's 20 ms of the member's audio into `input.frame`.
    func pullFrame() {
        if input == nil { input = InputStage(codec: inputCodec) }
        input?.pull(from: &jitter, gainSteps: inputGainSteps)
    }
}

/// The decoding half of a member: decoder, a small FIFO for packets longer than a tick, and the frame.
final class InputStage {
    let decoder: FrameDecoder?
    let frame: UnsafeMutableBufferPointer<Int16>
    private let fifo: UnsafeMutableBufferPointer<Int16>
    private var fifoCount = 0

    init(codec: CodecConfiguration) {
        decoder = FrameDecoder(codec)
        frame = .allocate(capacity: AudioFormat.frameSamples)
        frame.initialize(repeating: 0)
        fifo = .allocate(capacity: AudioFormat.maxPacketSamples + AudioFormat.frameSamples)
        fifo.initialize(repeating: 0)
    }

    deinit {
        frame.deallocate()
        fifo.deallocate()
    }

    func pull(from jitter: inout JitterBuffer, gainSteps: Int) {
        let n = AudioFormat.frameSamples
        if fifoCount < n {
            let tail = UnsafeMutableBufferPointer(rebasing: fifo[fifoCount...])
            var produced = 0
            if let decoder {
                switch jitter.next() {
                case .packet(let payload):
                    produced = decoder.decode(payload, into: tail)
                    if produced == 0 { produced = decoder.conceal(samples48k: n, into: tail) }
                case .lost(let next):
                    produced = next.map { decoder.decodeFEC(from: $0, samples48k: n, into: tail) }
                        ?? decoder.conceal(samples48k: n, into: tail)
                case .underrun:
                    produced = decoder.conceal(samples48k: n, into: tail)
                case .silence, .idle:
                    break
                }
            }
            if produced < n - fifoCount {
                // Silence (DTX, pause) or a short decode: pad to a whole frame.
                let pad = n - fifoCount - produced
                UnsafeMutableBufferPointer(rebasing: tail[produced..<(produced + pad)]).update(repeating: 0)
                produced += pad
            }
            fifoCount += produced
        }
        let gain = Gain.factor(steps: gainSteps)
        if gain == 1 {
            _ = frame.update(fromContentsOf: UnsafeMutableBufferPointer(rebasing: fifo[..<n]))
        } else {
            for i in 0..<n { frame[i] = Int16(clamping: Int32(Float(fifo[i]) * gain)) }
        }
        fifoCount -= n
        if fifoCount > 0 {
            for i in 0..<fifoCount { fifo[i] = fifo[n + i] }
        }
    }
}

enum Gain {
    /// 3 dB per step.
    static func factor(steps: Int) -> Float {
        steps == 0 ? 1 : Float(pow(10.0, Double(steps) * 3 / 20))
    }
}

#if canImport(Glibc)
import Glibc
#endif
