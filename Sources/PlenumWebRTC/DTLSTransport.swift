import CPlenumDTLS
import Foundation
import PlenumRTP

/// The server's DTLS identity: an ECDSA P-256 certificate and its SHA-256 fingerprint for SDP
/// (`a=fingerprint:sha-256 …`, RFC 8122). Persisted so a restart keeps the fingerprint.
public final class DTLSContext: @unchecked Sendable {
    let pointer: OpaquePointer
    public let fingerprint: String

    public struct Failure: Error, CustomStringConvertible { public var description: String }

    /// Loads the certificate and key from `directory` (dtls-certificate.pem, dtls-key.pem), or generates
    /// and stores them there. With no directory, a new identity lives as long as the process.
    public init(directory: URL? = nil) throws {
        let certificateURL = directory?.appendingPathComponent("dtls-certificate.pem")
        let keyURL = directory?.appendingPathComponent("dtls-key.pem")
        let certificate = certificateURL.flatMap { try? String(contentsOf: $0, encoding: .utf8) }
        let key = keyURL.flatMap { try? String(contentsOf: $0, encoding: .utf8) }
        var fingerprint = [CChar](repeating: 0, count: 128)
        var error = [CChar](repeating: 0, count: 256)
        guard let pointer = plenum_dtls_context_create(certificate, key, &fingerprint, fingerprint.count, &error, error.count)
        else { throw Failure(description: Self.text(error)) }
        self.pointer = pointer
        self.fingerprint = Self.text(fingerprint)
        if certificate == nil || key == nil, let directory, let certificateURL, let keyURL {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (which, url) in [(Int32(0), certificateURL), (1, keyURL)] {
                guard let pem = plenum_dtls_context_pem(pointer, which) else { continue }
                defer { free(pem) }
                try Data(bytes: pem, count: strlen(pem)).write(to: url, options: .atomic)
                if which == 1 { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path) }
            }
        }
    }

    deinit { plenum_dtls_context_free(pointer) }

    static func text(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// One DTLS-SRTP association (RFC 5764), sans-I/O: datagrams in, datagrams out, and once connected
/// the SRTP sessions, but only when the peer's certificate matches the fingerprint from its SDP
/// (fail closed: a mismatch is a failure, never a warning).
public final class DTLSTransport {
    public enum State: Equatable, Sendable { case handshaking, connected, failed(String) }

    private let pointer: OpaquePointer
    public let expectedFingerprint: String
    public private(set) var state = State.handshaking
    private var scratch = [UInt8](repeating: 0, count: 16_384)

    /// `isServer`: the bridge answers with a=setup:passive and is the DTLS server.
    public init?(context: DTLSContext, isServer: Bool, expectedFingerprint: String) {
        guard let pointer = plenum_dtls_new(context.pointer, isServer ? 1 : 0) else { return nil }
        self.pointer = pointer
        self.expectedFingerprint = expectedFingerprint.uppercased()
    }

    deinit { plenum_dtls_free(pointer) }

    /// Starts a client handshake; returns the datagrams to send.
    public func start() -> [[UInt8]] {
        update(plenum_dtls_start(pointer))
        return outgoing()
    }

    /// Handles a received DTLS datagram; returns the datagrams to send in reply.
    public func receive(_ datagram: UnsafeRawBufferPointer) -> [[UInt8]] {
        guard case .handshaking = state, let base = datagram.baseAddress else { return [] }
        update(plenum_dtls_receive(pointer, base.assumingMemoryBound(to: UInt8.self), datagram.count))
        return outgoing()
    }

    /// Milliseconds until a retransmission is due, if a timer runs.
    public var timeout: Int? {
        let ms = plenum_dtls_timeout_ms(pointer)
        return ms >= 0 ? ms : nil
    }

    /// The retransmission timer fired; returns what to resend.
    public func onTimeout() -> [[UInt8]] {
        update(plenum_dtls_on_timeout(pointer))
        return outgoing()
    }

    /// After the handshake: SRTP sessions for both directions, keyed from the DTLS exporter.
    public func srtpSessions() throws -> (inbound: SRTPSession, outbound: SRTPSession) {
        guard state == .connected else { throw SRTPSession.Failure.badKey }
        var profileID: UInt16 = 0
        var local = [UInt8](repeating: 0, count: 64), remote = [UInt8](repeating: 0, count: 64)
        let length = plenum_dtls_srtp_keys(pointer, &profileID, &local, &remote, 64)
        guard length > 0, let profile = SRTPSession.Profile.allCases.first(where: { $0.dtlsProfileID == profileID }) else {
            throw SRTPSession.Failure.badKey
        }
        defer {
            for i in local.indices { local[i] = 0 }
            for i in remote.indices { remote[i] = 0 }
        }
        return (
            try SRTPSession(profile: profile, keyingMaterial: Array(remote[..<Int(length)]), direction: .inbound),
            try SRTPSession(profile: profile, keyingMaterial: Array(local[..<Int(length)]), direction: .outbound)
        )
    }

    private func update(_ raw: Int32) {
        switch raw {
        case Int32(PLENUM_DTLS_CONNECTED):
            var fingerprint = [CChar](repeating: 0, count: 128)
            guard plenum_dtls_peer_fingerprint(pointer, &fingerprint, fingerprint.count) == 0 else {
                state = .failed("no peer certificate")
                return
            }
            let actual = DTLSContext.text(fingerprint)
            state = actual == expectedFingerprint ? .connected : .failed("fingerprint mismatch")
        case Int32(PLENUM_DTLS_FAILED):
            state = .failed(String(cString: plenum_dtls_error(pointer)))
        default:
            break
        }
    }

    private func outgoing() -> [[UInt8]] {
        var datagrams: [[UInt8]] = []
        while true {
            let n = scratch.withUnsafeMutableBufferPointer { plenum_dtls_next_datagram(pointer, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            datagrams.append(Array(scratch[..<n]))
        }
        return datagrams
    }
}
