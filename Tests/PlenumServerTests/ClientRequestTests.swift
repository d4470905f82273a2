import PlenumMeetings
import Foundation
import Testing

@testable import PlenumServer

/// Issue 12: one type per client message behind one dispatch table, and the documented message list
/// is exactly that table.
@Suite struct ClientRequestTests {
    static func decode(_ json: String) -> Result<ClientRequest.Decoded, ClientRequest.Refusal> {
        ClientRequest.decode(Data(json.utf8))
    }

    @Test func theDocumentedClientMessagesAreExactlyTheDispatchTable() throws {
        let text = try String(contentsOf: SignalErrorTests.root.appending(path: "docs/signalling.md"), encoding: .utf8)
        let section = try #require(text.range(of: "## Client → server"))
        var documented: Set<String> = []
        for line in text[section.upperBound...].split(separator: "\n").dropFirst(2) {
            guard line.hasPrefix("| `") else { break }
            let first = line.dropFirst(2).prefix { $0 != "|" }
            for name in first.split(separator: ",") { documented.insert(name.trimmingCharacters(in: CharacterSet(charactersIn: " `"))) }
        }
        #expect(documented == ClientRequest.types, "only documented: \(documented.subtracting(ClientRequest.types)); undocumented: \(ClientRequest.types.subtracting(documented))")
    }

    @Test func aMessageDecodesIntoWhatItsTypeNeedsOrIsRefusedWithWhy() throws {
        guard case .success(let mute) = Self.decode(#"{"type": "mute", "muted": true, "id": 7, "room": "3001"}"#),
            case .action(.mute(let target, let muted)) = mute.request
        else { Issue.record("mute"); return }
        #expect(target == 7 && muted && mute.room == "3001")
        guard case .failure(let missing) = Self.decode(#"{"type": "mute"}"#) else { Issue.record("no muted"); return }
        #expect(missing.error.code == .missingFields && missing.type == "mute" && missing.error.message.contains("muted"))
        guard case .failure(let wrong) = Self.decode(#"{"type": "mute", "muted": "yes"}"#) else { Issue.record("a string"); return }
        #expect(wrong.error.code == .malformedMessage && wrong.type == "mute")
        guard case .failure(let unknown) = Self.decode(#"{"type": "fly"}"#) else { Issue.record("fly"); return }
        #expect(unknown.error.code == .unknownType && unknown.type == "fly")
        guard case .failure(let garbage) = Self.decode("not json") else { Issue.record("garbage"); return }
        #expect(garbage.error.code == .malformedMessage && garbage.type == nil)
        guard case .failure(let null) = Self.decode(#"{"type": "chat", "text": null}"#) else { Issue.record("null"); return }
        #expect(null.error.code == .missingFields)
        guard case .success(let join) = Self.decode(#"{"type": "join", "version": 1, "token": "t", "sdp": "v=0"}"#),
            case .join(let fields) = join.request
        else { Issue.record("join"); return }
        #expect(fields.version == 1 && fields.token == "t" && fields.name == nil)
    }
}
