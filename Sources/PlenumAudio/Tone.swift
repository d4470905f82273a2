import Foundation

/// Generated tones (enter/exit beeps, test signals) and tone detection (Goertzel), at any rate.
public enum Tone {
    /// A sine of `frequency` Hz, `milliseconds` long, at `dBFS` peak, with 10 ms raised-cosine ramps.
    public static func sine(
        frequency: Double, milliseconds: Int, dBFS: Double = -9, sampleRate: Int = AudioFormat.sampleRate, ramp: Bool = true
    ) -> [Int16] {
        let count = sampleRate * milliseconds / 1000
        let amplitude = 32767 * pow(10, dBFS / 20)
        let rampSamples = ramp ? min(sampleRate / 100, count / 2) : 0
        return (0..<count).map { i in
            var gain = 1.0
            if i < rampSamples {
                gain = 0.5 - 0.5 * cos(Double.pi * Double(i) / Double(rampSamples))
            } else if i >= count - rampSamples {
                gain = 0.5 - 0.5 * cos(Double.pi * Double(count - 1 - i) / Double(rampSamples))
            }
            return Int16((amplitude * gain * sin(2 * Double.pi * frequency * Double(i) / Double(sampleRate))).rounded())
        }
    }

    /// Power of `frequency` in `samples` relative to the total power, in dB (0 = all energy at that
    /// frequency). Goertzel's algorithm over the whole block.
    public static func relativePower(of frequency: Double, in samples: ArraySlice<Int16>, sampleRate: Int) -> Double {
        guard samples.count > 0 else { return -200 }
        let n = Double(samples.count)
        // Evaluated at the exact frequency (not the nearest DFT bin), so block lengths need not hold
        // a whole number of cycles.
        let coefficient = 2 * cos(2 * Double.pi * frequency / Double(sampleRate))
        var s1 = 0.0, s2 = 0.0, total = 0.0
        for sample in samples {
            let x = Double(sample)
            total += x * x
            let s0 = x + coefficient * s1 - s2
            s2 = s1
            s1 = s0
        }
        let power = (s1 * s1 + s2 * s2 - coefficient * s1 * s2) * 2 / n
        guard total > 0 else { return -200 }
        return 10 * log10(max(power, 1e-12) / total)
    }
}
