import PlenumMeetings
import Foundation
import Testing

@testable import PlenumServer

/// Issue 12: refusals carry codes, and the protocol's documentation and the web client's texts cannot
/// drift from them: every code is in docs/signalling.md's table and has an English and a German text
/// in web/i18n.js, and nothing else is listed.
@Suite struct SignalErrorTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let codes = Set(SignalError.Code.allCases.map(\.rawValue))

    /// The first-column code of each row of the table headed `| code | when |`.
    @Test func theDocumentedCodesAreExactlyTheServersCodes() throws {
        let text = try String(contentsOf: Self.root.appending(path: "docs/signalling.md"), encoding: .utf8)
        let table = try #require(text.range(of: "| code | when |"))
        var documented: Set<String> = []
        for line in text[table.upperBound...].split(separator: "\n").dropFirst() {
            guard line.hasPrefix("| `") else { break }
            documented.insert(String(line.dropFirst(3).prefix { $0 != "`" }))
        }
        #expect(documented == Self.codes, "only in the docs: \(documented.subtracting(Self.codes)); undocumented: \(Self.codes.subtracting(documented))")
    }

    /// The keys of `errors.en` and `errors.de` in web/i18n.js.
    @Test func theWebClientTranslatesEveryCodeIntoBothLanguages() throws {
        let text = try String(contentsOf: Self.root.appending(path: "web/i18n.js"), encoding: .utf8)
        let table = try #require(text.range(of: "export const errors = {"))
        var keys: [String: Set<String>] = [:]
        var language: String?
        for line in text[table.upperBound...].split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "};" { break }
            if trimmed.hasSuffix(": {") { language = String(trimmed.dropLast(3)) }
            if let language, trimmed.hasPrefix("\"") || trimmed.first?.isLetter == true, trimmed.contains("\": ") || trimmed.contains(": \"") {
                let key = trimmed.hasPrefix("\"") ? String(trimmed.dropFirst().prefix { $0 != "\"" }) : String(trimmed.prefix { $0 != ":" })
                keys[language, default: []].insert(key)
            }
        }
        #expect(keys["en"] == Self.codes, "English: missing \(Self.codes.subtracting(keys["en"] ?? [])), extra \((keys["en"] ?? []).subtracting(Self.codes))")
        #expect(keys["de"] == Self.codes, "German: missing \(Self.codes.subtracting(keys["de"] ?? [])), extra \((keys["de"] ?? []).subtracting(Self.codes))")
    }

    @Test func anErrorMessageCarriesCodeTextAndTheRefusedRequest() throws {
        let text = Signal.error(.waitingForModerator, request: "chat")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["type"] as? String == "error")
        #expect(object["code"] as? String == "waiting-for-moderator")
        #expect(object["request"] as? String == "chat")
        #expect(object["message"] as? String == "waiting for a moderator")
        let unasked = try #require(try JSONSerialization.jsonObject(with: Data(Signal.error(.connectionLost).utf8)) as? [String: Any])
        #expect(unasked["request"] == nil)
    }
}
