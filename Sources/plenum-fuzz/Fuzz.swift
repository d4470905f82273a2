import Foundation
import PlenumFuzzTargets

// The fuzzing driver (issue 11). Built by scripts/fuzz.sh with `-sanitize=fuzzer,address -D FUZZING`,
// libFuzzer supplies `main` and calls `LLVMFuzzerTestOneInput` with the target named by
// PLENUM_FUZZ_TARGET. In an ordinary build it is a replayer: `plenum-fuzz TARGET FILE…` runs files
// (a crash reproducer, say) through the same entry point, without libFuzzer.

nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    if selected == nil {
        let name = ProcessInfo.processInfo.environment["PLENUM_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            print("PLENUM_FUZZ_TARGET must be one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
            exit(2)
        }
        selected = target
    }
    selected?.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

#if !FUZZING
@main
struct Replay {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: plenum-fuzz TARGET FILE…  (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))")
            exit(2)
        }
        for path in arguments.dropFirst() {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes.withUnsafeBytes { target.run($0) }
            print("ok \(path)")
        }
    }
}
#endif
