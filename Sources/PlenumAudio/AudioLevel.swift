import Foundation

/// Audio levels in RFC 6464 terms: -dBov from 0 (loudest) to 127 (silence). Browsers send this in an
/// RTP header extension, so the bridge knows who talks without decoding anyone.
public enum AudioLevel {
    public static let silence: UInt8 = 127

    /// Level of a mean square of 16-bit samples, relative to a full-scale square wave (RFC 6464 §3: dBov).
    public static func fromMeanSquare(_ meanSquare: Double) -> UInt8 {
        guard meanSquare > 0 else { return silence }
        let dBov = 10 * log10(meanSquare / (32767.0 * 32767.0))
        return UInt8(clamping: Int((-dBov).rounded()).clamped(to: 0...127))
    }

    public static func meanSquare(_ samples: UnsafeBufferPointer<Int16>) -> Double {
        guard !samples.isEmpty else { return 0 }
        var sum: Int64 = 0
        for s in samples { sum &+= Int64(s) * Int64(s) }
        return Double(sum) / Double(samples.count)
    }

    public static func of(_ samples: UnsafeBufferPointer<Int16>) -> UInt8 { fromMeanSquare(meanSquare(samples)) }
}

extension Comparable {
    func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}

/// Talker detection with hysteresis: a member starts talking after `onsetFrames` consecutive frames
/// at or above the threshold and stops after `hangoverFrames` below it, so a speaker is not switched
/// in and out between syllables.
public struct TalkDetector: Sendable {
    /// RFC 6464 level at or below which a frame counts as speech (smaller is louder). 50 ≈ -50 dBov.
    public var thresholdLevel: UInt8
    public var onsetFrames: Int
    public var hangoverFrames: Int
    public private(set) var isTalking = false
    /// Smoothed loudness (higher is louder: 127 - level) used to rank talkers.
    public private(set) var loudness: Double = 0
    private var aboveCount = 0
    private var belowCount = 0

    public init(thresholdLevel: UInt8 = 50, onsetFrames: Int = 2, hangoverFrames: Int = 25) {
        self.thresholdLevel = thresholdLevel
        self.onsetFrames = onsetFrames
        self.hangoverFrames = hangoverFrames
    }

    /// Feeds one frame's level; returns true when `isTalking` changed.
    public mutating func update(level: UInt8) -> Bool {
        loudness = loudness * 0.8 + Double(127 - min(level, 127)) * 0.2
        let loud = level <= thresholdLevel
        if loud {
            aboveCount += 1
            belowCount = 0
        } else {
            belowCount += 1
            aboveCount = 0
        }
        if !isTalking, aboveCount >= onsetFrames {
            isTalking = true
            return true
        }
        if isTalking, belowCount >= hangoverFrames {
            isTalking = false
            return true
        }
        return false
    }

    public mutating func reset() {
        isTalking = false
        aboveCount = 0
        belowCount = 0
        loudness = 0
    }
}
