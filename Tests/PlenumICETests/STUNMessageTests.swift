import PlenumICE
import Testing

/// Vectors from aioice (an independent implementation, see make-stun-vectors.py).
@Suite struct STUNMessageTests {
    @Test func parsesABrowserBindingRequest() throws {
        try STUNVectors.browserBindingRequest.withUnsafeBytes { bytes in
            let message = try STUNMessage(parsing: bytes)
            #expect(message.type == STUNMessage.MessageType.bindingRequest.rawValue)
            #expect(message.transactionID == Array(1...12))
            #expect(message.username == "srvUfrag:cliUfrag" && message.priority == 1_853_824_767)
            #expect(message.iceControlling == 0x1122_3344_5566_7788 && message.useCandidate && message.hasFingerprint)
            let offset = try #require(message.integrityOffset)
            #expect(STUNMessage.verifyIntegrity(bytes, at: offset, password: STUNVectors.serverPassword))
            #expect(!STUNMessage.verifyIntegrity(bytes, at: offset, password: "wrong password"))
        }
    }

    @Test func buildsTheSameResponseAsAioice() {
        var buffer = [UInt8](repeating: 0, count: 128)
        let n = buffer.withUnsafeMutableBytes {
            STUNMessage.writeBindingSuccess(
                into: $0, transactionID: Array(1...12), address: Endpoint(address: 0x0A4D_0002, port: 50_000), password: STUNVectors.serverPassword)
        }
        #expect(Array(buffer[..<n]) == STUNVectors.serverBindingResponse)
    }

    @Test func buildsTheSameRequestAsAioice() {
        let request = STUNMessage.bindingRequest(
            transactionID: Array(1...12), username: "srvUfrag:cliUfrag", password: STUNVectors.serverPassword,
            priority: 1_853_824_767, tieBreaker: 0x1122_3344_5566_7788, useCandidate: true)
        #expect(request == STUNVectors.browserBindingRequest)
    }

    @Test func tamperingBreaksTheFingerprint() {
        var tampered = STUNVectors.browserBindingRequest
        tampered[30] ^= 0x01
        #expect(throws: STUNMessage.ParseError.badFingerprint) { try tampered.withUnsafeBytes { _ = try STUNMessage(parsing: $0) } }
    }
    // Random and mutated STUN input: the seeded corpus replay in PlenumFuzzTargetsTests (and
    // scripts/fuzz.sh stun for long libFuzzer runs) replaced an unseeded test that asserted nothing.
}

@Suite struct ICELiteAgentTests {
    let server = ICECredentials(usernameFragment: "srvUfrag", password: STUNVectors.serverPassword)
    let browser = Endpoint(address: 0x0A4D_0002, port: 50_000)

    @Test func aValidCheckWithUseCandidateNominatesAndIsAnswered() {
        let agent = ICELiteAgent(local: server, remote: ICECredentials(usernameFragment: "cliUfrag", password: "x"))
        var response = [UInt8](repeating: 0, count: 256)
        let outcome = STUNVectors.browserBindingRequest.withUnsafeBytes { request in
            response.withUnsafeMutableBytes { agent.handle(request, from: browser, now: 1000, response: $0) }
        }
        #expect(outcome == .respond(length: STUNVectors.serverBindingResponse.count))
        #expect(Array(response[..<STUNVectors.serverBindingResponse.count]) == STUNVectors.serverBindingResponse)
        #expect(agent.selected == browser)
        #expect(!agent.consentExpired(now: 30_000) && agent.consentExpired(now: 31_001), "RFC 7675: 30 s")
    }

    @Test func anIPv6CheckIsAnsweredWithAnIPv6MappedAddress() {
        let agent = ICELiteAgent(local: server, remote: ICECredentials(usernameFragment: "cliUfrag", password: "x"))
        // fd77::2
        let browser6 = Endpoint(high: 0xFD77_0000_0000_0000, low: 2, port: 50_000)
        var response = [UInt8](repeating: 0, count: 256)
        let outcome = STUNVectors.browserBindingRequest.withUnsafeBytes { request in
            response.withUnsafeMutableBytes { agent.handle(request, from: browser6, now: 1000, response: $0) }
        }
        #expect(outcome == .respond(length: STUNVectors.serverBindingResponseIPv6.count))
        #expect(Array(response[..<STUNVectors.serverBindingResponseIPv6.count]) == STUNVectors.serverBindingResponseIPv6)
        #expect(agent.selected == browser6 && browser6.description == "[fd77:0:0:0:0:0:0:2]:50000")
    }

    @Test func checksForSomeoneElseOrWithTheWrongPasswordAreDropped() {
        var response = [UInt8](repeating: 0, count: 256)
        let stranger = ICELiteAgent(local: ICECredentials(usernameFragment: "other", password: STUNVectors.serverPassword))
        let wrongPassword = ICELiteAgent(local: ICECredentials(usernameFragment: "srvUfrag", password: "not the password"))
        let wrongRemote = ICELiteAgent(local: server, remote: ICECredentials(usernameFragment: "someoneElse", password: "x"))
        for agent in [stranger, wrongPassword, wrongRemote] {
            let outcome = STUNVectors.browserBindingRequest.withUnsafeBytes { request in
                response.withUnsafeMutableBytes { agent.handle(request, from: browser, now: 0, response: $0) }
            }
            #expect(outcome == .dropped && agent.selected == nil)
        }
        #expect(stranger.counters.wrongUsername == 1 && wrongPassword.counters.badIntegrity == 1)
        #expect(STUNVectors.browserBindingRequest.withUnsafeBytes { ICELiteAgent.localFragment(of: $0) } == "srvUfrag")
    }

    @Test func randomCredentialsUseIceChars() {
        let credentials = ICECredentials.random()
        #expect(credentials.usernameFragment.count == 8 && credentials.password.count == 24)
        #expect(credentials != ICECredentials.random())
    }
}
