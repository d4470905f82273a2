import Foundation
import PlenumAudio

/// A sound ready to mix: 48 kHz mono samples, shared read-only between players.
public final class Sound: Sendable {
    public let name: String
    public let samples: [Int16]
    public init(name: String, samples: [Int16]) {
        self.name = name
        self.samples = samples
    }
}

/// Prompts and tones from a FreeSWITCH-style tree: `sounds/<lang>/plenum/conference/<rate>/<name>.wav`
/// and `sounds/tones/<rate>/<name>.wav`. Files are read once, at the 48 kHz rate when present
/// (otherwise the best other rate, resampled), and cached.
public final class SoundLibrary: @unchecked Sendable {
    public let root: URL
    private let lock = NSLock()
    private var cache: [String: Sound] = [:]

    public init(root: URL) { self.root = root }

    /// A prompt by FreeSWITCH name (`conf-muted`) in `language`, falling back to English.
    public func prompt(_ name: String, language: String) -> Sound? {
        load(key: "\(language)/\(name)", folders: [
            root.appendingPathComponent("\(language)/plenum/conference"),
            root.appendingPathComponent("en/plenum/conference"),
        ], name: name)
    }

    /// A tone (`enter`, `exit`, `beep`, `pin-ok`).
    public func tone(_ name: String) -> Sound? {
        load(key: "tones/\(name)", folders: [root.appendingPathComponent("tones")], name: name)
    }

    private func load(key: String, folders: [URL], name: String) -> Sound? {
        lock.lock()
        defer { lock.unlock() }
        if let cached = cache[key] { return cached }
        for folder in folders {
            for rate in [48_000, 16_000, 8000] {
                let url = folder.appendingPathComponent("\(rate)/\(name).wav")
                guard let wav = try? WAVFile(contentsOf: url) else { continue }
                let sound = Sound(name: name, samples: wav.resampled(to: AudioFormat.sampleRate).samples)
                cache[key] = sound
                return sound
            }
        }
        return nil
    }
}

/// Plays one sound into a conference, 20 ms at a time.
struct SoundPlayer {
    let sound: Sound
    var position = 0

    var isFinished: Bool { position >= sound.samples.count }

    /// Adds the next frame into `mix`.
    mutating func mix(into mix: UnsafeMutableBufferPointer<Int32>) {
        let end = min(position + mix.count, sound.samples.count)
        sound.samples.withUnsafeBufferPointer { samples in
            var i = 0
            while position + i < end {
                mix[i] &+= Int32(samples[position + i])
                i += 1
            }
        }
        position = end
    }
}
