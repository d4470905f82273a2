import ArgumentParser
import Foundation
import PlenumRTP

/// SRTP cost per packet (issue 4's benchmark): protect and unprotect of a 20 ms Opus packet
/// (12-byte header + 100 bytes), per protection profile, through libsrtp2 as the legs use it.
struct SRTPBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "srtp", abstract: "SRTP protect/unprotect cost per packet.")

    @Option(help: "Packets per measurement.")
    var packets = 200_000
    @Option(help: "Sessions the packets go round (one per participant in a real room: colder caches).")
    var sessions = 1

    func run() throws {
        print("\(sessions) session(s), packets sent round them")
        print("profile                    protect ns/packet  unprotect ns/packet  µs per participant per second (50 pkt/s each way)")
        for profile in SRTPSession.Profile.allCases {
            let key = (0..<profile.keyingMaterialLength).map { UInt8($0) }
            let senders = try (0..<sessions).map { _ in try SRTPSession(profile: profile, keyingMaterial: key, direction: .outbound) }
            let receivers = try (0..<sessions).map { _ in try SRTPSession(profile: profile, keyingMaterial: key, direction: .inbound) }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 16)
            defer { buffer.deallocate() }
            var protected: [[UInt8]] = []
            protected.reserveCapacity(packets)
            let start = threadCPUNanoseconds()
            for i in 0..<packets {
                RTPPacket.writeHeader(into: buffer, marker: false, payloadType: 111, sequenceNumber: UInt16(truncatingIfNeeded: i / sessions),
                                      timestamp: UInt32(truncatingIfNeeded: i / sessions * 960), ssrc: 1)
                for j in 12..<112 { buffer[j] = UInt8(truncatingIfNeeded: j &+ i) }
                let n = try senders[i % sessions].protect(buffer, length: 112)
                if i < 20_000 { protected.append(Array(buffer[..<n])) }
            }
            let protectNs = Double(threadCPUNanoseconds() - start) / Double(packets)
            let unprotectStart = threadCPUNanoseconds()
            for (i, packet) in protected.enumerated() {
                packet.withUnsafeBytes { buffer.copyMemory(from: $0) }
                _ = try receivers[i % sessions].unprotect(buffer, length: packet.count)
            }
            let unprotectNs = Double(threadCPUNanoseconds() - unprotectStart) / Double(protected.count)
            print(String(format: "%-26@ %17.0f %20.0f %10.1f", profile.rawValue as NSString, protectNs, unprotectNs,
                         (protectNs + unprotectNs) * 50 / 1000))
        }
    }
}
