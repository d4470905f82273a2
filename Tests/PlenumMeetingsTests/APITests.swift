import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import PlenumMeetings
import Testing

@Suite struct ChecksumTests {
    /// The worked example of BigBlueButton's API documentation (secret, query and SHA-1 sum as published).
    @Test func theDocumentedExampleVerifies() {
        let request = APIRequest(
            call: "create",
            rawQuery: "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444&checksum=1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17")
        let secret = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"
        #expect(request.signedQuery == "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444")
        #expect(request.verify(secret: secret, allowed: Set(ChecksumAlgorithm.allCases)) == .valid)
        #expect(request.verify(secret: secret, allowed: [.sha256]) == .mismatch, "SHA-1 can be switched off")
        #expect(request.verify(secret: "other", allowed: Set(ChecksumAlgorithm.allCases)) == .mismatch)
        #expect(request.value("name") == "Test Meeting")
    }

    @Test func everyAlgorithmIsChosenByTheChecksumLength() {
        let query = "meetingID=a%20b&name=%C3%84rzte"
        for algorithm in ChecksumAlgorithm.allCases {
            let sum = algorithm.hexDigest("getMeetingInfo" + query + "s3cret")
            #expect(sum.count == [40, 64, 96, 128][ChecksumAlgorithm.allCases.firstIndex(of: algorithm) ?? 0])
            let upper = APIRequest(call: "getMeetingInfo", rawQuery: "checksum=\(sum.uppercased())&" + query)
            #expect(upper.verify(secret: "s3cret", allowed: Set(ChecksumAlgorithm.allCases)) == .valid, "\(algorithm), any position and case")
            #expect(upper.value("name") == "Ärzte" && upper.value("meetingID") == "a b")
        }
        #expect(APIRequest(call: "x", rawQuery: "a=b").verify(secret: "s", allowed: [.sha1]) == .missing)
        #expect(APIRequest(call: "x", rawQuery: "a=b&checksum=abc").verify(secret: "s", allowed: [.sha1]) == .mismatch)
    }

    @Test func theFirstOfRepeatedParametersCountsAndNamesAreCaseSensitive() {
        #expect(APIRequest(call: "x", rawQuery: "meetingID=a&meetingID=b").value("meetingID") == "a")
        #expect(APIRequest(call: "x", rawQuery: "meetingid=a").value("meetingID") == nil)
        #expect(APIRequest(call: "x", rawQuery: "meta_Course=Bio&meta_room-2=1&meta_bad_name=x&meta_1x=y").metadata.map(\.0) == ["course", "room-2"])
        #expect(APIRequest(call: "x", rawQuery: "%zz=%4&+=%").parameters.map(\.name) == ["%zz", " "], "bad escapes stay")
    }
}

@Suite struct MeetingTests {
    func settings(_ query: String) -> MeetingSettings? {
        try? BigBlueButtonAPI.createSettings(APIRequest(call: "create", rawQuery: query), freeVoiceBridge: { "71000" }).get()
    }

    @Test func aJoinsLocaleOverrideChoosesThePagesLanguage() {
        func language(_ query: String) -> String? { BigBlueButtonAPI.clientLanguage(APIRequest(call: "join", rawQuery: query)) }
        #expect(language("userdata-bbb_override_default_locale=de") == "de")
        #expect(language("userdata-bbb_override_default_locale=de_DE") == "de")
        #expect(language("userdata-bbb_override_default_locale=EN-gb") == "en")
        #expect(language("userdata-bbb_override_default_locale=fr") == nil, "a language the client does not have")
        #expect(language("userdata-bbb_override_default_locale=%26lang%3Dx") == nil, "nothing else reaches the link")
        #expect(language("fullName=x") == nil)
    }

    @Test func createTakesDefaultsAndValidates() throws {
        let s = try #require(settings("name=Physics&meetingID=m1"))
        #expect(s.name == "Physics" && s.voiceBridge == "71000" && s.guestPolicy == .alwaysAccept && s.attendeePassword.count == 8)
        #expect(s.attendeePassword != s.moderatorPassword)
        #expect(settings("name=P&meetingID=m1") == nil, "names are 2 to 256 characters")
        #expect(settings("name=Physics&meetingID=m1&guestPolicy=ASK_MODERATOR")?.guestPolicy == .askModerator)
        #expect(settings("name=Physics&meetingID=m1&guestPolicy=sometimes")?.guestPolicy == .alwaysDeny, "as BigBlueButton")
        #expect(settings("name=Physics&meetingID=m1&voiceBridge=12ab") == nil)
        #expect(settings("name=x") == nil && settings("name=Physics&meetingID=+++") == nil && settings("meetingID=m1") == nil)
        #expect(settings("name=Physics&meetingID=m1&attendeePW=x") == nil, "passwords are 2 to 64 characters")
        let german = try #require(settings("name=Physik&meetingID=m1&language=DE&voiceBridge=71234"))
        #expect(german.language == "de" && settings("name=Physik&meetingID=m1&language=fr") == nil)
        let room = MeetingSettings.breakout(of: german, sequence: 3, name: "Gruppe 3")
        #expect(room.language == "de" && room.voiceBridge == "7123403" && room.parentMeetingID == "m1" && room.sequence == 3)
        #expect(MeetingSettings.breakout(of: german, sequence: 12, name: "x").voiceBridge == "7123412")
        #expect(settings("name=Physics&meetingID=m1&lockSettingsDisableMic=true&muteOnStart=true").map { $0.lock.disableMicrophone && $0.muteOnStart } == true)
    }

    @Test func createIsIdempotentAndVoiceBridgesAreUnique() throws {
        let registry = MeetingRegistry(reservedNumbers: ["3001"])
        let roles = RoleBook()
        let a = try #require(settings("name=A1&meetingID=aa&voiceBridge=71000"))
        #expect(registry.create(a, roles: roles, now: 1) == .success(.created))
        let instance = registry.machine("aa")?.instance
        #expect(registry.create(a, roles: roles, now: 2) == .success(.existing), "idempotent")
        #expect(registry.machine("aa")?.instance == instance, "the same meeting")
        let b = try #require(settings("name=B1&meetingID=bb&voiceBridge=71000"))
        #expect(throws: APIError.self) { try registry.create(b, roles: roles, now: 3).get() }
        let c = try #require(settings("name=C1&meetingID=cc&voiceBridge=3001"))
        #expect(throws: APIError.self) { try registry.create(c, roles: roles, now: 4).get() }
        for _ in 0..<200 { #expect(registry.freeVoiceBridge().map { $0 != "71000" && $0.count == 5 } == true) }
    }

    @Test func rolesFromPasswordsOrNamesAndCustomRoles() throws {
        let s = try #require(settings("name=Class&meetingID=mm&attendeePW=ap&moderatorPW=mp"))
        let roles = RoleBook(custom: ["assistant": [.unmuteSelf, .chat, .muteOthers], "Moderator": []])
        func role(_ query: String) -> Role? { try? BigBlueButtonAPI.joinRole(APIRequest(call: "join", rawQuery: query), meeting: s, roles: roles).get() }
        #expect(role("password=mp") == .moderator && role("password=ap") == .viewer && role("password=x") == nil && role("") == nil)
        #expect(role("role=MODERATOR&password=ap") == .moderator, "role wins over password")
        #expect(role("role=assistant")?.may(.muteOthers) == true && role("role=assistant")?.may(.remove) == false)
        #expect(roles.role(named: "moderator") == .moderator, "a custom role cannot redefine a built-in one")
        #expect(role("role=janitor") == nil)
        #expect(!Role.moderator.may(.unmuteOthers), "nobody opens another's microphone by default")
        #expect(RoleBook(moderatorsMayUnmute: true).role(named: "MODERATOR")?.may(.unmuteOthers) == true)
    }

    @Test func xmlIsEscapedAndWellFormed() throws {
        let s = try #require(settings("meetingID=%3Cx%3E&name=A+%26+B&meta_bad%3Cname=1&meta_ok=%22q%22"))
        let snapshot = MeetingSnapshot(settings: s, internalID: "i", createTime: 0, startTime: 0, endTime: 0, running: false,
                                       hasUserJoined: false, forciblyEnded: false, attendees: [])
        let xml = BigBlueButtonAPI.meetingInfoResponse(snapshot)
        #expect(xml.contains("<meetingID>&lt;x&gt;</meetingID>") && xml.contains("<meetingName>A &amp; B</meetingName>"))
        #expect(!xml.contains("badname") && xml.contains("<ok>&quot;q&quot;</ok>"), "only well-formed metadata names count")
        let parser = XMLParser(data: Data(xml.utf8))
        #expect(parser.parse(), "well-formed")
    }
}

@Suite struct ChatTests {
    @Test func messagesAreCleanedBoundedAndPrivateOnesStayPrivate() throws {
        var log = ChatLog()
        let now: Millis = 1_700_000_000_000
        #expect(throws: ChatLog.Refusal.empty) { try log.post(from: 1, fromName: "a", to: nil, text: " \u{7}\t ", now: now).get() }
        #expect(throws: ChatLog.Refusal.tooLong) {
            try log.post(from: 1, fromName: "a", to: nil, text: String(repeating: "x", count: 2001), now: now).get()
        }
        let hello = try log.post(from: 1, fromName: "a", to: nil, text: "  hi\u{0}\nthere  ", now: now).get()
        #expect(hello.text == "hi\nthere", "control characters go, line breaks stay")
        _ = try log.post(from: 1, fromName: "a", to: 2, text: "psst", now: now).get()
        #expect(log.visible(to: 2).count == 2 && log.visible(to: 3).count == 1 && log.visible(to: 1).count == 2)
        #expect(log.delete(hello.id) == hello && log.delete(hello.id) == nil)
        for i in 0..<1100 { _ = log.post(from: 1, fromName: "a", to: nil, text: "\(i)", now: now) }
        #expect(log.messages.count == ChatLog.capacity && log.messages.last?.text == "1099")
    }
}
