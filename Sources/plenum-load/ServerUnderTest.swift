import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A `plenum serve` started for one load run, with its configuration and log in a folder of its own,
/// and its CPU time (user + system) read from /proc.
final class ServerUnderTest {
    let folder: URL
    let process = Process()
    private let log: FileHandle

    /// `config` gets the run's folder (for the data directory) and returns the JSON configuration.
    init(binary: String, name: String, logLevel: String, config: (URL) -> String) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("plenum-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let configURL = folder.appendingPathComponent("plenum.json")
        try config(folder).write(to: configURL, atomically: true, encoding: .utf8)
        let logURL = folder.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        log = try FileHandle(forWritingTo: logURL)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--config", configURL.path, "--log-level", logLevel]
        process.standardOutput = log
        process.standardError = log
        try process.run()
        usleep(700_000)
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? log.close()
    }

    var logText: String { (try? String(contentsOf: folder.appendingPathComponent("server.log"), encoding: .utf8)) ?? "" }

    /// utime + stime in clock ticks (/proc/PID/stat fields 14 and 15).
    var cpuTicks: UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return 0 }
        return user + system
    }

    /// Runs `step` every 20 ms for a warm-up of 2 s and then `seconds` (calling `startMeasuring` in
    /// between) and returns the server's CPU use over the measured part, in percent of one core.
    func measure(seconds: Int, startMeasuring: () -> Void, step: (UInt64) -> Void) -> Double {
        let warmUp = 2 * 50
        let start = monotonicNanoseconds()
        var cpuBefore = cpuTicks
        var wallBefore = start
        for tick in 0..<(warmUp + seconds * 50) {
            if tick == warmUp {
                cpuBefore = cpuTicks
                wallBefore = monotonicNanoseconds()
                startMeasuring()
            }
            sleepUntil(start + UInt64(tick) * 20_000_000)
            step(monotonicNanoseconds())
        }
        let cpuSeconds = Double(cpuTicks - cpuBefore) / Double(sysconf(Int32(_SC_CLK_TCK)))
        let wallSeconds = Double(monotonicNanoseconds() - wallBefore) / 1e9
        return 100 * cpuSeconds / wallSeconds
    }
}

func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func sleepUntil(_ deadline: UInt64) {
    var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
    while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
}
