import Foundation

/// 16-bit PCM mono WAV files (RIFF/WAVE, format 1): prompts in, recordings and test captures out.
public struct WAVFile: Sendable, Equatable {
    public var sampleRate: Int
    public var samples: [Int16]

    public init(sampleRate: Int, samples: [Int16]) {
        self.sampleRate = sampleRate
        self.samples = samples
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case notRIFFWAVE, missingChunk(String), unsupportedFormat(String)
        public var description: String {
            switch self {
            case .notRIFFWAVE: "not a RIFF/WAVE file"
            case .missingChunk(let name): "no '\(name)' chunk"
            case .unsupportedFormat(let what): "unsupported WAV format: \(what)"
            }
        }
    }

    public init(contentsOf url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    public init(data: Data) throws {
        let bytes = [UInt8](data)
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8)
        else { throw ParseError.notRIFFWAVE }
        var offset = 12
        var format: (channels: Int, rate: Int, bits: Int, tag: Int)?
        var pcm: ArraySlice<UInt8>?
        while offset + 8 <= bytes.count {
            let size = u32(offset + 4)
            let body = offset + 8
            guard size >= 0, body + size <= bytes.count else { break }
            if bytes[offset..<(offset + 4)].elementsEqual("fmt ".utf8), size >= 16 {
                format = (u16(body + 2), u32(body + 4), u16(body + 14), u16(body))
            } else if bytes[offset..<(offset + 4)].elementsEqual("data".utf8) {
                pcm = bytes[body..<(body + size)]
            }
            offset = body + size + (size & 1)
        }
        guard let format else { throw ParseError.missingChunk("fmt ") }
        guard let pcm else { throw ParseError.missingChunk("data") }
        guard format.tag == 1 || format.tag == 0xFFFE, format.bits == 16 else {
            throw ParseError.unsupportedFormat("tag \(format.tag), \(format.bits) bits")
        }
        guard format.channels >= 1, format.rate > 0 else { throw ParseError.unsupportedFormat("\(format.channels) channels") }
        sampleRate = format.rate
        // Mix down to mono.
        let frames = pcm.count / (2 * format.channels)
        var out = [Int16](repeating: 0, count: frames)
        let start = pcm.startIndex
        for frame in 0..<frames {
            var sum = 0
            for channel in 0..<format.channels {
                let at = start + (frame * format.channels + channel) * 2
                sum += Int(Int16(bitPattern: UInt16(pcm[at]) | UInt16(pcm[at + 1]) << 8))
            }
            out[frame] = Int16(clamping: sum / format.channels)
        }
        samples = out
    }

    public func data() -> Data {
        var data = Data()
        func put32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
        func put16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: "RIFF".utf8)
        put32(36 + samples.count * 2)
        data.append(contentsOf: "WAVEfmt ".utf8)
        put32(16); put16(1); put16(1); put32(sampleRate); put32(sampleRate * 2); put16(2); put16(16)
        data.append(contentsOf: "data".utf8)
        put32(samples.count * 2)
        for s in samples { put16(Int(UInt16(bitPattern: s))) }
        return data
    }

    /// The same audio at 48 kHz (the bridge's internal rate), through the speexdsp resampler.
    public func resampled(to rate: Int) -> WAVFile {
        guard rate != sampleRate, let resampler = Resampler(from: sampleRate, to: rate) else { return self }
        var out = [Int16](repeating: 0, count: samples.count * rate / sampleRate + 64)
        let produced = samples.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { resampler.process(input, into: $0) }
        }
        out.removeLast(out.count - produced)
        return WAVFile(sampleRate: rate, samples: out)
    }
}
