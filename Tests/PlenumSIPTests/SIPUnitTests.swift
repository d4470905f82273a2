import Foundation
import PlenumAudio
import PlenumSDP
import Testing

@testable import PlenumSIP

@Suite struct SDPTests {
    static let baresipOffer = """
        v=0\r
        o=- 123 456 IN IP4 10.77.0.2\r
        s=-\r
        c=IN IP4 10.77.0.2\r
        t=0 0\r
        m=audio 30000 RTP/AVP 96 9 0 8 101\r
        a=rtpmap:96 opus/48000/2\r
        a=fmtp:96 stereo=1;sprop-stereo=1\r
        a=rtpmap:9 G722/8000\r
        a=rtpmap:0 PCMU/8000\r
        a=rtpmap:8 PCMA/8000\r
        a=rtpmap:101 telephone-event/8000\r
        a=fmtp:101 0-15\r
        a=ptime:20\r
        a=sendrecv\r

        """

    @Test func parsesAnOfferAndPrefersOpus() throws {
        let offer = try AudioOffer(parsing: Self.baresipOffer)
        #expect(offer.address == "10.77.0.2" && offer.port == 30000 && offer.transport == "RTP/AVP")
        #expect(offer.direction == .sendrecv && offer.packetTime == 20)
        #expect(offer.formats.map(\.payloadType) == [96, 9, 0, 8, 101])
        let choice = try #require(Negotiation.choose(from: offer))
        #expect(choice.codec == .opus && choice.payloadType == 96 && choice.telephoneEvent == 101 && choice.channels == 2)
        let answer = choice.answer(address: "10.77.0.1", port: 21000, sessionID: 7, version: 1, direction: offer.direction)
        #expect(answer.contains("m=audio 21000 RTP/AVP 96 101\r\n"))
        #expect(answer.contains("a=rtpmap:96 opus/48000/2\r\n") && answer.contains("a=sendrecv"))
        // Our answer is itself valid SDP that sofia parses back.
        let back = try AudioOffer(parsing: answer)
        #expect(back.port == 21000 && back.formats.count == 2)
    }

    @Test func staticPayloadTypesWithoutRtpmapAndHold() throws {
        let sdp = "v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 0\r\n"
        let offer = try AudioOffer(parsing: sdp)
        #expect(offer.direction == .inactive, "c=0.0.0.0 is hold (RFC 3264 §8.4)")
        let choice = try #require(Negotiation.choose(from: offer))
        #expect(choice.codec == .pcmu && choice.payloadType == 0)
        let sendonly = try AudioOffer(parsing: Self.baresipOffer.replacingOccurrences(of: "a=sendrecv", with: "a=sendonly"))
        #expect(sendonly.direction == .sendonly)
        let answer = Negotiation.choose(from: sendonly)!.answer(address: "a", port: 1, sessionID: 1, version: 2, direction: .sendonly)
        #expect(answer.contains("a=recvonly"))
    }

    @Test(arguments: ["", "garbage", "v=0\r\ns=-\r\n", "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n"])
    func malformedOrUselessOffersAreErrors(sdp: String) {
        #expect(throws: AudioOffer.ParseError.self) { try AudioOffer(parsing: sdp) }
    }

    @Test func noCommonCodecIsNil() throws {
        let sdp = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
        #expect(Negotiation.choose(from: try AudioOffer(parsing: sdp)) == nil)
    }
}

@Suite struct DialplanTests {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("dialplans")

    @Test func shippedDialplanRoutesRoomsAndTheDialInNumber() throws {
        let dialplan = try Dialplan.load(folder: Self.shipped)
        let direct = try #require(dialplan.match(context: "public", destination: "3002", caller: "0301234567", source: "10.0.0.1"))
        #expect(direct.rule.actions.first?.action == .join)
        #expect(Dialplan.expand(direct.rule.actions[0].room ?? "", direct.variables) == "3002")
        #expect(direct.variables["callerLast4"] == "4567")
        let dialIn = try #require(dialplan.match(context: "public", destination: "1000", caller: "x", source: "y"))
        #expect(dialIn.rule.actions.map(\.action) == [.answer, .play, .collect, .join])
        let voiceBridge = try #require(dialplan.match(context: "public", destination: "71234", caller: "", source: ""))
        #expect(Dialplan.expand(voiceBridge.rule.actions[0].room ?? "", voiceBridge.variables) == "71234", "a meeting's voice bridge")
        #expect(dialplan.match(context: "public", destination: "300111", caller: "", source: "") == nil, "whole-number match")
        #expect(dialplan.match(context: "nope", destination: "3001", caller: "", source: "") == nil)
    }

    @Test func callerAndSourceConditions() throws {
        var rule = Dialplan.Rule(name: "r", destination: "(\\d+)", caller: "49.*", source: "10\\.0\\.0\\.\\d+", actions: [])
        rule.actions = [Dialplan.Action(.hangup)]
        let plan = try Dialplan(contexts: [Dialplan.Context(context: "c", rules: [rule])])
        #expect(plan.match(context: "c", destination: "12", caller: "4930", source: "10.0.0.7") != nil)
        #expect(plan.match(context: "c", destination: "12", caller: "3330", source: "10.0.0.7") == nil)
        #expect(plan.match(context: "c", destination: "12", caller: "4930", source: "10.0.1.7") == nil)
        #expect(throws: (any Error).self) {
            try Dialplan(contexts: [Dialplan.Context(context: "c", rules: [Dialplan.Rule(name: "bad", destination: "(", actions: [])])])
        }
    }

    @Test func infoBodiesCarryDigits() {
        #expect(SIPCallManager.digits(fromInfo: "Signal=5\r\nDuration=160\r\n", contentType: "application/dtmf-relay") == ["5"])
        #expect(SIPCallManager.digits(fromInfo: "Signal= #\r\n", contentType: "Application/DTMF-Relay") == ["#"])
        #expect(SIPCallManager.digits(fromInfo: "7", contentType: "application/dtmf") == ["7"])
        #expect(SIPCallManager.digits(fromInfo: "Signal=55", contentType: "application/dtmf-relay") == [])
        #expect(SIPCallManager.digits(fromInfo: "x", contentType: "text/plain") == [])
    }
}

@Suite struct SourceGuardTests {
    @Test func floodsAreBannedAndBansExpire() {
        var guardian = SourceGuard()
        for i in 0..<20 {
            let verdict = guardian.admit("1.2.3.4", now: UInt64(i))
            #expect(verdict == .allow)
        }
        var verdict = guardian.admit("1.2.3.4", now: 21)
        #expect(verdict == .rateLimited)
        verdict = guardian.admit("1.2.3.4", now: 600)
        #expect(verdict == .banned)
        verdict = guardian.admit("5.6.7.8", now: 600)
        #expect(verdict == .allow, "others are not affected")
        verdict = guardian.admit("1.2.3.4", now: 21 + guardian.limits.banTicks)
        #expect(verdict == .allow)
    }

    @Test func wrongPINsSlowGuessingForThatRoomAndSourceOnly() {
        var guardian = PINGuard()
        for i in 0..<5 {
            #expect(guardian.wrong(room: "3002", source: "9.9.9.9", now: UInt64(i)) == nil, "five free tries")
        }
        #expect(guardian.wrong(room: "3002", source: "9.9.9.9", now: 10) == 2 * 50)
        #expect(guardian.retryAfter(room: "3002", source: "9.9.9.9", now: 11) == 99)
        #expect(guardian.retryAfter(room: "3001", source: "9.9.9.9", now: 11) == nil, "other rooms are open")
        #expect(guardian.retryAfter(room: "3002", source: "8.8.8.8", now: 11) == nil, "other addresses too")
        #expect(guardian.retryAfter(room: "3002", source: "9.9.9.9", now: 110) == nil)
        #expect(guardian.wrong(room: "3002", source: "9.9.9.9", now: 110) == 4 * 50, "the delay doubles")
        for i in 0..<20 { guardian.wrong(room: "3002", source: "9.9.9.9", now: 200 + UInt64(i)) }
        #expect(guardian.wrong(room: "3002", source: "9.9.9.9", now: 300) == guardian.limits.maxDelayTicks, "up to 5 minutes")
        guardian.succeeded(room: "3002", source: "9.9.9.9")
        #expect(guardian.retryAfter(room: "3002", source: "9.9.9.9", now: 301) == nil, "the right PIN clears it")
    }

    @Test func pinGuardMemoryIsBounded() {
        var limits = PINGuard.Limits()
        limits.maxRecords = 100
        var guardian = PINGuard(limits: limits)
        for i in 0..<10_000 { guardian.wrong(room: "3002", source: "10.0.\(i / 256).\(i % 256)", now: UInt64(i)) }
        #expect(guardian.count <= 100)
    }

    @Test func scannersAreRecognised() {
        #expect(SourceGuard.isScanner(userAgent: "friendly-scanner"))
        #expect(SourceGuard.isScanner(userAgent: "sipvicious 0.3"))
        #expect(!SourceGuard.isScanner(userAgent: "baresip v1.0.0 (x86_64/linux)"))
    }
}

@Suite struct SDESTests {
    @Test func parsesChoosesAndAnswers() throws {
        let key80 = Data((0..<30).map { UInt8($0) }).base64EncodedString()
        let key32 = Data((0..<30).map { UInt8(100 + $0) }).base64EncodedString()
        let offers = ["1 AES_CM_128_HMAC_SHA1_32 inline:\(key32)|2^31", "2 AES_CM_128_HMAC_SHA1_80 inline:\(key80)", "3 F8_128_HMAC_SHA1_80 inline:\(key80)"]
        let chosen = try #require(SDESCrypto.choose(from: offers))
        #expect(chosen.tag == 2 && chosen.profile == .aes128CMHMACSHA1_80 && chosen.keyingMaterial == (0..<30).map { UInt8($0) })
        let answer = chosen.answer()
        #expect(answer.tag == 2 && answer.profile == chosen.profile && answer.keyingMaterial != chosen.keyingMaterial)
        #expect(SDESCrypto(attribute: answer.attribute) == answer)
        #expect(SDESCrypto(attribute: "1 AES_CM_128_HMAC_SHA1_80 inline:tooShort") == nil)
        #expect(SDESCrypto(attribute: "1 AES_CM_128_HMAC_SHA1_80 inline:\(key80)|2^31|1:4") == nil, "MKI is not supported")
        #expect(SDESCrypto(attribute: "x AES_CM_128_HMAC_SHA1_80 inline:\(key80)") == nil)
        #expect(SDESCrypto.choose(from: ["garbage"]) == nil)
    }
}
