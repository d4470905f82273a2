import ArgumentParser
import Foundation
import Logging
import PlenumBridge
import PlenumMeetings
import PlenumSIP
import PlenumServer
import PlenumWebRTC
import Synchronization

@main
struct Plenum: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plenum",
        abstract: "Plenum: self-hosted web conferencing around an audio conference bridge.",
        subcommands: [Serve.self, CheckConfig.self, APIURL.self],
        defaultSubcommand: Serve.self)
}

/// The server's configuration file (JSON). Every field is optional; see docs/configuration.md.
struct ServerConfiguration: Decodable {
    var sounds: String?
    var dialplans: String?
    var mediaLoops: Int?
    var conferenceProfiles: [String: ConferenceProfile]?
    var sip: SIPConfiguration?
    var rooms: [RoomDirectory.Room]?
    /// HTTP/WebSocket signalling address and port.
    var httpAddress: String?
    var httpPort: Int?
    /// The HTTPS certificate (PEM files). Without it the server makes a self-signed one, except on a
    /// loopback address, where it serves plain HTTP (local use, or a reverse proxy in front).
    var https: HTTPSFiles?
    struct HTTPSFiles: Decodable {
        var certificate: String
        var key: String
    }
    /// The web client's folder.
    var webRoot: String?
    /// Where users reach the web client (e.g. "https://meet.example.org/" behind a proxy), for links
    /// the server writes; default the server's own address.
    var publicURL: String?
    /// Timeouts and connection caps for HTTP (see docs/configuration.md).
    var httpLimits: HTTPLimits?
    /// The BigBlueButton-compatible API (off without a secret).
    var api: APIFile?
    struct APIFile: Decodable {
        var secret: String
        /// sha1, sha256, sha384, sha512 (all by default).
        var checksumAlgorithms: [ChecksumAlgorithm]?
    }
    /// Custom roles: name → permissions (viewer and moderator are built in).
    var roles: [String: [Permission]]?
    /// When meetings end by themselves, and what moderators may do.
    var meetings: MeetingTimeouts?
    struct MeetingTimeouts: Decodable {
        /// Moderators may unmute others (off: only participants unmute themselves).
        var moderatorsMayUnmute: Bool?
        /// After the last participant left (BigBlueButton's meetingExpireWhenLastUserLeftInMinutes).
        var endWhenEmptySeconds: Int?
        /// When nobody joined after create (meetingExpireIfNoUserJoinedInMinutes).
        var endWhenNobodyJoinedSeconds: Int?
    }
    /// Off: no browsers' media port and no browser joins (phones only; the API and the page stay).
    var webrtcEnabled: Bool?
    /// The one UDP port every browser's media uses (ICE, DTLS, SRTP).
    var webrtcPort: UInt16?
    /// The addresses browsers reach that port on, IPv4 and IPv6 (one host candidate each); default
    /// the SIP media address.
    var webrtcAddresses: [String]?
    /// Where the server keeps its DTLS identity (so the fingerprint survives restarts), its HTTPS
    /// certificate, token and API secrets; default `defaultDataDirectory`.
    var dataDirectory: String?

    /// The data directory in use: the configured one, or `/var/lib/plenum` for root and
    /// `$XDG_DATA_HOME/plenum` (`~/.local/share/plenum`) for anybody else — never the working directory,
    /// which is often the source checkout.
    var dataDirectoryURL: URL {
        if let dataDirectory { return URL(fileURLWithPath: dataDirectory) }
        if geteuid() == 0 { return URL(fileURLWithPath: "/var/lib/plenum") }
        let environment = ProcessInfo.processInfo.environment
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") { return URL(fileURLWithPath: xdg).appendingPathComponent("plenum") }
        return URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".local/share/plenum")
    }

    /// Where the server answers HTTP: its address, port and whether it is HTTPS (not on loopback
    /// without a certificate), as `serve` decides it.
    func httpEndpoint(portOverride: Int? = nil, mediaAddressOverride: String? = nil) -> (host: String, port: Int, https: Bool) {
        let host = httpAddress ?? mediaAddressOverride ?? sip?.mediaAddress ?? SIPConfiguration().mediaAddress
        return (host, portOverride ?? httpPort ?? 8080, https != nil || !isLoopback(host))
    }

    static func load(_ path: String?) throws -> ServerConfiguration {
        guard let path else { return ServerConfiguration() }
        return try JSONDecoder().decode(ServerConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Rooms when the file names none: an open room and one with a PIN, so a phone can try both.
    static let defaultRooms = [
        RoomDirectory.Room(number: "3001", name: "Open room"), RoomDirectory.Room(number: "3002", name: "Team room", pin: "2468"),
    ]
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server with embedded defaults.")

    @Option(help: "Configuration file (JSON); defaults are built in.")
    var config: String?
    @Option(help: "SIP bind URL, overriding the configuration (e.g. sip:0.0.0.0:5060).")
    var sipListen: String?
    @Option(help: "Address for RTP and in SDP, overriding the configuration.")
    var mediaAddress: String?
    @Option(help: "HTTP/WebSocket port, overriding the configuration.")
    var httpPort: Int?
    @Option(help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: String = "info"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "plenum")
        raiseFileLimit(logger: logger)
        let configuration = try ServerConfiguration.load(config)
        let sounds = SoundLibrary(root: URL(fileURLWithPath: configuration.sounds ?? "sounds"))
        let dialplan = try Dialplan.load(folder: URL(fileURLWithPath: configuration.dialplans ?? "dialplans"))
        let rooms = RoomDirectory(configuration.rooms ?? ServerConfiguration.defaultRooms)
        var sip = configuration.sip ?? SIPConfiguration()
        if let sipListen { sip.listen = sipListen }
        if let mediaAddress { sip.mediaAddress = mediaAddress }
        let profiles = configuration.conferenceProfiles ?? [:]

        // The rooms, phone calls, browsers and meetings live on the first media loop. Phones and
        // browsers are two kinds of leg of the same rooms; either may be turned off.
        let loop = MediaLoop(name: "media-0")
        loop.start()
        loop.execute { context in context.add(Rooms(rooms, sounds: sounds, profiles: profiles, context: context)) }
        var agent: SIPAgent?
        if sip.enabled {
            let sipConfiguration = sip
            loop.execute { context in
                guard let rooms = context.hook(Rooms.self) else { return }
                context.add(SIPCallManager(configuration: sipConfiguration, dialplan: dialplan, rooms: rooms, context: context))
            }
            let agentSlot = AgentSlot()
            let started = try SIPAgent(
                bindURL: sip.listen, tlsURL: sip.tlsListen, certificateDirectory: sip.certificateDirectory,
                authenticationRealm: sip.authentication?.realm, passwordFile: sip.authentication?.passwordFile,
                trustedSources: sip.trustedSources
            ) { event in
                loop.execute { context in
                    guard let manager = context.hook(SIPCallManager.self) else { return }
                    if manager.agent == nil { manager.agent = agentSlot.agent.withLock { $0 } }
                    manager.handle(event)
                }
            }
            agentSlot.agent.withLock { $0 = started }
            agent = started
            logger.info("SIP listening", metadata: ["url": "\(sip.listen)", "tls": "\(sip.tlsListen ?? "off")", "media": "\(sip.mediaAddress)", "rooms": "\(rooms.rooms.count)"])
        } else {
            logger.notice("SIP is off (sip.enabled): browsers only")
        }

        // Browsers: one UDP port for all their media, and WebSocket signalling.
        let dataDirectory = configuration.dataDirectoryURL
        logger.info("data directory", metadata: ["path": "\(dataDirectory.path)"])
        let identity = try DTLSContext(directory: dataDirectory)
        let mediaAddressesForBrowsers = configuration.webrtcAddresses ?? [sip.mediaAddress]
        let roleBook = RoleBook(custom: configuration.roles ?? [:], moderatorsMayUnmute: configuration.meetings?.moderatorsMayUnmute ?? false)
        let meetingTimeouts = configuration.meetings
        let webrtcPort = configuration.webrtcPort ?? 40_000
        let webrtcEnabled = configuration.webrtcEnabled ?? true
        if !webrtcEnabled { logger.notice("WebRTC is off (webrtcEnabled): phones only") }
        let portReady = AgentSlot.Flag()
        loop.execute { context in
            guard let rooms = context.hook(Rooms.self) else { return portReady.set(false) }
            do {
                var browsers: WebRTCManager?
                if webrtcEnabled {
                    let port = try WebRTCPort(addresses: mediaAddressesForBrowsers, port: webrtcPort, context: identity)
                    let manager = WebRTCManager(port: port, rooms: rooms, context: context)
                    context.add(manager)
                    browsers = manager
                }
                let meetings = MeetingManager(
                    roles: roleBook, reservedNumbers: Set(rooms.directory.rooms.keys), rooms: rooms, context: context, loop: loop)
                if let seconds = meetingTimeouts?.endWhenEmptySeconds { meetings.emptyTimeout = Millis(max(1, seconds)) * 1000 }
                if let seconds = meetingTimeouts?.endWhenNobodyJoinedSeconds { meetings.noShowTimeout = Millis(max(1, seconds)) * 1000 }
                // The kinds of leg this server has: the meetings reach them directly from here on.
                meetings.browsers = browsers
                meetings.phones = context.hook(SIPCallManager.self)
                context.add(meetings)
                portReady.set(true)
            } catch {
                portReady.set(false)
            }
        }
        guard await portReady.value() else {
            throw ValidationError("cannot bind the WebRTC port \(webrtcPort) on \(mediaAddressesForBrowsers.joined(separator: ", "))")
        }
        let httpHost = configuration.httpAddress ?? sip.mediaAddress
        let https: HTTPSIdentity?
        if let files = configuration.https {
            https = HTTPSIdentity(certificatePath: files.certificate, keyPath: files.key)
        } else if isLoopback(httpHost) {
            https = nil
        } else {
            https = try HTTPSIdentity.selfSigned(in: dataDirectory, hosts: [httpHost])
        }
        let signalling = SignallingServer(
            configuration: .init(
                host: httpHost, port: httpPort ?? configuration.httpPort ?? 8080, webRoot: configuration.webRoot ?? "web",
                https: https, tokens: try AccessTokens(directory: dataDirectory),
                api: try apiSettings(configuration.api, dataDirectory: dataDirectory, logger: logger),
                publicURL: configuration.publicURL, limits: configuration.httpLimits ?? HTTPLimits()),
            loop: loop)
        let (stopRequests, requestStop) = AsyncStream<Void>.makeStream()
        let httpTask = Task {
            try await signalling.run(until: {
                for await _ in stopRequests {}  // ends when a stop is requested (or the task is cancelled)
            })
        }
        logger.notice("open \(signalling.url) in a browser", metadata: [
            "webrtc": "\(mediaAddressesForBrowsers.joined(separator: ", ")) port \(webrtcPort)",
            "dtls_fingerprint": "\(identity.fingerprint)",
        ])
        if let https, https.selfSigned {
            let fingerprint = (try? https.fingerprint()) ?? "unknown"
            logger.notice("HTTPS uses a self-signed certificate; browsers warn until it is accepted. Its SHA-256 fingerprint: \(fingerprint)")
        }

        let signals = AsyncStream<Int32> { continuation in
            // All three sources must stay alive for the stream's lifetime: a released source stops
            // delivering, and with SIG_IGN set the signal would then be ignored altogether.
            let sources = [SIGINT, SIGTERM, SIGHUP].map { number in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number)
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                return source
            }
            nonisolated(unsafe) let keep = sources
            continuation.onTermination = { _ in keep.forEach { $0.cancel() } }
        }
        for await number in signals {
            if number == SIGHUP {
                // Reload the dialplan and the rooms without dropping calls.
                do {
                    let fresh = try ServerConfiguration.load(config)
                    let dialplan = try Dialplan.load(folder: URL(fileURLWithPath: fresh.dialplans ?? "dialplans"))
                    let rooms = RoomDirectory(fresh.rooms ?? ServerConfiguration.defaultRooms)
                    loop.execute { context in
                        context.hook(Rooms.self)?.reload(rooms)
                        context.hook(SIPCallManager.self)?.reload(dialplan: dialplan)
                    }
                } catch {
                    logger.error("reload failed; keeping the running dialplan", metadata: ["error": "\(error)"])
                }
                continue
            }
            logger.notice("stopping", metadata: ["signal": "\(number)"])
            break
        }
        requestStop.finish()
        // A WebSocket whose peer vanished (a browser that changed networks) never answers the close
        // handshake; waiting for it would stall the stop, so open connections get 2 s, then the server
        // is cancelled.
        let httpStopped = AgentSlot.Flag()
        Task {
            _ = await httpTask.result
            httpStopped.set(true)
        }
        Task {
            try? await Task.sleep(for: .seconds(2))
            httpStopped.set(false)
        }
        if await !httpStopped.value() {
            logger.notice("connections still open after 2 s are dropped")
            httpTask.cancel()
        }
        agent?.shutdown()
        loop.stop()
        logger.notice("stopped")
    }
}

/// Every call holds two sockets and every browser a TCP connection: the usual soft limit of 1,024 open
/// files would end service at about 500 calls, with nothing but EMFILE to show for it (issue 11).
/// The soft limit goes up to the hard one (what the operator or systemd's LimitNOFILE allows).
func raiseFileLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    let before = limit.rlim_cur
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 { limit.rlim_cur = before }
    }
    logger.info("open files limit", metadata: ["soft": "\(limit.rlim_cur)", "was": "\(before)"])
    if limit.rlim_cur < 8192 {
        logger.warning("open files limited to \(limit.rlim_cur): raise LimitNOFILE (systemd) or ulimit -Hn for more calls and browsers")
    }
}

/// The API's settings: from the configuration, or a secret made on first start and kept in the data
/// directory (like `bbb-conf --secret`: the operator copies it into Moodle, Greenlight, …).
func apiSettings(_ file: ServerConfiguration.APIFile?, dataDirectory: URL, logger: Logger) throws -> APISettings {
    let algorithms = Set(file?.checksumAlgorithms ?? ChecksumAlgorithm.allCases)
    if let file { return APISettings(secret: file.secret, checksumAlgorithms: algorithms) }
    let url = dataDirectory.appendingPathComponent("api-secret")
    if let kept = try? String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), kept.count >= 32 {
        return APISettings(secret: kept, checksumAlgorithms: algorithms)
    }
    var rng = SystemRandomNumberGenerator()
    let secret = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
    try Data((secret + "\n").utf8).write(to: url, options: .atomic)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
    logger.notice("BigBlueButton API secret created", metadata: ["file": "\(url.path)"])
    return APISettings(secret: secret, checksumAlgorithms: algorithms)
}

final class AgentSlot: Sendable {
    let agent = Mutex<SIPAgent?>(nil)

    /// A one-shot answer from the media loop.
    final class Flag: Sendable {
        private let state = Mutex<(value: Bool?, waiter: CheckedContinuation<Bool, Never>?)>((nil, nil))
        func set(_ value: Bool) {
            let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
                s.value = value
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: value)
        }
        func value() async -> Bool {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { s -> Bool? in
                    if s.value == nil { s.waiter = continuation }
                    return s.value
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}

/// Prints a signed URL of the server's BigBlueButton API (the checksum made with its secret), for a
/// moderator's link without a learning platform: `curl` the `create` one, open the `join` one.
struct APIURL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-url", abstract: "Print a signed BigBlueButton API URL of this server (e.g. create, join).")
    @Option(help: "The server's configuration file (JSON), as given to serve.")
    var config: String?
    @Option(help: "The server's HTTP port, when serve was given --http-port.")
    var httpPort: Int?
    @Argument(help: "The API call: create, join, end, getMeetingInfo, …")
    var call: String
    @Argument(help: "Its query, e.g. 'name=Class&meetingID=class'.")
    var query: String = ""

    func run() throws {
        let configuration = try ServerConfiguration.load(config)
        let secret: String
        if let configured = configuration.api?.secret {
            secret = configured
        } else {
            let file = configuration.dataDirectoryURL.appendingPathComponent("api-secret")
            guard let kept = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) else {
                throw ValidationError("no API secret in \(file.path): start the server once (it makes one there)")
            }
            secret = kept
        }
        let base: String
        if let publicURL = configuration.publicURL {
            base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        } else {
            let endpoint = configuration.httpEndpoint(portOverride: httpPort)
            let host = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
            base = "\(endpoint.https ? "https" : "http")://\(host):\(endpoint.port)"
        }
        let checksum = ChecksumAlgorithm.sha256.hexDigest(call + query + secret)
        print("\(base)/bigbluebutton/api/\(call)?\(query.isEmpty ? "" : query + "&")checksum=\(checksum)")
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate a configuration file.")
    @Argument var path: String
    func run() throws {
        let configuration = try ServerConfiguration.load(path)
        let dialplan = try Dialplan.load(folder: URL(fileURLWithPath: configuration.dialplans ?? "dialplans"))
        print("ok: \(configuration.conferenceProfiles?.count ?? 0) conference profile(s), \(configuration.rooms?.count ?? 0) room(s), dialplan contexts: \(dialplan.contexts.keys.sorted().joined(separator: ", "))")
    }
}
