import Foundation
import PlenumRTP
import PlenumWebRTC
import Testing

@Suite struct DTLSTransportTests {
    /// Pumps datagrams between two endpoints until neither has anything to say.
    func handshake(_ client: DTLSTransport, _ server: DTLSTransport) {
        var toServer = client.start()
        var toClient: [[UInt8]] = []
        for _ in 0..<20 where !(toServer.isEmpty && toClient.isEmpty) {
            toClient = toServer.flatMap { d in d.withUnsafeBytes { server.receive($0) } }
            toServer = toClient.flatMap { d in d.withUnsafeBytes { client.receive($0) } }
        }
    }

    @Test func handshakeDerivesMatchingSRTPKeysBothWays() throws {
        let serverContext = try DTLSContext()
        let clientContext = try DTLSContext()
        #expect(serverContext.fingerprint.count == 95, "SHA-256 as 32 hex pairs: \(serverContext.fingerprint)")
        let server = try #require(DTLSTransport(context: serverContext, isServer: true, expectedFingerprint: clientContext.fingerprint))
        let client = try #require(DTLSTransport(context: clientContext, isServer: false, expectedFingerprint: serverContext.fingerprint))
        handshake(client, server)
        #expect(server.state == .connected && client.state == .connected)
        let (serverIn, serverOut) = try server.srtpSessions()
        let (clientIn, clientOut) = try client.srtpSessions()
        #expect(serverIn.profile == .aeadAES128GCM, "GCM preferred")
        for (sender, receiver) in [(clientOut, serverIn), (serverOut, clientIn)] {
            let rtp: [UInt8] = [0x80, 111, 0, 7, 0, 0, 3, 0xC0, 0, 0, 0, 9] + Array(repeating: 0x55, count: 40)
            var buffer = rtp + [UInt8](repeating: 0, count: SRTPSession.maxTrailerLength)
            let protected = try buffer.withUnsafeMutableBytes { try sender.protect($0, length: rtp.count) }
            let plain = try buffer.withUnsafeMutableBytes { try receiver.unprotect($0, length: protected) }
            #expect(Array(buffer[..<plain]) == rtp)
        }
    }

    @Test func aWrongFingerprintFailsClosed() throws {
        let serverContext = try DTLSContext()
        let clientContext = try DTLSContext()
        let impostor = try DTLSContext()
        let server = try #require(DTLSTransport(context: serverContext, isServer: true, expectedFingerprint: impostor.fingerprint))
        let client = try #require(DTLSTransport(context: clientContext, isServer: false, expectedFingerprint: serverContext.fingerprint))
        handshake(client, server)
        #expect(server.state == .failed("fingerprint mismatch"))
        #expect(throws: (any Error).self) { _ = try server.srtpSessions() }
    }

    @Test func garbageDatagramsFailOrAreIgnoredWithoutCrashing() throws {
        let context = try DTLSContext()
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let server = try #require(DTLSTransport(context: context, isServer: true, expectedFingerprint: "AA"))
            let junk = [UInt8(22), 0xFE, 0xFD] + (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = junk.withUnsafeBytes { server.receive($0) }
            #expect(server.state != .connected)
        }
    }

    @Test func identityPersistsAcrossRestarts() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plenum-dtls-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try DTLSContext(directory: directory)
        let second = try DTLSContext(directory: directory)
        #expect(first.fingerprint == second.fingerprint)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("dtls-key.pem").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
