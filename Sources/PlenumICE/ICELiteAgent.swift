/// ICE credentials (RFC 8445 §5.3): a username fragment and a password, from the ice-char set.
public struct ICECredentials: Sendable, Equatable {
    public var usernameFragment: String
    public var password: String

    public init(usernameFragment: String, password: String) {
        self.usernameFragment = usernameFragment
        self.password = password
    }

    /// Fresh random credentials: 8 characters of ufrag, 24 of password (≥ 24 bits and 128 bits of entropy).
    public static func random() -> ICECredentials {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var rng = SystemRandomNumberGenerator()
        func make(_ n: Int) -> String { String((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }) }
        return ICECredentials(usernameFragment: make(8), password: make(24))
    }
}

/// A transport address, IPv4 or IPv6: 16 address bytes in network order as two words (IPv4 as
/// `::ffff:a.b.c.d`), and a port.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public var port: UInt16
    public init(high: UInt64, low: UInt64, port: UInt16) {
        self.high = high
        self.low = low
        self.port = port
    }
    /// An IPv4 address (host byte order).
    public init(address: UInt32, port: UInt16) { self.init(high: 0, low: 0xFFFF << 32 | UInt64(address), port: port) }
    public var ipv4: UInt32? { high == 0 && low >> 32 == 0xFFFF ? UInt32(truncatingIfNeeded: low) : nil }
    public var description: String {
        if let a = ipv4 { return "\(a >> 24).\(a >> 16 & 0xFF).\(a >> 8 & 0xFF).\(a & 0xFF):\(port)" }
        let groups = (0..<8).map { i -> String in
            let word = i < 4 ? high : low
            return String(UInt16(truncatingIfNeeded: word >> (48 - 16 * UInt64(i % 4))), radix: 16)
        }
        return "[\(groups.joined(separator: ":"))]:\(port)"
    }
}

/// The ICE-lite side of one WebRTC session (RFC 8445 §2.5, §7.3): the server has only host candidates and
/// answers connectivity checks; the browser (full agent, controlling) nominates. Sans-I/O: STUN bytes and
/// time in, a response to send and the session's state out.
public final class ICELiteAgent {
    public let local: ICECredentials
    public var remote: ICECredentials?
    /// The nominated address the browser's media comes from: DTLS and SRTP are accepted from it only.
    public private(set) var selected: Endpoint?
    /// Addresses that passed a check (before or without nomination).
    public private(set) var validated: Set<Endpoint> = []
    private var lastConsent: UInt64 = 0

    public struct Counters: Sendable, Equatable {
        public var requests = 0, malformed = 0, wrongUsername = 0, badIntegrity = 0
    }
    public private(set) var counters = Counters()

    /// RFC 7675: without a fresh authenticated check for 30 s the peer no longer consents.
    public static let consentTimeout: UInt64 = 30_000

    public enum Outcome: Equatable, Sendable {
        /// Send `length` bytes of the response buffer back to the source.
        case respond(length: Int)
        /// Dropped (malformed, not for us, or unauthenticated): logged once by the caller, counted here.
        case dropped
    }

    /// `now`: when the session starts; a browser that never completes a check within the consent
    /// timeout is given up like one that stopped answering.
    public init(local: ICECredentials = .random(), remote: ICECredentials? = nil, now: UInt64 = 0) {
        self.local = local
        self.remote = remote
        lastConsent = now
    }

    /// Handles a STUN message that arrived from `source` at `now` (milliseconds, any monotonic origin).
    public func handle(_ bytes: UnsafeRawBufferPointer, from source: Endpoint, now: UInt64,
                       response: UnsafeMutableRawBufferPointer) -> Outcome {
        guard let message = try? STUNMessage(parsing: bytes), message.type == STUNMessage.MessageType.bindingRequest.rawValue,
            message.hasFingerprint
        else {
            counters.malformed += 1
            return .dropped
        }
        counters.requests += 1
        // USERNAME is "our ufrag:their ufrag" (RFC 8445 §7.2.2).
        guard let username = message.username, Self.usernameMatches(username, local: local, remote: remote) else {
            counters.wrongUsername += 1
            return .dropped
        }
        guard let integrity = message.integrityOffset,
            STUNMessage.verifyIntegrity(bytes, at: integrity, password: local.password)
        else {
            counters.badIntegrity += 1
            return .dropped
        }
        validated.insert(source)
        lastConsent = now
        if message.useCandidate { selected = source }  // the controlling agent nominates (§7.3.1.5)
        let length = STUNMessage.writeBindingSuccess(
            into: response, transactionID: message.transactionID, address: source,
            password: local.password)
        return length > 0 ? .respond(length: length) : .dropped
    }

    public func consentExpired(now: UInt64) -> Bool {
        now > lastConsent + Self.consentTimeout
    }

    static func usernameMatches(_ username: String, local: ICECredentials, remote: ICECredentials?) -> Bool {
        guard let colon = username.firstIndex(of: ":") else { return false }
        guard username[..<colon] == local.usernameFragment else { return false }
        if let remote { return username[username.index(after: colon)...] == remote.usernameFragment }
        return true
    }

    /// The local ufrag a request is for (to find its session on a port shared by every browser).
    public static func localFragment(of bytes: UnsafeRawBufferPointer) -> String? {
        guard let message = try? STUNMessage(parsing: bytes), let username = message.username,
            let colon = username.firstIndex(of: ":")
        else { return nil }
        return String(username[..<colon])
    }
}
