import CPlenumDTLS
import Foundation

/// What a signalling session may do: join one room, as one kind of participant, until a time. Issued by
/// the join page's `POST /api/token` after the room's PIN (later by the meetings API's join URLs), and
/// carried by the WebSocket's `join`.
public struct AccessGrant: Codable, Sendable, Equatable {
    public var room: String
    /// Seconds since 1970 after which the grant is refused.
    public var expires: Int
    /// Random, so two grants for the same room never look alike.
    public var nonce: String
    /// From a meeting's join URL: the meeting, the user's ID, role name and display name.
    public var meeting: String?
    /// The meeting's instance (`Meeting.instance`): a grant enters only the meeting it was issued for,
    /// never a later meeting under the same ID or voice bridge (BigBlueButton CVE-2022-29232's class).
    public var instance: String?
    public var user: String?
    public var role: String?
    public var name: String?

    public init(room: String, expires: Int, nonce: String = AccessTokens.randomText(12), meeting: String? = nil,
                instance: String? = nil, user: String? = nil, role: String? = nil, name: String? = nil) {
        self.room = room
        self.expires = expires
        self.nonce = nonce
        self.meeting = meeting
        self.instance = instance
        self.user = user
        self.role = role
        self.name = name
    }
}

/// Signed access tokens: base64url(JSON grant) "." base64url(HMAC-SHA-256 of that part) with a server
/// secret kept in the data directory (so tokens survive a restart and a reconnecting browser keeps its
/// place). Sans-I/O apart from loading the secret.
public struct AccessTokens: Sendable {
    let secret: [UInt8]
    /// How long a token from the join page stays valid: long enough for a school day of reconnects.
    public static let lifetime = 12 * 3600

    public init(secret: [UInt8]) { self.secret = secret }

    /// The secret in `directory/token-secret` (32 random bytes, mode 0600), made when missing.
    public init(directory: URL) throws {
        let url = directory.appendingPathComponent("token-secret")
        if let data = try? Data(contentsOf: url), data.count >= 32 {
            secret = Array(data)
            return
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = rng.next() }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(bytes).write(to: url, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        secret = bytes
    }

    public func issue(_ grant: AccessGrant) -> String {
        let body = Self.base64url(Array((try? JSONEncoder().encode(grant)) ?? Data()))
        return body + "." + Self.base64url(mac(Array(body.utf8)))
    }

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case malformed, badSignature, expired
        public var description: String {
            switch self {
            case .malformed: "malformed token"
            case .badSignature: "invalid token"
            case .expired: "token expired"
            }
        }
    }

    public func verify(_ token: String, now: Int = Int(Date().timeIntervalSince1970)) -> Result<AccessGrant, Refusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count < 4096, parts.count == 2, let signature = Self.decode(parts[1]), signature.count == 32 else {
            return .failure(.malformed)
        }
        let expected = mac(Array(parts[0].utf8))
        guard plenum_secrets_equal(expected, expected.count, signature, signature.count) == 1 else { return .failure(.badSignature) }
        guard let body = Self.decode(parts[0]), let grant = try? JSONDecoder().decode(AccessGrant.self, from: Data(body)) else {
            return .failure(.malformed)
        }
        return grant.expires >= now ? .success(grant) : .failure(.expired)
    }

    func mac(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = plenum_hmac_sha256(secret, secret.count, data, data.count, &out)
        return out
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }

    public static func randomText(_ bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return base64url((0..<bytes).map { _ in rng.next() })
    }
}
