import PlenumMeetings
import Foundation
import PlenumServer
import Testing

@Suite struct AccessTokenTests {
    let tokens = AccessTokens(secret: Array(repeating: 7, count: 32))

    @Test func aTokenCarriesItsGrantAndNothingElseVerifies() throws {
        let grant = AccessGrant(room: "3001", expires: 2_000_000_000)
        let token = tokens.issue(grant)
        #expect(tokens.verify(token, now: 1_900_000_000) == .success(grant))
        #expect(tokens.verify(token, now: 2_000_000_001) == .failure(.expired))
        // Another server's secret, a changed grant, a changed signature, garbage.
        #expect(AccessTokens(secret: Array(repeating: 8, count: 32)).verify(token, now: 0) == .failure(.badSignature))
        let parts = token.split(separator: ".")
        let otherRoom = tokens.issue(AccessGrant(room: "3002", expires: 2_000_000_000)).split(separator: ".")
        #expect(tokens.verify("\(otherRoom[0]).\(parts[1])", now: 0) == .failure(.badSignature), "a grant with another's signature")
        var signature = Array(parts[1])
        signature[0] = signature[0] == "A" ? "B" : "A"
        #expect(tokens.verify("\(parts[0]).\(String(signature))", now: 0) == .failure(.badSignature))
        for junk in ["", ".", "a.b.c", "x", String(repeating: "A", count: 5000), "\(parts[0])."] {
            #expect(tokens.verify(junk, now: 0) == .failure(.malformed), "\(junk.prefix(20))")
        }
    }

    @Test func twoGrantsForOneRoomDiffer() {
        let a = tokens.issue(AccessGrant(room: "3001", expires: 2_000_000_000))
        let b = tokens.issue(AccessGrant(room: "3001", expires: 2_000_000_000))
        #expect(a != b)
    }

    @Test func theSecretPersists() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("plenum-tokens-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try AccessTokens(directory: folder)
        let token = first.issue(AccessGrant(room: "3001", expires: 2_000_000_000))
        #expect(try AccessTokens(directory: folder).verify(token, now: 0).map(\.room) == .success("3001"))
        let mode = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("token-secret").path)[.posixPermissions]
        #expect(mode as? Int == 0o600)
    }

    @Test func aSelfSignedCertificateNamesItsHosts() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("plenum-https-\(UUID())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let identity = try HTTPSIdentity.selfSigned(in: folder, hosts: ["10.77.0.1", "conference.example.org"])
        let fingerprint = try identity.fingerprint()
        #expect(fingerprint.split(separator: ":").count == 32)
        #expect(try HTTPSIdentity.selfSigned(in: folder, hosts: ["10.77.0.1"]).fingerprint() == fingerprint, "kept, not remade")
        _ = try identity.tlsConfiguration()
        #expect(isLoopback("127.0.0.1") && isLoopback("::1") && !isLoopback("10.77.0.1"))
    }

    @Test func theClientAddressTrustsForwardedForOnlyFromThisMachine() {
        #expect(clientAddress(remote: "127.0.0.1", forwardedFor: ["198.51.100.7"]) == "198.51.100.7", "a proxy on loopback")
        #expect(clientAddress(remote: "::1", forwardedFor: ["203.0.113.1, 198.51.100.7"]) == "198.51.100.7", "the proxy's hop")
        #expect(clientAddress(remote: "10.0.0.9", forwardedFor: ["198.51.100.7"]) == "10.0.0.9", "clients cannot choose it")
        #expect(clientAddress(remote: "127.0.0.1", forwardedFor: []) == "127.0.0.1")
        #expect(clientAddress(remote: nil, forwardedFor: ["x"]) == "unknown")
    }
}
