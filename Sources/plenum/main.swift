import ArgumentParser
import Foundation
import Logging
import PlenumBridge

@main
struct Plenum: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plenum",
        abstract: "Plenum: self-hosted web conferencing around an audio conference bridge.",
        subcommands: [Serve.self, CheckConfig.self],
        defaultSubcommand: Serve.self)
}

/// The server's configuration file (JSON). Every field is optional.
struct ServerConfiguration: Decodable {
    var sounds: String?
    var mediaLoops: Int?
    var conferenceProfiles: [String: ConferenceProfile]?

    static func load(_ path: String?) throws -> ServerConfiguration {
        guard let path else { return ServerConfiguration() }
        return try JSONDecoder().decode(ServerConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server with embedded defaults.")

    @Option(help: "Configuration file (JSON); defaults are built in.")
    var config: String?
    @Option(help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: String = "info"

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "plenum")
        let configuration = try ServerConfiguration.load(config)
        let loops = (0..<max(1, configuration.mediaLoops ?? ProcessInfo.processInfo.activeProcessorCount)).map {
            MediaLoop(name: "media-\($0)")
        }
        for loop in loops { loop.start() }
        let soundsRoot = configuration.sounds ?? "sounds"
        logger.info("media loops running", metadata: ["loops": "\(loops.count)", "sounds": "\(soundsRoot)"])
        // SIP dial-in (issue 3) and WebRTC/HTTP (issues 4-6) attach their legs to these loops.
        logger.notice("no signalling listeners are built yet: this build runs the audio bridge only")
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(10))
            for loop in loops {
                let stats = loop.currentStatistics
                logger.debug("loop", metadata: [
                    "name": "\(loop.name)", "ticks": "\(stats.ticks)", "skipped": "\(stats.skippedTicks)",
                    "busy_ms_per_s": "\(stats.busyNanosecondsLastSecond / 1_000_000)",
                ])
            }
        }
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate a configuration file.")
    @Argument var path: String
    func run() throws {
        let configuration = try ServerConfiguration.load(path)
        print("ok: \(configuration.conferenceProfiles?.count ?? 0) conference profile(s)")
    }
}
