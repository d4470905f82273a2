import Foundation
import PlenumFuzzTargets
import Testing

/// Replays every kept fuzz input (seeds and crash reproducers, `Corpus/<target>/`) through the same
/// entry points libFuzzer drives (issue 11): each must return, whatever the bytes.
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    @Test(arguments: FuzzTarget.allCases)
    func everyKeptInputReturns(_ target: FuzzTarget) throws {
        let folder = Self.corpus.appendingPathComponent(target.rawValue)
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        #expect(!files.isEmpty, "every target keeps seeds")
        for file in files.sorted(by: { $0.path < $1.path }) {
            let bytes = try Data(contentsOf: file)
            bytes.withUnsafeBytes { target.run($0) }
        }
    }

    /// Seeded random inputs and mutations of the seeds, beyond the kept corpus (a cheap stand-in for
    /// the long libFuzzer runs, which are not part of CI).
    @Test(arguments: FuzzTarget.allCases)
    func seededMutationsReturn(_ target: FuzzTarget) throws {
        let folder = Self.corpus.appendingPathComponent(target.rawValue)
        let seeds = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .sorted { $0.path < $1.path }.map { try Array(Data(contentsOf: $0)) }
        var rng = SplitMix64(seed: 0x5EED_0000 + UInt64(target.rawValue.utf8.count))
        for round in 0..<300 {
            var bytes = seeds.isEmpty ? [] : seeds[round % seeds.count]
            for _ in 0..<(1 + Int(rng.next() % 8)) {
                switch rng.next() % 4 {
                case 0 where !bytes.isEmpty: bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                case 1 where !bytes.isEmpty: bytes.removeSubrange(Int(rng.next() % UInt64(bytes.count))...)
                case 2: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count)))
                default: bytes.append(contentsOf: (0..<Int(rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
                }
            }
            bytes.withUnsafeBytes { target.run($0) }
        }
    }
}

/// A small deterministic generator, so a failing round can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
