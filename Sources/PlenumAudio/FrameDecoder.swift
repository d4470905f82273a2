import COpus
import CPlenumShims

/// Decodes received payloads of one codec to the internal format (48 kHz mono) and conceals losses:
/// Opus in-band FEC and PLC (libopus), G.711/G.722/L16 PLC by spandsp's pitch repetition.
/// Allocates only in `init`.
public final class FrameDecoder {
    public let configuration: CodecConfiguration
    private enum Backend {
        case opus(OpaquePointer)
        case g711(G711.Law)
        case g722(UnsafeMutableRawPointer)
        case l16
    }
    private let backend: Backend
    private let resampler: Resampler?
    /// spandsp PLC state for the codecs without their own concealment.
    private let concealment: UnsafeMutableRawPointer?
    private let codecScratch: UnsafeMutableBufferPointer<Int16>

    public init?(_ configuration: CodecConfiguration) {
        guard configuration.isValid else { return nil }
        self.configuration = configuration
        switch configuration.kind {
        case .opus:
            var error: Int32 = 0
            // Always decode Opus at 48 kHz: whatever rate the far end encodes at, no resampler is needed.
            guard let decoder = opus_decoder_create(48_000, 1, &error), error == OPUS_OK else { return nil }
            backend = .opus(decoder)
        case .pcmu: backend = .g711(.ulaw)
        case .pcma: backend = .g711(.alaw)
        case .g722:
            let state = UnsafeMutableRawPointer.allocate(byteCount: plenum_g722_decode_state_size(), alignment: 16)
            plenum_g722_decoder_init(state)
            backend = .g722(state)
        case .l16: backend = .l16
        }
        let codecRate = configuration.kind == .opus ? AudioFormat.sampleRate : configuration.sampleRate
        if codecRate != AudioFormat.sampleRate {
            guard let resampler = Resampler(from: codecRate, to: AudioFormat.sampleRate) else { return nil }
            self.resampler = resampler
            let plc = UnsafeMutableRawPointer.allocate(byteCount: plenum_plc_state_size(), alignment: 16)
            plenum_plc_init(plc)
            concealment = plc
        } else {
            resampler = nil
            if configuration.kind == .l16 {
                let plc = UnsafeMutableRawPointer.allocate(byteCount: plenum_plc_state_size(), alignment: 16)
                plenum_plc_init(plc)
                concealment = plc
            } else {
                concealment = nil
            }
        }
        codecScratch = .allocate(capacity: AudioFormat.maxPacketSamples)
        codecScratch.initialize(repeating: 0)
    }

    deinit {
        switch backend {
        case .opus(let decoder): opus_decoder_destroy(decoder)
        case .g722(let state): state.deallocate()
        case .g711, .l16: break
        }
        concealment?.deallocate()
        codecScratch.deallocate()
    }

    /// Decodes one payload; returns the number of 48 kHz samples written (0 for a payload the codec rejects).
    public func decode(_ payload: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        guard let inBase = payload.baseAddress, !payload.isEmpty else { return 0 }
        switch backend {
        case .opus(let decoder):
            guard let outBase = out.baseAddress else { return 0 }
            let n = opus_decode(
                decoder, inBase.assumingMemoryBound(to: UInt8.self), Int32(payload.count), outBase,
                Int32(min(out.count, AudioFormat.maxPacketSamples)), 0)
            return max(0, Int(n))
        case .g711(let law):
            let limit = maxCodecSamples(for: out)
            let n = G711.decode(UnsafeRawBufferPointer(rebasing: payload.prefix(limit)), law: law, into: codecScratch)
            return finishCodecSamples(n, into: out)
        case .g722(let state):
            let limit = maxCodecSamples(for: out) / 2
            guard let scratch = codecScratch.baseAddress else { return 0 }
            let n = plenum_g722_decode(
                state, scratch, inBase.assumingMemoryBound(to: UInt8.self), Int32(min(payload.count, limit)))
            return finishCodecSamples(Int(n), into: out)
        case .l16:
            let n = min(payload.count / 2, maxCodecSamples(for: out))
            for i in 0..<n {
                codecScratch[i] = Int16(bitPattern: UInt16(bigEndian: payload.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
            }
            return finishCodecSamples(n, into: out)
        }
    }

    /// Reconstructs a lost packet from the in-band FEC data of the packet after it (Opus only);
    /// falls back to concealment. Returns 48 kHz samples written (`samples48k`).
    public func decodeFEC(from next: UnsafeRawBufferPointer, samples48k: Int, into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        guard case .opus(let decoder) = backend, let inBase = next.baseAddress, !next.isEmpty, let outBase = out.baseAddress
        else { return conceal(samples48k: samples48k, into: out) }
        let n = opus_decode(
            decoder, inBase.assumingMemoryBound(to: UInt8.self), Int32(next.count), outBase,
            Int32(min(samples48k, out.count)), 1)
        return n > 0 ? Int(n) : conceal(samples48k: samples48k, into: out)
    }

    /// Fills a gap with concealment (or comfort silence after the codec's fade-out).
    public func conceal(samples48k: Int, into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        let count = min(samples48k, out.count)
        guard let outBase = out.baseAddress else { return 0 }
        switch backend {
        case .opus(let decoder):
            let n = opus_decode(decoder, nil, 0, outBase, Int32(count), 0)
            return max(0, Int(n))
        case .g711, .g722, .l16:
            let codecRate = resampler?.inputRate ?? AudioFormat.sampleRate
            let codecCount = count * codecRate / AudioFormat.sampleRate
            guard let plc = concealment, let scratch = codecScratch.baseAddress else { return 0 }
            plenum_plc_fillin(plc, scratch, Int32(codecCount))
            return resample(codecCount, into: out)
        }
    }

    private func maxCodecSamples(for out: UnsafeMutableBufferPointer<Int16>) -> Int {
        let codecRate = resampler?.inputRate ?? AudioFormat.sampleRate
        return min(codecScratch.count, out.count * codecRate / AudioFormat.sampleRate)
    }

    private func finishCodecSamples(_ count: Int, into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        guard count > 0 else { return 0 }
        if let plc = concealment, let scratch = codecScratch.baseAddress { plenum_plc_rx(plc, scratch, Int32(count)) }
        return resample(count, into: out)
    }

    private func resample(_ count: Int, into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        let input = UnsafeBufferPointer(rebasing: codecScratch[..<count])
        guard let resampler else {
            return UnsafeMutableBufferPointer(rebasing: out[..<count]).initialize(from: input).1
        }
        return resampler.process(input, into: out)
    }
}
