import COpus
import CPlenumShims

/// Encodes 20 ms frames of the internal format (48 kHz mono) with one codec configuration.
/// Resampling to the codec's rate and packet times above 20 ms are handled here. Allocates only in
/// `init`; `encode` and `copyState` do not allocate.
public final class FrameEncoder {
    public let configuration: CodecConfiguration
    private enum Backend {
        case opus(OpaquePointer)
        case g711(G711.Law)
        case g722(UnsafeMutableRawPointer)
        case l16
    }
    private let backend: Backend
    private let resampler: Resampler?
    /// Codec-rate samples collected for one packet (several frames when the packet time is above 20 ms).
    private let packetSamples: UnsafeMutableBufferPointer<Int16>
    private let resampleScratch: UnsafeMutableBufferPointer<Int16>
    private var collectedFrames = 0
    public let framesPerPacket: Int
    /// Encoder look-ahead in 48 kHz samples (part of the bridge's added latency).
    public private(set) var lookahead48k = 0

    public init?(_ configuration: CodecConfiguration, complexity: Int32 = 9) {
        guard configuration.isValid, configuration.packetTime >= 20, configuration.packetTime % 20 == 0,
            configuration.packetTime <= 120
        else { return nil }
        self.configuration = configuration
        framesPerPacket = configuration.packetTime / 20
        switch configuration.kind {
        case .opus:
            var error: Int32 = 0
            guard let encoder = opus_encoder_create(Int32(configuration.sampleRate), 1, OPUS_APPLICATION_VOIP, &error),
                error == OPUS_OK
            else { return nil }
            plenum_opus_set_bitrate(encoder, Int32(configuration.bitrate))
            plenum_opus_set_complexity(encoder, complexity)
            plenum_opus_set_signal_voice(encoder)
            plenum_opus_set_inband_fec(encoder, configuration.forwardErrorCorrection ? 1 : 0)
            plenum_opus_set_packet_loss_percent(encoder, Int32(configuration.expectedLossPercent))
            plenum_opus_set_dtx(encoder, configuration.discontinuousTransmission ? 1 : 0)
            var lookahead: Int32 = 0
            plenum_opus_get_lookahead(encoder, &lookahead)
            lookahead48k = Int(lookahead) * 48_000 / configuration.sampleRate
            backend = .opus(encoder)
        case .pcmu: backend = .g711(.ulaw)
        case .pcma: backend = .g711(.alaw)
        case .g722:
            let state = UnsafeMutableRawPointer.allocate(byteCount: plenum_g722_encode_state_size(), alignment: 16)
            plenum_g722_encoder_init(state)
            backend = .g722(state)
        case .l16: backend = .l16
        }
        if configuration.sampleRate != AudioFormat.sampleRate {
            guard let resampler = Resampler(from: AudioFormat.sampleRate, to: configuration.sampleRate) else {
                return nil
            }
            self.resampler = resampler
        } else {
            resampler = nil
        }
        packetSamples = .allocate(capacity: configuration.samplesPerFrame * framesPerPacket)
        packetSamples.initialize(repeating: 0)
        resampleScratch = .allocate(capacity: AudioFormat.frameSamples)
        resampleScratch.initialize(repeating: 0)
    }

    deinit {
        switch backend {
        case .opus(let encoder): opus_encoder_destroy(encoder)
        case .g722(let state): state.deallocate()
        case .g711, .l16: break
        }
        packetSamples.deallocate()
        resampleScratch.deallocate()
    }

    /// Adds one 20 ms frame (960 samples at 48 kHz). Returns the size of the packet written to `out`, or
    /// 0 when there is nothing to send this tick (packet not full yet, or an Opus DTX frame).
    public func encode(_ frame: UnsafeBufferPointer<Int16>, into out: UnsafeMutableRawBufferPointer) -> Int {
        let perFrame = configuration.samplesPerFrame
        let target = UnsafeMutableBufferPointer(rebasing: packetSamples[(collectedFrames * perFrame)...])
        if let resampler {
            resampler.process(frame, into: UnsafeMutableBufferPointer(rebasing: target[..<perFrame]))
        } else {
            _ = UnsafeMutableBufferPointer(rebasing: target[..<perFrame]).initialize(from: frame.prefix(perFrame))
        }
        collectedFrames += 1
        guard collectedFrames == framesPerPacket else { return 0 }
        collectedFrames = 0
        let samples = UnsafeBufferPointer(packetSamples)
        guard let outBase = out.baseAddress, let inBase = samples.baseAddress else { return 0 }
        switch backend {
        case .opus(let encoder):
            let written = opus_encode(
                encoder, inBase, Int32(samples.count), outBase.assumingMemoryBound(to: UInt8.self), Int32(out.count))
            // RFC 7587 §3.1.3: with DTX a 1-2 byte result means "no need to transmit".
            return written > 2 ? Int(written) : 0
        case .g711(let law):
            return G711.encode(samples, law: law, into: out)
        case .g722(let state):
            let bytes = samples.count / 2
            guard out.count >= bytes else { return 0 }
            return Int(plenum_g722_encode(state, outBase.assumingMemoryBound(to: UInt8.self), inBase, Int32(samples.count)))
        case .l16:
            let bytes = samples.count * 2
            guard out.count >= bytes else { return 0 }
            for (i, sample) in samples.enumerated() {
                out.storeBytes(of: UInt16(bitPattern: sample).bigEndian, toByteOffset: i * 2, as: UInt16.self)
            }
            return bytes
        }
    }

    /// Makes this encoder continue `other`'s stream: codec state copied, resampler primed with the
    /// frame `other` last encoded. A member moving between the shared listener encoder and a private
    /// one keeps a continuous stream this way (no reset, no click at the far end).
    public func copyState(from other: FrameEncoder, lastInput: UnsafeBufferPointer<Int16>) {
        guard other.configuration == configuration else { return }
        switch (backend, other.backend) {
        case (.opus(let mine), .opus(let theirs)):
            plenum_opus_encoder_copy(mine, theirs, 1)
        case (.g722(let mine), .g722(let theirs)):
            mine.copyMemory(from: theirs, byteCount: plenum_g722_encode_state_size())
        default: break
        }
        resampler?.prime(with: lastInput, scratch: resampleScratch)
        collectedFrames = other.collectedFrames
        if collectedFrames > 0 {
            _ = packetSamples.update(fromContentsOf: other.packetSamples)
        }
    }
}
