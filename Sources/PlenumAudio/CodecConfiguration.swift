/// The codecs the bridge speaks.
public enum CodecKind: String, Hashable, Sendable, Codable, CaseIterable {
    /// RFC 7587; RTP clock 48 kHz whatever the encoder's internal rate.
    case opus
    /// G.711 µ-law (PCMU), 8 kHz.
    case pcmu
    /// G.711 A-law (PCMA), 8 kHz.
    case pcma
    /// G.722 at 64 kbit/s: 16 kHz audio with an 8 kHz RTP clock (RFC 3551 §4.5.2, a historical error kept).
    case g722
    /// Linear 16-bit big-endian PCM (RFC 3551 L16) at `sampleRate`.
    case l16
}

/// Everything that makes two encoded streams differ. Members whose configurations are equal can share
/// one encoded frame per tick: the key of the bridge's encode-once grouping.
public struct CodecConfiguration: Hashable, Sendable, Codable {
    public var kind: CodecKind
    /// The codec's audio rate: Opus 8000/16000/24000/48000, L16 any of 8000/16000/48000; fixed for G.711
    /// (8000) and G.722 (16000).
    public var sampleRate: Int
    /// Opus target bit rate in bit/s.
    public var bitrate: Int
    /// Opus in-band forward error correction (LBRR frames, RFC 7587 §3.1.1).
    public var forwardErrorCorrection: Bool
    /// Opus: the packet loss the receivers report (RTCP), bucketed by the leg (0, 5, 10, 20 %). With FEC on,
    /// the encoder spends bits on redundancy in proportion; at 0 it sends none and keeps full quality
    /// (measured: 10 % costs about 0.5 PESQ-WB at 32 kbit/s). Part of the group key, so listeners on lossy
    /// links share a more robust encode without taxing everybody else.
    public var expectedLossPercent: Int
    /// Opus discontinuous transmission: silence is sent as rare small packets.
    public var discontinuousTransmission: Bool
    /// Packet time in milliseconds (multiples of 20 for now).
    public var packetTime: Int

    public init(
        kind: CodecKind, sampleRate: Int? = nil, bitrate: Int = 32_000, forwardErrorCorrection: Bool = true,
        discontinuousTransmission: Bool = false, packetTime: Int = 20, expectedLossPercent: Int = 0
    ) {
        self.kind = kind
        switch kind {
        case .pcmu, .pcma: self.sampleRate = 8000
        case .g722: self.sampleRate = 16_000
        case .opus, .l16: self.sampleRate = sampleRate ?? 48_000
        }
        self.bitrate = kind == .opus ? bitrate : 0
        self.forwardErrorCorrection = kind == .opus && forwardErrorCorrection
        self.discontinuousTransmission = kind == .opus && discontinuousTransmission
        self.packetTime = packetTime
        self.expectedLossPercent = kind == .opus ? max(0, min(100, expectedLossPercent)) : 0
    }

    public static let opus = CodecConfiguration(kind: .opus)
    public static let pcmu = CodecConfiguration(kind: .pcmu)
    public static let pcma = CodecConfiguration(kind: .pcma)
    public static let g722 = CodecConfiguration(kind: .g722)

    /// The RTP timestamp clock rate (RFC 3551, RFC 7587).
    public var rtpClockRate: Int {
        switch kind {
        case .opus: 48_000
        case .pcmu, .pcma, .g722: 8000
        case .l16: sampleRate
        }
    }

    /// RTP timestamp units in one 20 ms internal frame.
    public var rtpUnitsPerFrame: Int { rtpClockRate / 50 }

    /// Codec-rate samples in one 20 ms frame.
    public var samplesPerFrame: Int { sampleRate / 50 }

    /// Whether the configuration is one the codec can run.
    public var isValid: Bool {
        switch kind {
        case .opus: [8000, 12_000, 16_000, 24_000, 48_000].contains(sampleRate) && (6000...510_000).contains(bitrate)
        case .l16: [8000, 16_000, 32_000, 44_100, 48_000].contains(sampleRate)
        case .pcmu, .pcma, .g722: true
        }
    }

    /// An upper bound for one encoded 20 ms frame, in bytes.
    public var maxFrameBytes: Int {
        switch kind {
        case .opus: 1275
        case .pcmu, .pcma: 160
        case .g722: 160
        case .l16: samplesPerFrame * 2
        }
    }

    /// The duration of a received payload in RTP units, or nil when the payload cannot be this codec's.
    public func rtpDuration(ofPayload payload: UnsafeRawBufferPointer) -> Int? {
        switch kind {
        case .opus:
            guard let samples = OpusPacket.sampleCount(payload), samples > 0 else { return nil }
            return samples
        case .pcmu, .pcma, .g722:
            return payload.isEmpty ? nil : payload.count
        case .l16:
            return payload.isEmpty || payload.count % 2 != 0 ? nil : payload.count / 2
        }
    }
}
