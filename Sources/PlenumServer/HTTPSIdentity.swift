import CPlenumDTLS
import Foundation
import NIOSSL

/// The HTTPS server's certificate (issue 5: browsers grant the microphone to secure origins only): the
/// configured PEM files, or a self-signed one generated on first start for the server's hosts and kept
/// in the data directory, so its fingerprint stays the same across restarts.
public struct HTTPSIdentity: Sendable {
    public let certificatePath: String
    public let keyPath: String
    /// Whether the server made the certificate itself (then browsers warn until it is accepted).
    public let selfSigned: Bool

    public struct Failure: Error, CustomStringConvertible { public var description: String }

    public init(certificatePath: String, keyPath: String, selfSigned: Bool = false) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.selfSigned = selfSigned
    }

    /// The self-signed identity in `directory` (https-certificate.pem, https-key.pem) for `hosts`,
    /// generated when missing.
    public static func selfSigned(in directory: URL, hosts: [String]) throws -> HTTPSIdentity {
        let certificate = directory.appendingPathComponent("https-certificate.pem")
        let key = directory.appendingPathComponent("https-key.pem")
        if !FileManager.default.fileExists(atPath: certificate.path) || !FileManager.default.fileExists(atPath: key.path) {
            var certificatePEM: UnsafeMutablePointer<CChar>?
            var keyPEM: UnsafeMutablePointer<CChar>?
            guard plenum_https_self_signed(hosts.joined(separator: ","), &certificatePEM, &keyPEM) == 0,
                let certificatePEM, let keyPEM
            else { throw Failure(description: "could not generate a certificate for \(hosts)") }
            defer {
                free(certificatePEM)
                free(keyPEM)
            }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(bytes: keyPEM, count: strlen(keyPEM)).write(to: key, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key.path)
            try Data(bytes: certificatePEM, count: strlen(certificatePEM)).write(to: certificate, options: .atomic)
        }
        return HTTPSIdentity(certificatePath: certificate.path, keyPath: key.path, selfSigned: true)
    }

    /// NIOSSL's server configuration for the identity (TLS 1.2 and 1.3).
    public func tlsConfiguration() throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    /// The certificate's SHA-256 fingerprint ("AB:CD:…"), printed at start so users can compare it with
    /// what their browser shows.
    public func fingerprint() throws -> String {
        guard let certificate = try NIOSSLCertificate.fromPEMFile(certificatePath).first else {
            throw Failure(description: "no certificate in \(certificatePath)")
        }
        let der = try certificate.toDERBytes()
        var digest = [UInt8](repeating: 0, count: 32)
        der.withUnsafeBufferPointer { bytes in _ = plenum_sha256(bytes.baseAddress, bytes.count, &digest) }
        return digest.map { String(format: "%02X", $0) }.joined(separator: ":")
    }
}

/// Whether `host` is a loopback address, where plain HTTP is allowed (browsers treat
/// http://localhost as a secure context; anything else needs HTTPS for the microphone).
public func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
}
