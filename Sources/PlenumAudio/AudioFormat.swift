/// The bridge's internal audio format: 48 kHz mono, 16-bit samples, 20 ms frames.
/// Everything that enters a conference is converted to this; everything that leaves is converted
/// from it, once per distinct encoder configuration.
public enum AudioFormat {
    public static let sampleRate = 48_000
    public static let frameMilliseconds = 20
    /// Samples in one internal frame (one mixer tick).
    public static let frameSamples = sampleRate * frameMilliseconds / 1000
    /// The longest packet any supported codec carries (Opus allows 120 ms), in internal samples.
    public static let maxPacketSamples = sampleRate * 120 / 1000

    @inline(__always)
    public static func saturate(_ value: Int32) -> Int16 {
        Int16(clamping: value)
    }
}
