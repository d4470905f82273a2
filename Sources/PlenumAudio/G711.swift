import CPlenumShims

/// G.711 tables built once from spandsp's reference conversions: encoding and decoding become a
/// table lookup, and so does a G.711 frame's energy (no decode needed for talker detection).
public enum G711 {
    public enum Law: Sendable { case ulaw, alaw }

    static let ulawToLinear: [Int16] = (0...255).map { plenum_ulaw_to_linear(UInt8($0)) }
    static let alawToLinear: [Int16] = (0...255).map { plenum_alaw_to_linear(UInt8($0)) }
    /// Indexed by the sample's 16-bit pattern (UInt16(bitPattern:)).
    static let linearToUlaw: [UInt8] = (0...65535).map { plenum_linear_to_ulaw(Int32(Int16(bitPattern: UInt16($0)))) }
    static let linearToAlaw: [UInt8] = (0...65535).map { plenum_linear_to_alaw(Int32(Int16(bitPattern: UInt16($0)))) }

    public static func encode(_ samples: UnsafeBufferPointer<Int16>, law: Law, into out: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(samples.count, out.count)
        let table = law == .ulaw ? linearToUlaw : linearToAlaw
        table.withUnsafeBufferPointer { table in
            for i in 0..<count { out[i] = table[Int(UInt16(bitPattern: samples[i]))] }
        }
        return count
    }

    public static func decode(_ payload: UnsafeRawBufferPointer, law: Law, into out: UnsafeMutableBufferPointer<Int16>) -> Int {
        let count = min(payload.count, out.count)
        let table = law == .ulaw ? ulawToLinear : alawToLinear
        table.withUnsafeBufferPointer { table in
            for i in 0..<count { out[i] = table[Int(payload[i])] }
        }
        return count
    }

    /// Mean square of the decoded samples, from the payload alone.
    public static func meanSquare(_ payload: UnsafeRawBufferPointer, law: Law) -> Double {
        guard !payload.isEmpty else { return 0 }
        let table = law == .ulaw ? ulawToLinear : alawToLinear
        var sum = 0.0
        table.withUnsafeBufferPointer { table in
            for byte in payload {
                let v = Double(table[Int(byte)])
                sum += v * v
            }
        }
        return sum / Double(payload.count)
    }
}
