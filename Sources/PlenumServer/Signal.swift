import Foundation
import PlenumBridge

/// The signalling protocol's messages (docs/signalling.md): JSON text frames over a WebSocket.
public enum Signal {
    /// What a browser sends.
    public struct ClientMessage: Decodable, Sendable {
        public var type: String
        public var token: String?
        /// A room named in a message must be the session's own (refused otherwise).
        public var room: String?
        public var name: String?
        public var sdp: String?
        public var muted: Bool?
        /// `resume`: the session handle from the answer.
        public var session: String?
    }

    public struct Participant: Codable, Sendable, Equatable {
        public var id: Int
        public var name: String
        public var muted: Bool
        public var talking: Bool
        /// "phone", "browser" or "other".
        public var kind: String
        /// A phone caller's masked number ("••• 1234").
        public var number: String?

        init(_ member: Member) {
            id = member.id
            name = member.name
            muted = member.flags.muted
            talking = member.isTalking
            (kind, number) = Self.kind(of: member)
        }

        static func kind(of member: Member) -> (String, String?) {
            switch member.kind {
            case .phone(let masked): ("phone", masked)
            case .browser: ("browser", nil)
            case .other: ("other", nil)
            }
        }

        var json: [String: Any] {
            var object: [String: Any] = ["id": id, "name": name, "muted": muted, "talking": talking, "kind": kind]
            if let number { object["number"] = number }
            return object
        }
    }

    static func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func error(_ message: String) -> String { encode(["type": "error", "message": message]) }

    public static func answer(sdp: String, memberID: Int, session: String, restart: Bool, participants: [Participant]) -> String {
        encode([
            "type": "answer", "sdp": sdp, "memberId": memberID, "session": session, "restart": restart,
            "participants": participants.map(\.json),
        ])
    }

    public static func token(_ token: String, room: String, roomName: String) -> String {
        encode(["token": token, "room": room, "roomName": roomName])
    }

    static func event(_ event: ConferenceEvent, in conference: Conference) -> String? {
        switch event {
        case .memberJoined(let id):
            guard let member = conference.member(id) else { return nil }
            var object = Participant(member).json
            object["type"] = "participant-joined"
            return encode(object)
        case .memberLeft(let id): return encode(["type": "participant-left", "id": id])
        case .talkingStarted(let id): return encode(["type": "talking", "id": id, "talking": true])
        case .talkingStopped(let id): return encode(["type": "talking", "id": id, "talking": false])
        case .muted(let id, let muted): return encode(["type": "muted", "id": id, "muted": muted])
        case .handRaised(let id, let raised): return encode(["type": "hand", "id": id, "raised": raised])
        case .renamed(let id, let name): return encode(["type": "renamed", "id": id, "name": name])
        default: return nil
        }
    }
}
