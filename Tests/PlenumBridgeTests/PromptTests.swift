import Foundation
import PlenumAudio
import Testing

@testable import PlenumBridge

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let soundLibrary = SoundLibrary(root: repositoryRoot.appendingPathComponent("sounds"))

@Suite struct PromptTests {
    @Test func shippedPromptsExistInEveryLanguageAndRate() throws {
        let names = try String(contentsOf: repositoryRoot.appendingPathComponent("scripts/sounds/prompts.tsv"), encoding: .utf8)
            .split(separator: "\n").compactMap { $0.split(separator: "\t").first.map(String.init) }
        for required in ["conf-pin", "conf-bad-pin", "conf-muted", "conf-unmuted", "conf-alone", "conf-kicked", "conf-locked"] {
            #expect(names.contains(required))
        }
        for language in ["en", "de"] {
            for rate in [8000, 16_000, 48_000] {
                for name in names {
                    let url = repositoryRoot.appendingPathComponent("sounds/\(language)/plenum/conference/\(rate)/\(name).wav")
                    let wav = try WAVFile(contentsOf: url)
                    #expect(wav.sampleRate == rate && wav.samples.count > rate / 2, "\(url.path)")
                }
            }
        }
        for tone in ["enter", "exit", "beep", "pin-ok"] { #expect(soundLibrary.tone(tone) != nil) }
        let german = try #require(soundLibrary.prompt("conf-alone", language: "de"))
        let english = try #require(soundLibrary.prompt("conf-alone", language: "en"))
        #expect(german.samples != english.samples)
        #expect(soundLibrary.prompt("conf-alone", language: "xx")?.samples == english.samples, "falls back to English")
    }

    @Test func aloneAnnouncementGoesToTheFirstMemberOnlyAndEnterToneToTheRoom() throws {
        let conference = Conference(name: "p", profile: ConferenceProfile(), sounds: soundLibrary)
        let seen = EventLog(conference)
        let first = TestPhone(.opus, tone: nil)
        first.member = try conference.join(name: "first", input: .opus, sink: first)
        run(conference, [first], ticks: 50)
        let alone = try #require(soundLibrary.prompt("conf-alone", language: "en"))
        #expect(first.member.prompts.first?.sound === alone, "still playing conf-alone")
        let second = TestPhone(.pcmu, tone: nil)
        second.member = try conference.join(name: "second", input: .pcmu, sink: second)
        run(conference, [first, second], ticks: Int(alone.samples.count / 960) + 20)
        #expect(first.member.prompts.isEmpty)
        // The second member heard the enter tone (660 Hz part) but not the alone prompt.
        let secondLevel = second.heard.prefix(48_000).withContiguousStorageIfAvailable { AudioLevel.of($0) } ?? 127
        #expect(secondLevel < 40, "enter tone audible")
        #expect(second.heard.count < alone.samples.count + 48_000)
        conference.leave(second.member.id)
        #expect(seen.events.contains(.promptFinished(member: first.member.id, name: "conf-alone")))
        #expect(seen.events.contains(.promptFinished(member: nil, name: "enter")))
    }

    @Test func dtmfAnnouncementsPlayToTheCallerAlone() throws {
        var profile = ConferenceProfile()
        profile.announceAlone = false
        profile.enterExitTones = false
        profile.language = "de"
        let conference = Conference(name: "p", profile: profile, sounds: soundLibrary)
        let caller = TestPhone(.pcmu, tone: nil), other = TestPhone(.pcmu, tone: nil)
        for p in [caller, other] { p.member = try conference.join(name: "x", input: .pcmu, sink: p) }
        conference.dtmf("0", from: caller.member.id)
        run(conference, [caller, other], ticks: 100)
        let heardByCaller = caller.heard.withUnsafeBufferPointer { AudioLevel.of($0) }
        let heardByOther = other.heard.withUnsafeBufferPointer { AudioLevel.of($0) }
        #expect(heardByCaller < 40, "the caller hears 'Sie sind stummgeschaltet'")
        #expect(heardByOther > 80, "the others hear nothing of it")
        #expect(caller.member.flags.muted)
    }

    @Test func profilesDecodeFromTheShippedConfiguration() throws {
        struct File: Decodable { var conferenceProfiles: [String: ConferenceProfile] }
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("config/plenum.json"))
        let file = try JSONDecoder().decode(File.self, from: data)
        let lecture = try #require(file.conferenceProfiles["lecture"])
        #expect(lecture.maxTalkers == 2 && lecture.language == "de" && lecture.talkHangoverFrames == 25)
        #expect(lecture.callerControls.action(for: "8") == .toggleHand && lecture.callerControls.action(for: "3") == nil)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ConferenceProfile.self, from: Data(#"{"maxTalkers": 1000}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ConferenceProfile.self, from: Data(#"{"callerControls": {"digits": {"1": "selfDestruct"}}}"#.utf8))
        }
    }
}
