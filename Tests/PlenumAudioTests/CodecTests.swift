import Foundation
import PlenumAudio
import Testing

/// Runs `seconds` of a 48 kHz tone through an encoder and a decoder; returns the decoded audio.
func roundTrip(_ configuration: CodecConfiguration, frequency: Double, seconds: Double = 1) -> [Int16] {
    let encoder = FrameEncoder(configuration)!
    let decoder = FrameDecoder(configuration)!
    let input = Tone.sine(frequency: frequency, milliseconds: Int(seconds * 1000), dBFS: -12, ramp: false)
    var output: [Int16] = []
    var packet = [UInt8](repeating: 0, count: 1500)
    var decoded = [Int16](repeating: 0, count: AudioFormat.maxPacketSamples)
    for start in stride(from: 0, to: input.count - 959, by: 960) {
        let bytes = input[start..<(start + 960)].withUnsafeBufferPointer { frame in
            packet.withUnsafeMutableBytes { encoder.encode(frame, into: $0) }
        }
        guard bytes > 0 else { continue }
        let n = packet.withUnsafeBytes { raw in
            decoded.withUnsafeMutableBufferPointer { decoder.decode(UnsafeRawBufferPointer(rebasing: raw[..<bytes]), into: $0) }
        }
        output += decoded[..<n]
    }
    return output
}

@Suite struct CodecTests {
    @Test(arguments: [
        (CodecConfiguration.opus, 1000.0, -1.0),
        (CodecConfiguration(kind: .opus, sampleRate: 16_000, bitrate: 24_000), 700.0, -1.0),
        (CodecConfiguration(kind: .opus, sampleRate: 8000, bitrate: 12_000), 440.0, -1.5),
        (CodecConfiguration(kind: .opus, sampleRate: 24_000), 1500.0, -1.0),
        (CodecConfiguration.pcmu, 440.0, -0.5),
        (CodecConfiguration.pcma, 1000.0, -0.5),
        (CodecConfiguration.g722, 3000.0, -0.5),
        (CodecConfiguration.g722, 6500.0, -1.0),  // wideband: above telephone band
        (CodecConfiguration(kind: .l16, sampleRate: 16_000), 1200.0, -0.1),
        (CodecConfiguration(kind: .opus, packetTime: 40), 600.0, -1.0),
    ])
    func toneSurvivesRoundTrip(configuration: CodecConfiguration, frequency: Double, minimumDB: Double) {
        let out = roundTrip(configuration, frequency: frequency)
        #expect(out.count >= 40 * 960)
        // Skip codec start-up (first 100 ms); the tone must dominate: stated as "SNR" = power share.
        let steady = out[4800...]
        let share = Tone.relativePower(of: frequency, in: steady, sampleRate: 48_000)
        #expect(share > minimumDB, "\(configuration.kind) \(configuration.sampleRate): tone share \(share) dB")
        let level = steady.withContiguousStorageIfAvailable { AudioLevel.of($0) } ?? 127
        #expect((12...18).contains(Int(level)), "level \(level) for a -12 dBFS sine (-15 dBov)")
    }

    @Test func g711TableRoundTripIsWithinQuantisation() {
        let tone = Tone.sine(frequency: 440, milliseconds: 20, dBFS: -6, sampleRate: 8000, ramp: false)
        var bytes = [UInt8](repeating: 0, count: 160)
        var back = [Int16](repeating: 0, count: 160)
        for law in [G711.Law.ulaw, .alaw] {
            _ = tone.withUnsafeBufferPointer { t in bytes.withUnsafeMutableBytes { G711.encode(t, law: law, into: $0) } }
            _ = bytes.withUnsafeBytes { b in back.withUnsafeMutableBufferPointer { G711.decode(b, law: law, into: $0) } }
            for (a, b) in zip(tone, back) { #expect(abs(Int(a) - Int(b)) <= max(16, abs(Int(a)) / 16)) }
            let ms = bytes.withUnsafeBytes { G711.meanSquare($0, law: law) }
            #expect(AudioLevel.fromMeanSquare(ms) == 9)  // -6 dBFS sine = -9 dBov
        }
    }

    @Test func garbagePayloadsDecodeToNothingOrConcealment() {
        let decoder = FrameDecoder(.opus)!
        var out = [Int16](repeating: 0, count: AudioFormat.maxPacketSamples)
        for garbage: [UInt8] in [[], [0xFF], [0xFF, 0xFF, 0xFF, 0xFF], Array(repeating: 0x0B, count: 1500)] {
            let n = garbage.withUnsafeBytes { g in out.withUnsafeMutableBufferPointer { decoder.decode(g, into: $0) } }
            #expect(n >= 0 && n <= AudioFormat.maxPacketSamples)
        }
        #expect([UInt8]([0xFF, 0xFF, 0xFF]).withUnsafeBytes { OpusPacket.sampleCount($0) } == nil)
        let concealed = out.withUnsafeMutableBufferPointer { decoder.conceal(samples48k: 960, into: $0) }
        #expect(concealed == 960)
    }

    @Test func resamplerKeepsExactFrameCounts() {
        let up = Resampler(from: 8000, to: 48_000)!
        let down = Resampler(from: 48_000, to: 16_000)!
        var frame8 = [Int16](repeating: 100, count: 160)
        var frame48 = [Int16](repeating: 0, count: 960)
        var frame16 = [Int16](repeating: 0, count: 320)
        for _ in 0..<50 {
            let a = frame8.withUnsafeMutableBufferPointer { f in frame48.withUnsafeMutableBufferPointer { up.process(UnsafeBufferPointer(f), into: $0) } }
            let b = frame48.withUnsafeMutableBufferPointer { f in frame16.withUnsafeMutableBufferPointer { down.process(UnsafeBufferPointer(f), into: $0) } }
            #expect(a == 960 && b == 320)
        }
        frame8[0] = 0
    }

    @Test func clonedEncoderContinuesTheStreamByteForByte() {
        let shared = FrameEncoder(.opus)!
        let clone = FrameEncoder(.opus)!
        let tone = Tone.sine(frequency: 500, milliseconds: 200, ramp: false)
        var a = [UInt8](repeating: 0, count: 1500), b = a
        for start in stride(from: 0, to: 960 * 5, by: 960) {
            _ = tone[start..<(start + 960)].withUnsafeBufferPointer { f in a.withUnsafeMutableBytes { shared.encode(f, into: $0) } }
        }
        tone[(960 * 4)..<(960 * 5)].withUnsafeBufferPointer { clone.copyState(from: shared, lastInput: $0) }
        let next = tone[(960 * 5)..<(960 * 6)]
        let n1 = next.withUnsafeBufferPointer { f in a.withUnsafeMutableBytes { shared.encode(f, into: $0) } }
        let n2 = next.withUnsafeBufferPointer { f in b.withUnsafeMutableBytes { clone.encode(f, into: $0) } }
        #expect(n1 == n2 && a[..<n1] == b[..<n2])
    }

    /// Opus in-band FEC (RFC 7587 §3.1.1): a lost packet rebuilt from the next one is closer to the
    /// original than plain concealment.
    @Test func opusFECBeatsConcealment() {
        // FEC data is only sent when the receivers report loss (here 10 %).
        let encoder = FrameEncoder(CodecConfiguration(kind: .opus, bitrate: 32_000, expectedLossPercent: 10))!
        let tone = Tone.sine(frequency: 700, milliseconds: 1000, dBFS: -12, ramp: false)
        var packets: [[UInt8]] = []
        var out = [UInt8](repeating: 0, count: 1500)
        for start in stride(from: 0, to: tone.count, by: 960) {
            let n = tone[start..<(start + 960)].withUnsafeBufferPointer { f in out.withUnsafeMutableBytes { encoder.encode(f, into: $0) } }
            packets.append(Array(out[..<n]))
        }
        func decodeAll(lost: Int, useFEC: Bool) -> [Int16] {
            let decoder = FrameDecoder(.opus)!
            var pcm = [Int16](repeating: 0, count: 5760)
            var result: [Int16] = []
            for (i, packet) in packets.enumerated() {
                let n: Int
                if i == lost {
                    n = pcm.withUnsafeMutableBufferPointer { buffer in
                        useFEC ? packets[i + 1].withUnsafeBytes { decoder.decodeFEC(from: $0, samples48k: 960, into: buffer) }
                            : decoder.conceal(samples48k: 960, into: buffer)
                    }
                } else {
                    n = packet.withUnsafeBytes { p in pcm.withUnsafeMutableBufferPointer { decoder.decode(p, into: $0) } }
                }
                result += pcm[..<n]
            }
            return result
        }
        let reference = decodeAll(lost: -1, useFEC: false)
        func error(_ x: [Int16]) -> Double {
            zip(x[(25 * 960)..<(27 * 960)], reference[(25 * 960)..<(27 * 960)]).reduce(0) { $0 + pow(Double($1.0) - Double($1.1), 2) }
        }
        let withFEC = error(decodeAll(lost: 25, useFEC: true))
        let withPLC = error(decodeAll(lost: 25, useFEC: false))
        #expect(withFEC < withPLC / 2, "FEC error \(withFEC) vs PLC \(withPLC)")
    }

    @Test func wavRoundTripAndErrors() throws {
        let wav = WAVFile(sampleRate: 16_000, samples: Tone.sine(frequency: 440, milliseconds: 500, sampleRate: 16_000, ramp: false))
        #expect(try WAVFile(data: wav.data()) == wav)
        #expect(throws: WAVFile.ParseError.notRIFFWAVE) { try WAVFile(data: Data("hello".utf8)) }
        let up = wav.resampled(to: 48_000)
        #expect(abs(up.samples.count - 24_000) < 64)
        #expect(Tone.relativePower(of: 440, in: up.samples[480...], sampleRate: 48_000) > -1)
    }

    @Test func talkDetectorHasHysteresis() {
        var detector = TalkDetector(thresholdLevel: 50, onsetFrames: 2, hangoverFrames: 5)
        #expect(detector.update(level: 30) == false)  // one loud frame is not talking yet
        #expect(detector.update(level: 30) == true && detector.isTalking)
        for _ in 0..<4 { #expect(detector.update(level: 100) == false) }  // a pause between syllables
        #expect(detector.update(level: 30) == false && detector.isTalking)
        for _ in 0..<4 { _ = detector.update(level: 100) }
        #expect(detector.update(level: 100) == true && !detector.isTalking)
        #expect(detector.update(level: 51) == false)  // below threshold stays quiet
    }
}
