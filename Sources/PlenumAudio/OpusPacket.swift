import COpus

/// Facts about an Opus packet read from its TOC byte (RFC 6716 §3.1) through libopus.
public enum OpusPacket {
    /// Samples at 48 kHz the packet decodes to, or nil for a malformed packet.
    public static func sampleCount(_ payload: UnsafeRawBufferPointer) -> Int? {
        guard let base = payload.baseAddress, !payload.isEmpty, payload.count <= 1275 * 6 else { return nil }
        let samples = opus_packet_get_nb_samples(base.assumingMemoryBound(to: UInt8.self), Int32(payload.count), 48_000)
        guard samples > 0, Int(samples) <= AudioFormat.maxPacketSamples else { return nil }
        return Int(samples)
    }

    /// A DTX packet carries only a TOC byte (or two): the sender is silent until further notice.
    public static func isDiscontinuousTransmission(_ payload: UnsafeRawBufferPointer) -> Bool {
        payload.count <= 2
    }
}
