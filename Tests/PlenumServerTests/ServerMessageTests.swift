import Foundation
@testable import PlenumMeetings
import Testing

@testable import PlenumServer

/// Issue 12: what the server sends is typed, and docs/signalling.md's table cannot drift from the
/// types: one value of every message is encoded, and its fields are exactly the documented ones.
@Suite struct ServerMessageTests {
    static let message = ChatLog.Message(id: 1, from: 2, fromName: "Anna", to: 3, text: "hi", time: 5)

    /// One of each meeting message (the switch breaks the build when a message is added unlisted).
    static let samples: [ControlMessage] = [
        .chat(message), .chatDeleted(id: 1), .lock(LockSettings()), .role(memberID: 1, role: "viewer"), .you(.viewer),
        .removed, .meetingEnded, .waiting, .denied, .guests([Guest(id: 1, name: "G", kind: .phone)]),
        .help(name: "A", room: "Red", sequence: 1),
        .breakouts(BreakoutsView(active: true, rooms: [.init(sequence: 1, name: "Red", voiceBridge: "7100001", members: [1])],
                                 freeJoin: false, endsAt: 9)),
        .breakout(BreakoutInfo(name: "Red", sequence: 1, endsAt: 9)), .presenter(memberID: nil),
    ]

    static func listed(_ message: ControlMessage) -> Bool {
        switch message {
        case .chat, .chatDeleted, .lock, .role, .you, .removed, .meetingEnded, .waiting, .denied, .guests, .help, .breakouts,
            .breakout, .presenter:
            true
        }
    }

    /// The documented top-level fields of each server message (backticked names outside parentheses).
    static func documented() throws -> [String: Set<String>] {
        let text = try String(contentsOf: SignalErrorTests.root.appending(path: "docs/signalling.md"), encoding: .utf8)
        let section = try #require(text.range(of: "## Server → client"))
        var table: [String: Set<String>] = [:]
        // The first table after the heading, to its end.
        let lines = text[section.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
            .drop { !$0.hasPrefix("|") }.prefix { $0.hasPrefix("|") }
        for line in lines where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2 else { continue }
            var depth = 0, names: Set<String> = [], current: String?
            for character in cells[1] {
                switch character {
                case "(": depth += 1
                case ")": depth -= 1
                case "`" where depth == 0:
                    if let name = current { names.insert(name); current = nil } else { current = "" }
                default: if current != nil, depth == 0 { current?.append(character) }
                }
            }
            table[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = names
        }
        return table
    }

    static func keys(_ json: String) -> Set<String> {
        let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
        return Set(object?.keys ?? [:].keys).subtracting(["type"])
    }

    @Test func everyMessageHasExactlyItsDocumentedFields() throws {
        let table = try Self.documented()
        for sample in Self.samples where Self.listed(sample) {
            let json = Signal.encode(sample)
            #expect(json.contains("\"type\":\"\(sample.type)\""), "\(json)")
            #expect(table[sample.type] == Self.keys(json), "\(sample.type): documented \(table[sample.type] ?? []), sent \(Self.keys(json))")
        }
        let answer = Signal.answer(sdp: "v=0", memberID: 1, session: "1.x", restart: false, role: .viewer, roomName: "R", welcome: "",
                                   participants: [], chat: [Self.message], lock: nil, logoutURL: "https://example.org/after")
        #expect(table["answer"] == Self.keys(answer) && answer.contains(#""presenter":null"#))
        for unsafe in ["javascript:alert(1)", "/relative", "data:text/html,x", "https://"] {
            #expect(!Signal.answer(sdp: "", memberID: 1, session: "", restart: false, role: .viewer, roomName: "", welcome: "",
                                   participants: [], chat: [], lock: nil, logoutURL: unsafe).contains("logoutURL"), "\(unsafe) is no link")
        }
        // The conference's news, as the outbox writes them.
        let news: [(BrowserOutbox.News, String)] = [
            (.event(.memberLeft(1)), "participant-left"), (.event(.talkingStarted(1)), "talking"), (.event(.muted(1, true)), "muted"),
            (.event(.handRaised(1, true)), "hand"), (.event(.renamed(1, "B")), "renamed"),
            (.connection(1, reconnecting: true), "connection"),
        ]
        for (item, type) in news {
            let json = try #require(Signal.news(item))
            #expect(json.contains("\"type\":\"\(type)\""), "\(json)")
            #expect(table[type] == Self.keys(json), "\(type): documented \(table[type] ?? []), sent \(Self.keys(json))")
        }
        #expect(Signal.encode(ControlMessage.presenter(memberID: nil)) == #"{"id":null,"type":"presenter"}"#)
        let moved = Signal.moved(room: "71000", roomName: "R", participants: [], chat: [], breakout: nil)
        #expect(table["moved"] == Self.keys(moved) && moved.contains("\"breakout\":null"), "null back in the main room")
    }

    @Test func refusalsKeepTheirShape() {
        #expect(Signal.error(.wrongPIN) == #"{"code":"wrong-pin","message":"wrong PIN","type":"error"}"#)
        #expect(Signal.error(.unknownType, request: "fly", supported: 1...1)
                == #"{"code":"unknown-type","message":"unknown message type","request":"fly","supported":{"max":1,"min":1},"type":"error"}"#)
        #expect(Signal.token("t", room: "3001", roomName: "Lobby") == #"{"room":"3001","roomName":"Lobby","token":"t"}"#)
    }

    @Test func messagesKeepTheirShapes() {
        #expect(Signal.encode(ControlMessage.chat(Self.message))
                == #"{"from":2,"fromName":"Anna","id":1,"text":"hi","time":5,"to":3,"type":"chat"}"#)
        #expect(Signal.encode(ControlMessage.you(.viewer)).contains(#""permissions":["chat","chatPrivately","shareCamera","unmuteSelf"]"#))
        #expect(Signal.encode(ControlMessage.guests([Guest(id: 1, name: "G", kind: .phone)]))
                == #"{"guests":[{"id":1,"kind":"phone","name":"G"}],"type":"guests"}"#)
        #expect(!Signal.encode(ControlMessage.breakouts(BreakoutsView(active: false, rooms: [], freeJoin: false, endsAt: nil))).contains("endsAt"))
        #expect(Signal.answer(sdp: "", memberID: 1, session: "", restart: false, role: .viewer, roomName: "", welcome: "", participants: [],
                              chat: [], lock: nil).contains(#""lock":{}"#), "no locks outside meetings")
    }
}
