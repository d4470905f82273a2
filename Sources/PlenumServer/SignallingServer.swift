import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import PlenumBridge

extension MediaLoop {
    /// Runs `body` on the loop and returns its result to the awaiting task.
    func run<T: Sendable>(_ body: @escaping @Sendable (MediaLoopContext) -> T) async -> T {
        await withCheckedContinuation { continuation in
            execute { context in continuation.resume(returning: body(context)) }
        }
    }
}

/// HTTP and WebSocket signalling (Hummingbird): `GET /health`, and `/ws` where a browser joins a room
/// with an SDP offer and then exchanges mute, leave and participant events (docs/signalling.md).
public struct SignallingServer: Sendable {
    public let host: String
    public let port: Int
    let loop: MediaLoop
    let logger: Logger

    /// Messages above this get an error reply (an SDP offer is a few KiB).
    public static let maxMessageSize = 64 * 1024
    /// Frames above this are refused by the WebSocket decoder, which closes the connection: the hard
    /// limit on what one browser can make the server hold in memory.
    public static let maxFrameSize = 1024 * 1024

    public init(host: String, port: Int, loop: MediaLoop, logger: Logger = Logger(label: "plenum.signalling")) {
        self.host = host
        self.port = port
        self.loop = loop
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        router.get("/health") { _, _ in "ok\n" }
        let loop = self.loop
        let logger = self.logger
        let webSockets = Router(context: BasicWebSocketRequestContext.self)
        webSockets.ws("/ws") { _, _ in
            .upgrade([:])
        } onUpgrade: { inbound, outbound, _ in
            let (feed, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(256))
            var sessionID: UInt64?
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await message in feed { try? await outbound.write(.text(message)) }
                }
                do {
                    for try await message in inbound.messages(maxSize: Self.maxFrameSize) {
                        guard case .text(let text) = message else {
                            continuation.yield(Signal.error("text frames only"))
                            continue
                        }
                        guard text.utf8.count <= Self.maxMessageSize else {
                            continuation.yield(Signal.error("message too large"))
                            continue
                        }
                        guard let request = try? JSONDecoder().decode(Signal.ClientMessage.self, from: Data(text.utf8)) else {
                            continuation.yield(Signal.error("malformed message"))
                            continue
                        }
                        switch request.type {
                        case "join":
                            guard sessionID == nil else {
                                continuation.yield(Signal.error("already joined"))
                                continue
                            }
                            guard let room = request.room, let sdp = request.sdp, sdp.utf8.count < 32_768 else {
                                continuation.yield(Signal.error("join needs room and sdp"))
                                continue
                            }
                            let name = request.name ?? "Guest"
                            let pin = request.pin
                            let result = await loop.run { context -> Result<(UInt64, Int), WebRTCManager.JoinError> in
                                guard let manager = context.hook(WebRTCManager.self) else { return .failure(.noSuchRoom) }
                                // On success the manager has queued the answer into the feed itself.
                                return manager.join(room: room, pin: pin, name: name, offerSDP: sdp, feed: continuation)
                                    .map { ($0.id, $0.memberID) }
                            }
                            switch result {
                            case .success(let (id, memberID)):
                                sessionID = id
                                logger.info("browser joined", metadata: ["room": "\(room)", "member": "\(memberID)"])
                            case .failure(let error):
                                continuation.yield(Signal.error(error.description))
                            }
                        case "mute":
                            guard let id = sessionID, let muted = request.muted else {
                                continuation.yield(Signal.error("mute needs a joined session and muted"))
                                continue
                            }
                            loop.execute { context in context.hook(WebRTCManager.self)?.setMuted(id, muted) }
                        case "leave":
                            break
                        default:
                            continuation.yield(Signal.error("unknown message type"))
                            continue
                        }
                        if request.type == "leave" { break }
                    }
                } catch {
                    logger.debug("websocket closed", metadata: ["error": "\(error)"])
                }
                if let id = sessionID {
                    loop.execute { context in context.hook(WebRTCManager.self)?.leave(id) }
                }
                continuation.finish()
                group.cancelAll()
            }
        }
        let app = Application(
            router: router,
            server: .http1WebSocketUpgrade(
                webSocketRouter: webSockets,
                configuration: .init(ws: .init(maxFrameSize: Self.maxFrameSize))),
            configuration: .init(address: .hostname(host, port: port)),
            logger: logger)
        // The server's own signal handling (SIGINT/SIGTERM) stays with `plenum serve`, which cancels
        // this task to stop: two signal owners would each swallow half of a shutdown.
        try await app.runService(gracefulShutdownSignals: [])
    }
}
