import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import PlenumBridge
import Synchronization

// Issue 11: HTTP had no idle or header timeouts and no connection caps. With Hummingbird's
// HTTP/1-with-WebSocket-upgrade channel the first request of a connection is not covered by its idle
// timeout, and a decoder error on it (headers over the limit) is answered by nobody, so these small NIO
// handlers wrap that channel. Hummingbird has no public way to wrap an existing server builder, hence a
// child channel of our own around the public HTTP1WebSocketUpgradeChannel (and TLS).

/// Caps on open connections: in all, and per client address. Shared by every accepted channel.
///
/// When the total is reached, a newcomer does not find the door shut: it takes the place of the oldest
/// connection that has not entered a meeting (static files, a WebSocket that has not joined yet).
/// Otherwise 100 addresses holding silent WebSockets would lock every new participant out (issue 11,
/// measured with `scripts/bench-floods.sh websockets`); a flooder now has to outpace the joins.
final class ConnectionLimits: Sendable {
    struct Entry {
        let address: String
        let sequence: UInt64
        let channel: any Channel
        var entered = false
    }

    struct Counts {
        var total = 0
        var byAddress: [String: Int] = [:]
        var entries: [ObjectIdentifier: Entry] = [:]
        var nextSequence: UInt64 = 0
        /// Refusals and evictions since their last log line (a flood is logged once a minute).
        var refusals = LogBudget()
        var evictions = LogBudget()

        mutating func remove(_ id: ObjectIdentifier) -> Entry? {
            guard let entry = entries.removeValue(forKey: id) else { return nil }
            total -= 1
            let left = byAddress[entry.address, default: 1] - 1
            byAddress[entry.address] = left > 0 ? left : nil
            return entry
        }
    }

    enum Admission: Equatable {
        case admitted
        /// Admitted in the place of the oldest connection that had not entered (now being closed).
        case admittedByEviction
        case refused
    }

    let total: Int
    let perAddress: Int
    /// Addresses not capped per address (loopback: a reverse proxy on this machine).
    let exempt: @Sendable (String) -> Bool
    private let counts = Mutex(Counts())

    init(total: Int, perAddress: Int, exempt: @escaping @Sendable (String) -> Bool = { $0 == "127.0.0.1" || $0 == "::1" }) {
        self.total = total
        self.perAddress = perAddress
        self.exempt = exempt
    }

    /// Counts `channel`, a new connection from `address`, or refuses it (nothing counted): over its
    /// address's cap, or when every connection has entered a meeting.
    func admit(_ address: String, channel: any Channel) -> Admission {
        let capped = !exempt(address)
        let (admission, evicted): (Admission, (any Channel)?) = counts.withLock { counts in
            let fromAddress = counts.byAddress[address, default: 0]
            guard !capped || fromAddress < perAddress else { return (.refused, nil) }
            var evicted: (any Channel)?
            if counts.total >= total {
                // Only when full, so a linear scan for the oldest is fine.
                guard let oldest = counts.entries.filter({ !$0.value.entered }).min(by: { $0.value.sequence < $1.value.sequence })
                else { return (.refused, nil) }
                evicted = counts.remove(oldest.key)?.channel
            }
            counts.total += 1
            counts.byAddress[address] = counts.byAddress[address, default: 0] + 1
            counts.entries[ObjectIdentifier(channel)] = Entry(address: address, sequence: counts.nextSequence, channel: channel)
            counts.nextSequence += 1
            return (evicted == nil ? .admitted : .admittedByEviction, evicted)
        }
        evicted?.close(promise: nil)
        return admission
    }

    /// The connection carries a participant now (joined, resumed or waiting): it is never evicted.
    func entered(_ channel: any Channel) {
        counts.withLock { $0.entries[ObjectIdentifier(channel)]?.entered = true }
    }

    /// The connection closed (or was evicted, then this does nothing).
    func release(_ channel: any Channel) {
        counts.withLock { _ = $0.remove(ObjectIdentifier(channel)) }
    }

    var open: Int { counts.withLock { $0.total } }

    /// Counts a refusal; returns how many to report when a log line is due (at most one a minute).
    func refusedAndDue() -> Int? { counts.withLock { $0.refusals.count(now: .now) } }

    /// Counts an eviction; likewise.
    func evictedAndDue() -> Int? { counts.withLock { $0.evictions.count(now: .now) } }

    /// The key a connection is counted under: the IP address; an IPv4-mapped IPv6 address as IPv4;
    /// other IPv6 addresses by their /64 (one host usually has a whole /64 to pick from).
    static func key(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress else { return "unknown" }
        if ip.hasPrefix("::ffff:"), ip.contains(".") { return String(ip.dropFirst(7)) }
        if case .v6(let v6) = address {
            let prefix = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0.prefix(8)) }
            return prefix.map { String(format: "%02x", $0) }.joined() + "::/64"
        }
        return ip
    }
}

struct ConnectionRefused: Error {}

/// Events of a flood, logged at most once a minute with how many there were.
struct LogBudget {
    private var since = 0
    private var last: ContinuousClock.Instant?

    /// Counts one; returns how many to report when a line is due.
    mutating func count(now: ContinuousClock.Instant) -> Int? {
        since += 1
        if let last, now - last < .seconds(60) { return nil }
        last = now
        defer { since = 0 }
        return since
    }
}

/// Wraps Hummingbird's HTTP/1 + WebSocket child channel: per-address and total connection caps,
/// a write-idle deadline on every connection, an answer (431/400) to a malformed first request,
/// and, with TLS, a redirect for plain HTTP sent to the TLS port.
struct GuardedChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let base: HTTP1WebSocketUpgradeChannel
    let limits: ConnectionLimits
    /// Built once (NIOSSLContext is expensive); nil: plain HTTP.
    let tls: NIOSSLContext?
    /// Closed when nothing was written for this long (first response included). Must exceed the
    /// WebSocket auto-ping period, which keeps a live WebSocket writing.
    let writeIdleTimeout: TimeAmount
    /// The port browsers are sent to when they speak plain HTTP to the TLS port (this one).
    let httpsPort: Int

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let address = ConnectionLimits.key(channel.remoteAddress)
        let admission = limits.admit(address, channel: channel)
        if admission == .admittedByEviction, let evicted = limits.evictedAndDue() {
            logger.warning("connections evicted: all slots taken", metadata: ["evicted": "\(evicted)", "open": "\(limits.open)"])
        }
        guard admission != .refused else {
            if let refused = limits.refusedAndDue() {
                logger.warning("connections refused: too many open", metadata: [
                    "refused": "\(refused)", "open": "\(limits.open)", "source": "\(LogPrivacy.tag(address))",
                ])
            }
            // The channel is not registered yet and NIO drops it without closing it when setup
            // fails: close it here (it would leak; debug builds assert "leak of open Channel").
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ConnectionRefused())
        }
        let limits = self.limits
        channel.closeFuture.whenComplete { _ in limits.release(channel) }
        do {
            let pipeline = channel.pipeline.syncOperations
            if let tls {
                try pipeline.addHandler(PlaintextRedirect(httpsPort: httpsPort))
                try pipeline.addHandler(NIOSSLServerHandler(context: tls))
            }
            try pipeline.addHandler(WriteIdleGuard(timeout: writeIdleTimeout))
        } catch {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
            .flatMapThrowing { value in
                // After the upgrade handler, before the handlers added once it has decided.
                try channel.pipeline.syncOperations.addHandler(ParserErrorResponder())
                return value
            }
            .flatMapError { error in
                channel.close(promise: nil)
                return channel.eventLoop.makeFailedFuture(error)
            }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes a connection that has written nothing for `timeout`: the first response must start
/// within it (a slowloris first request, a stalled TLS handshake), and a reader that stalls the
/// server's writes is dropped. A live WebSocket writes a ping every auto-ping period.
final class WriteIdleGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    let timeout: TimeAmount
    private var lastWrite = NIODeadline.now()
    private var check: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { stop() }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastWrite = .now()
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard check == nil else { return }
        lastWrite = .now()
        schedule(context, in: timeout)
    }

    private func stop() {
        check?.cancel()
        check = nil
    }

    private func schedule(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        check = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { self.expire(context) }
    }

    private func expire(_ context: ChannelHandlerContext) {
        let idle = NIODeadline.now() - lastWrite
        guard idle >= timeout else {
            schedule(context, in: timeout - idle)
            return
        }
        check = nil
        context.close(promise: nil)
    }
}

/// Answers a request the HTTP decoder refused (headers over the decoder's limit: 431; anything
/// else: 400) and closes. Needed with HTTP1WebSocketUpgradeChannel: before the first request has
/// been parsed, nothing there handles the decoder's error and the connection would just hang.
final class ParserErrorResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundOut = HTTPServerResponsePart

    private var answered = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !answered else { return }
        answered = true
        let status: HTTPResponseStatus = parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
        let head = HTTPResponseHead(
            version: .http1_1, status: status, headers: ["Connection": "close", "Content-Length": "0"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }
}

/// In front of the TLS handler: a connection whose first byte is not a TLS handshake record
/// (0x16) is plain HTTP sent to the TLS port; it gets a 301 to https:// and is closed.
final class PlaintextRedirect: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let maxHead = 8192
    let httpsPort: Int
    private var head: ByteBuffer?
    private var done = false

    init(httpsPort: Int) { self.httpsPort = httpsPort }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var bytes = unwrapInboundIn(data)
        if head == nil {
            if bytes.readableBytesView.first == 0x16 {
                // TLS: step aside (this read goes on to the TLS handler, and so will every other).
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            head = context.channel.allocator.buffer(capacity: 1024)
        }
        head!.writeBuffer(&bytes)
        let seen = head!.readableBytesView
        let complete = seen.count >= 4 && seen.indices.dropFirst(3).contains { index in
            seen[index - 3] == 13 && seen[index - 2] == 10 && seen[index - 1] == 13 && seen[index] == 10
        }
        guard complete || seen.count > Self.maxHead else { return }
        done = true
        let response: String
        if let location = Self.location(String(buffer: head!), httpsPort: httpsPort) {
            response = "HTTP/1.1 301 Moved Permanently\r\nLocation: \(location)\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        } else {
            response = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response)), promise: nil)
        context.close(promise: nil)
    }

    /// https://HOST[:PORT]/PATH from a plain request's head, when its Host and path are plausible.
    static func location(_ head: String, httpsPort: Int) -> String? {
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let requestLine = lines.first else { return nil }
        let parts = requestLine.split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else { return nil }
        let target = parts[1]
        let path =
            target.hasPrefix("/") && target.count < 2048 && target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
            ? String(target) : "/"
        guard
            let hostLine = lines.dropFirst().first(where: { $0.lowercased().hasPrefix("host:") })
        else { return nil }
        let hostPort = hostLine.dropFirst(5).trimmingCharacters(in: .whitespaces)
        // Drop the port: "[v6]:port" or "name:port".
        let host: Substring
        if hostPort.hasPrefix("[") {
            guard let end = hostPort.firstIndex(of: "]") else { return nil }
            host = hostPort[...end]
        } else {
            host = hostPort.split(separator: ":", maxSplits: 1).first ?? ""
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:")
        guard !host.isEmpty, host.count <= 255, host.allSatisfy({ allowed.contains($0) }) else { return nil }
        return "https://\(host)\(httpsPort == 443 ? "" : ":\(httpsPort)")\(path)"
    }
}
