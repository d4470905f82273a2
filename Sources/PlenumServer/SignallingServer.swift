import PlenumMeetings
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import NIOSSL
import Logging
import NIOCore
import PlenumBridge
import PlenumSIP
import ServiceLifecycle
import Synchronization

extension MediaLoop {
    /// Runs `body` on the loop and returns its result to the awaiting task.
    func run<T: Sendable>(_ body: @escaping @Sendable (MediaLoopContext) -> T) async -> T {
        await withCheckedContinuation { continuation in
            execute { context in continuation.resume(returning: body(context)) }
        }
    }

    /// Runs `body` on the loop and waits for the reply it passes on (once; later, when the work
    /// waits for the meeting store).
    func run<T: Sendable>(replying body: @escaping @Sendable (MediaLoopContext, @escaping @Sendable (T) -> Void) -> Void) async -> T {
        await withCheckedContinuation { continuation in
            execute { context in body(context) { continuation.resume(returning: $0) } }
        }
    }
}

/// The HTTP side (Hummingbird), over HTTPS except on loopback: the web client's files, `GET /health`,
/// `POST /api/token` (the join page trades a room number and PIN for an access token), and `/ws`, where
/// a browser joins with its token and an SDP offer and then exchanges mute, ICE restarts, leave and
/// participant events (docs/signalling.md).
public struct SignallingServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// The web client's folder.
        public var webRoot: String
        /// HTTPS; nil only on a loopback address (a reverse proxy in front, or local use).
        public var https: HTTPSIdentity?
        public var tokens: AccessTokens
        /// The BigBlueButton-compatible API; off without a secret.
        public var api: APISettings?
        /// Where users reach the web client ("https://meet.example.org/"), for links the server writes
        /// (the join XML of `redirect=false`); nil: this server's own address. Never taken from a
        /// request's Host header, which the client chooses.
        public var publicURL: String?
        public var limits: HTTPLimits

        public init(host: String, port: Int, webRoot: String, https: HTTPSIdentity?, tokens: AccessTokens, api: APISettings?,
                    publicURL: String? = nil, limits: HTTPLimits = HTTPLimits()) {
            self.limits = limits
            self.host = host
            self.port = port
            self.webRoot = webRoot
            self.https = https
            self.tokens = tokens
            self.api = api
            self.publicURL = publicURL
        }
    }

    public let configuration: Configuration
    let loop: MediaLoop
    let logger: Logger

    /// The signalling protocol versions this server speaks (`join`'s `version`; docs/signalling.md).
    public static let protocolVersions = 1...1
    /// Messages above this get an error reply (an SDP offer is a few KiB).
    public static let maxMessageSize = 64 * 1024
    /// Frames above this are refused by the WebSocket decoder, which closes the connection: the hard
    /// limit on what one browser can make the server hold in memory.
    public static let maxFrameSize = 1024 * 1024

    public init(configuration: Configuration, loop: MediaLoop, logger: Logger = Logger(label: "plenum.http")) {
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
    }

    public var url: String {
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "\(configuration.https == nil ? "http" : "https")://\(host):\(configuration.port)/"
    }

    /// Serves until `stop` returns, then shuts down gracefully: no new connections, and open ones are
    /// closed by Hummingbird (a cancelled server logged two error lines on every normal stop, issue 12).
    public func run(until stop: @escaping @Sendable () async -> Void) async throws {
        let loop = self.loop
        let logger = self.logger
        let tokens = configuration.tokens
        let router = Router(context: PlenumRequestContext.self)
        // Guessing a room's PIN is limited per (room, client address), as over SIP: 5 tries, then a
        // doubling delay up to 5 minutes (issue 12: a whole school behind one address must not be
        // locked out of every room by a few wrong PINs for one).
        let pinGuard = Mutex(PINGuard())
        router.add(middleware: SecurityHeaders(https: configuration.https != nil))
        router.add(middleware: FileMiddleware(configuration.webRoot, searchForIndexHtml: true, logger: logger))
        router.get("/health") { _, _ in "ok\n" }
        if let api = configuration.api {
            BigBlueButtonRoutes.add(to: router, api: api, tokens: tokens, loop: loop, publicURL: configuration.publicURL ?? url)
        }
        router.post("/api/token") { request, context -> Response in
            struct TokenRequest: Decodable { var room: String; var pin: String? }
            let forwarded = HTTPField.Name("X-Forwarded-For").map { request.headers[values: $0] } ?? []
            let source = clientAddress(remote: context.remoteAddress?.ipAddress, forwardedFor: forwarded)
            let now = UInt64(Date().timeIntervalSince1970 * 50)
            guard let body = try? await request.body.collect(upTo: 4096),
                let ask = try? JSONDecoder().decode(TokenRequest.self, from: Data(body.readableBytesView)),
                ask.room.count <= 32
            else { return Self.json(.badRequest, Signal.error(SignalError(.malformedMessage, "send {\"room\": \"…\", \"pin\": \"…\"}"))) }
            let room = ask.room
            let pin = ask.pin
            if let wait = pinGuard.withLock({ $0.retryAfter(room: room, source: source, now: now) }) {
                return Self.tooManyAttempts(retryAfterSeconds: Int((wait + 49) / 50))
            }
            let verdict = await loop.run { context -> Result<String, SignalError> in
                context.hook(WebRTCManager.self)?.admits(room: room, pin: pin) ?? .failure(.noSuchRoom)
            }
            switch verdict {
            case .success(let name):
                pinGuard.withLock { $0.succeeded(room: room, source: source) }
                let grant = AccessGrant(room: room, expires: Int(Date().timeIntervalSince1970) + AccessTokens.lifetime)
                return Self.json(.ok, Signal.token(tokens.issue(grant), room: room, roomName: name))
            case .failure(.noSuchRoom):
                return Self.json(.notFound, Signal.error(.noSuchRoom))
            case .failure(let error):
                logger.notice("token refused", metadata: ["room": "\(room)", "why": "\(error)", "source": "\(LogPrivacy.tag(source))"])
                if let delay = pinGuard.withLock({ $0.wrong(room: room, source: source, now: now) }) {
                    logger.warning("PIN guessing slowed down", metadata: [
                        "room": "\(room)", "source": "\(LogPrivacy.tag(source))", "seconds": "\(delay / 50)",
                    ])
                }
                return Self.json(.forbidden, Signal.error(error))
            }
        }
        let joinTimeout = max(1, configuration.limits.joinTimeoutSeconds)
        let httpLimits = configuration.limits
        let limits = ConnectionLimits(total: httpLimits.maxConnections, perAddress: httpLimits.maxConnectionsPerAddress, exempt: isLoopback)
        let webSockets = Router(context: ChannelWebSocketRequestContext.self)
        webSockets.ws("/ws") { _, _ in
            .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let channel = context.requestContext.channel
            let (feed, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(256))
            var session = SignallingSession(tokens: tokens, loop: loop, logger: logger, feed: continuation)
            let entered = EnteredFlag()
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await message in feed { try? await outbound.write(.text(message)) }
                }
                // A socket that has not joined (or resumed, or started waiting) in time is closed: a
                // WebSocket is accepted before any token is checked, and an idle one would hold a
                // connection slot for nothing (issue 11).
                group.addTask {
                    try? await Task.sleep(for: .seconds(joinTimeout))
                    if !Task.isCancelled, !entered.value.withLock({ $0 }) {
                        try? await outbound.close(.policyViolation, reason: "join-timeout")
                    }
                }
                do {
                    for try await message in inbound.messages(maxSize: Self.maxFrameSize) {
                        guard case .text(let text) = message else {
                            continuation.yield(Signal.error(.textFramesOnly))
                            continue
                        }
                        if await session.handle(text) == .close { break }
                        if session.sessionID != nil || session.waiting, !entered.value.withLock({ $0 }) {
                            entered.value.withLock { $0 = true }
                            limits.entered(channel)  // a participant's connection is never evicted
                        }
                    }
                } catch {
                    logger.debug("websocket closed", metadata: ["error": "\(error)"])
                }
                session.closed()
                continuation.finish()
                group.cancelAll()
            }
        }
        // See HTTPLimits. A live WebSocket writes a ping well within the write-idle time, so only dead
        // or stalled connections reach it.
        let writeIdle = max(2, httpLimits.writeIdleSeconds)
        let webSocketConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(
                idleTimeout: .seconds(Int64(max(1, httpLimits.idleSeconds))),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 32 * 1024, maxHeaderFieldCount: 100)),
            ws: .init(maxFrameSize: Self.maxFrameSize, autoPing: .enabled(timePeriod: .milliseconds(Int64(min(30_000, writeIdle * 400))))))
        let tls = try configuration.https.map { try NIOSSLContext(configuration: $0.tlsConfiguration()) }
        let webSocketResponder = webSockets.buildResponder()
        let port = configuration.port
        let server = HTTPServerBuilder { responder in
            GuardedChannel(
                base: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder, configuration: webSocketConfiguration),
                limits: limits, tls: tls, writeIdleTimeout: .seconds(Int64(writeIdle)), httpsPort: port)
        }
        let app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
            logger: logger)
        // The server's own signal handling (SIGINT/SIGTERM) stays with `plenum serve`, which tells us
        // through `stop`: two signal owners would each swallow half of a shutdown.
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                try await group.run()
                return true
            }
            tasks.addTask {
                await stop()
                await group.triggerGracefulShutdown()
                return false
            }
            // Done when the server is: a stop that never came is not waited for.
            while let serverDone = try await tasks.next() {
                if serverDone { break }
            }
            tasks.cancelAll()
        }
    }

    /// 429 with the code the client translates and when to try again (also as Retry-After, RFC 9110 §10.2.3).
    static func tooManyAttempts(retryAfterSeconds: Int) -> Response {
        var response = json(.tooManyRequests, Signal.error(
            SignalError(.tooManyAttempts, "too many attempts; try again later"), retryAfter: retryAfterSeconds))
        response.headers[.retryAfter] = "\(retryAfterSeconds)"
        return response
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Bounds on HTTP connections (issue 11): slow, idle and too many connections cannot starve the rest.
public struct HTTPLimits: Codable, Sendable {
    /// A keep-alive connection between requests closes after this.
    public var idleSeconds = 30
    /// A connection that wrote nothing for this long closes: a request that never completes (slowloris),
    /// a TLS handshake that stalls, a reader that stops reading. WebSockets ping well within it.
    public var writeIdleSeconds = 75
    /// Open connections in all and from one address (loopback, a reverse proxy here, is exempt from the
    /// latter); a connection beyond is closed at once, and the log says so once a minute.
    public var maxConnections = 4096
    public var maxConnectionsPerAddress = 64
    /// A WebSocket that has not joined a room (or resumed, or started waiting) after this is closed.
    public var joinTimeoutSeconds = 30
    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = HTTPLimits()
        idleSeconds = try c.decodeIfPresent(Int.self, forKey: .idleSeconds) ?? d.idleSeconds
        writeIdleSeconds = try c.decodeIfPresent(Int.self, forKey: .writeIdleSeconds) ?? d.writeIdleSeconds
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? d.maxConnections
        maxConnectionsPerAddress = try c.decodeIfPresent(Int.self, forKey: .maxConnectionsPerAddress) ?? d.maxConnectionsPerAddress
        joinTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .joinTimeoutSeconds) ?? d.joinTimeoutSeconds
    }
}

/// Whether a WebSocket's session has entered (shared with the task that enforces the join timeout).
final class EnteredFlag: Sendable {
    let value = Mutex(false)
}

/// The client a request is from. Behind a reverse proxy on this machine (the remote address is
/// loopback) it is the last address the proxy appended to X-Forwarded-For; from anywhere else the
/// header is ignored, since a client can write anything into it.
public func clientAddress(remote: String?, forwardedFor: [String]) -> String {
    guard let remote else { return "unknown" }
    guard isLoopback(remote) || remote == "::ffff:127.0.0.1" else { return remote }
    let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
    guard let last = hops.last, !last.isEmpty, last.count <= 64 else { return remote }
    return last
}

/// Hummingbird's basic context plus the client's address (for the PIN guard).
/// The WebSocket route's context: Hummingbird's, plus the connection, so that a connection that
/// enters a meeting can be marked as such in `ConnectionLimits`.
public struct ChannelWebSocketRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

public struct PlenumRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: NIOCore.SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// One WebSocket's signalling state: not joined, then joined to one room as one browser session.
struct SignallingSession {
    let tokens: AccessTokens
    let loop: MediaLoop
    let logger: Logger
    let feed: AsyncStream<String>.Continuation
    var sessionID: UInt64?
    var room: String?
    var left = false
    /// This socket, to tell it from a newer one that resumed the same session.
    let connection = UInt64.random(in: 1...UInt64.max)
    /// In the waiting room: the session exists once a moderator lets the browser in.
    var waiting = false

    enum Outcome { case open, close }

    init(tokens: AccessTokens, loop: MediaLoop, logger: Logger, feed: AsyncStream<String>.Continuation) {
        self.tokens = tokens
        self.loop = loop
        self.logger = logger
        self.feed = feed
    }

    mutating func handle(_ text: String) async -> Outcome {
        guard text.utf8.count <= SignallingServer.maxMessageSize else { return refuse(.messageTooLarge) }
        let decoded: ClientRequest.Decoded
        switch ClientRequest.decode(Data(text.utf8)) {
        case .success(let d): decoded = d
        case .failure(let refusal): return refuse(refusal.error, refusal.type)
        }
        let type = decoded.type
        // Issue 5: a message about a room the session is not in is refused.
        if let named = decoded.room, let room, named != room { return refuse(.notInRoom(named), type) }
        if waiting, sessionID == nil {
            let connection = self.connection
            if let admitted = await loop.run({ context in context.hook(WebRTCManager.self)?.session(forConnection: connection) }) {
                sessionID = admitted.id
                waiting = false
            } else if !decoded.request.isLeave {
                return refuse(.waitingForModerator, type)
            }
        }
        switch decoded.request {
        case .join(let join):
            guard sessionID == nil else { return refuse(.alreadyJoined, type) }
            guard SignallingServer.protocolVersions.contains(join.version ?? 1) else {
                let supported = SignallingServer.protocolVersions
                return refuse(.unsupportedVersion, type, supported: supported)
            }
            let grant: AccessGrant
            switch tokens.verify(join.token) {
            case .success(let g): grant = g
            case .failure(let refusal): return refuse(.token(refusal), type)
            }
            if let named = decoded.room, named != grant.room { return refuse(.wrongRoom, type) }
            guard join.sdp.utf8.count < 32_768 else { return refuse(.messageTooLarge, type) }
            let (name, sdp) = (join.name ?? "Guest", join.sdp)
            let feed = self.feed
            let connection = self.connection
            let result = await loop.run { context -> Result<WebRTCManager.Joined, SignalError> in
                guard let manager = context.hook(WebRTCManager.self) else { return .failure(.noSuchRoom) }
                return manager.join(grant: grant, name: name, offerSDP: sdp, feed: feed, connection: connection)
            }
            let room = grant.room
            switch result {
            case .success(.joined(let id, let memberID)):
                sessionID = id
                self.room = room
                logger.info("browser joined", metadata: ["room": "\(room)", "member": "\(memberID)"])
            case .success(.waiting):
                waiting = true
                self.room = room
            case .failure(let error):
                return refuse(error, type)
            }
        case .echo(let echo):
            guard sessionID == nil, !waiting else { return refuse(.alreadyJoined, type) }
            guard SignallingServer.protocolVersions.contains(echo.version ?? 1) else {
                return refuse(.unsupportedVersion, type, supported: SignallingServer.protocolVersions)
            }
            let grant: AccessGrant
            switch tokens.verify(echo.token) {
            case .success(let g): grant = g
            case .failure(let refusal): return refuse(.token(refusal), type)
            }
            guard echo.sdp.utf8.count < 32_768 else { return refuse(.messageTooLarge, type) }
            let (sdp, feed, connection) = (echo.sdp, self.feed, self.connection)
            let result = await loop.run { context -> Result<UInt64, SignalError> in
                guard let manager = context.hook(WebRTCManager.self) else { return .failure(.noSuchRoom) }
                return manager.echoTest(grant: grant, offerSDP: sdp, feed: feed, connection: connection)
            }
            switch result {
            case .success(let id): sessionID = id
            case .failure(let error): return refuse(error, type)
            }
        case .resume(let resume):
            guard sessionID == nil else { return refuse(.alreadyJoined, type) }
            guard resume.sdp.utf8.count < 32_768 else { return refuse(.messageTooLarge, type) }
            let feed = self.feed
            let connection = self.connection
            let result = await loop.run { context -> Result<(id: UInt64, room: String), SignalError> in
                guard let manager = context.hook(WebRTCManager.self) else { return .failure(.sessionExpired) }
                return manager.resume(resume.session, offerSDP: resume.sdp, feed: feed, connection: connection)
            }
            switch result {
            case .success(let resumed):
                sessionID = resumed.id
                room = resumed.room
                logger.info("browser resumed", metadata: ["room": "\(resumed.room)"])
            case .failure(let error):
                return refuse(error, type)
            }
        case .restart(let restart):
            guard let id = sessionID else { return refuse(.notJoined(type), type) }
            guard restart.sdp.utf8.count < 32_768 else { return refuse(.messageTooLarge, type) }
            let result = await loop.run { context -> Result<Void, SignalError> in
                context.hook(WebRTCManager.self)?.restart(id, offerSDP: restart.sdp) ?? .failure(.sessionExpired)
            }
            if case .failure(let error) = result { return refuse(error, type) }
        case .renegotiate(let renegotiate):
            guard let id = sessionID else { return refuse(.notJoined(type), type) }
            guard renegotiate.sdp.utf8.count < 65_536, (renegotiate.subscriptions?.count ?? 0) <= 64 else {
                return refuse(.messageTooLarge, type)
            }
            let result = await loop.run { context -> Result<Void, SignalError> in
                context.hook(WebRTCManager.self)?.renegotiate(
                    id, offerSDP: renegotiate.sdp, subscriptions: renegotiate.subscriptions ?? [:], screen: renegotiate.screen)
                    ?? .failure(.sessionExpired)
            }
            if case .failure(let error) = result { return refuse(error, type) }
        case .action(let action):
            guard let id = sessionID else { return refuse(.notJoined(type), type) }
            let result = await loop.run(replying: { (context, reply: @escaping @Sendable (Result<Void, SignalError>) -> Void) in
                guard let manager = context.hook(WebRTCManager.self) else { return reply(.failure(.sessionExpired)) }
                manager.perform(id, action, reply: reply)
            })
            if case .failure(let error) = result { return refuse(error, type) }
        case .leave:
            left = true
            return .close
        }
        return .open
    }

    private func refuse(_ error: SignalError, _ request: String? = nil, supported: ClosedRange<Int>? = nil) -> Outcome {
        feed.yield(Signal.error(error, request: request, supported: supported))
        return .open
    }

    /// The socket is gone: `leave` ends the participant; anything else (a network change) only detaches it
    /// for a while, so a new socket can `resume`.
    func closed() {
        let left = self.left
        let connection = self.connection
        guard let id = sessionID else {
            // A guest that gave up waiting, or one let in just now (its socket closes like any other).
            loop.execute { context in
                context.hook(MeetingManager.self)?.cancelGuest(connection: connection)
                if let admitted = context.hook(WebRTCManager.self)?.session(forConnection: connection) {
                    if left { context.hook(WebRTCManager.self)?.leave(admitted.id) } else {
                        context.hook(WebRTCManager.self)?.detach(admitted.id, connection: connection)
                    }
                }
            }
            return
        }
        loop.execute { context in
            guard let manager = context.hook(WebRTCManager.self) else { return }
            if left { manager.leave(id, connection: connection) } else { manager.detach(id, connection: connection) }
        }
    }
}

/// Headers for every response (issue 5: nothing from third parties): a content security policy that
/// allows this origin only, no referrer, no sniffing, the microphone for this origin only.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    /// Served over HTTPS: browsers are told to use nothing else for a year (RFC 6797).
    let https: Bool

    static var headers: [(String, String)] {
        [
            ("Content-Security-Policy",
             "default-src 'self'; connect-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
                + "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Content-Type-Options", "nosniff"),
            ("Permissions-Policy", "microphone=(self), camera=(self), display-capture=(self), geolocation=()"),
        ]
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for (name, value) in Self.headers {
            if let field = HTTPField.Name(name) { response.headers[field] = value }
        }
        if https, let field = HTTPField.Name("Strict-Transport-Security") { response.headers[field] = "max-age=31536000" }
        return response
    }
}
