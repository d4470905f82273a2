import Foundation
import PlenumBridge
import PlenumMeetings

/// The signalling protocol's messages (docs/signalling.md): JSON text frames over a WebSocket.
public enum Signal {
    // What a browser sends: `ClientRequest`, one type per message.

    public struct Participant: Codable, Sendable, Equatable {
        public var id: Int
        public var name: String
        public var muted: Bool
        public var talking: Bool
        /// "phone", "browser" or "other".
        public var kind: String
        /// A phone caller's masked number ("••• 1234").
        public var number: String?
        /// In a meeting: the role's name ("viewer", "moderator" or a configured one).
        public var role = "viewer"
        public var hand = false

        init(_ member: Member) {
            id = member.id
            name = member.name
            muted = member.flags.muted
            talking = member.isTalking
            hand = member.flags.handRaised
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
            var object: [String: Any] = ["id": id, "name": name, "muted": muted, "talking": talking, "kind": kind, "role": role, "hand": hand]
            if let number { object["number"] = number }
            return object
        }
    }

    static func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A refusal: its code, its English text, and the type of the message it answers (none when unasked).
    public static func error(_ error: SignalError, request: String? = nil, extra: [String: Any] = [:]) -> String {
        var object = extra
        object["type"] = "error"
        object["code"] = error.code.rawValue
        object["message"] = error.message
        if let request { object["request"] = request }
        return encode(object)
    }

    public static func answer(sdp: String, memberID: Int, session: String, restart: Bool, role: Role, roomName: String,
                              welcome: String, participants: [Participant], chat: [ChatLog.Message], lock: LockSettings?) -> String {
        encode([
            "type": "answer", "sdp": sdp, "memberId": memberID, "session": session, "restart": restart, "roomName": roomName,
            "welcome": welcome,
            "chat": chat.map(chatObject), "lock": lock.map(lockObject) ?? [:],
            "role": role.name, "permissions": role.permissions.map(\.rawValue).sorted(),
            "participants": participants.map(\.json),
        ])
    }

    /// The receiver's own role changed (promoted or demoted).
    public static func you(role: Role) -> String {
        encode(["type": "you", "role": role.name, "permissions": role.permissions.map(\.rawValue).sorted()])
    }

    public static func roleChanged(id: Int, role: String) -> String { encode(["type": "role", "id": id, "role": role]) }
    public static func removed() -> String { encode(["type": "removed", "message": "you were removed from this meeting"]) }
    public static func meetingEnded(_ message: String) -> String { encode(["type": "meeting-ended", "message": message]) }

    static func lockObject(_ lock: LockSettings) -> [String: Any] {
        ["microphone": lock.disableMicrophone, "publicChat": lock.disablePublicChat, "privateChat": lock.disablePrivateChat]
    }

    public static func lock(_ lock: LockSettings) -> String {
        var object = lockObject(lock)
        object["type"] = "lock"
        return encode(object)
    }

    static func chatObject(_ message: ChatLog.Message) -> [String: Any] {
        var object: [String: Any] = ["id": message.id, "from": message.from, "fromName": message.fromName, "text": message.text,
                                     "time": message.time]
        if let to = message.to { object["to"] = to }
        return object
    }

    public static func chat(_ message: ChatLog.Message) -> String {
        var object = chatObject(message)
        object["type"] = "chat"
        return encode(object)
    }

    public static func chatDeleted(_ id: Int) -> String { encode(["type": "chat-deleted", "id": id]) }

    static func breakoutObject(_ info: (name: String, sequence: Int, endsAt: Int64)) -> [String: Any] {
        ["name": info.name, "sequence": info.sequence, "endsAt": info.endsAt]
    }

    /// The receiver was moved to another room (a breakout room, or back to the main room).
    public static func moved(room: String, roomName: String, participants: [Participant], chat: [ChatLog.Message],
                             breakout: (name: String, sequence: Int, endsAt: Int64)?) -> String {
        var object: [String: Any] = [
            "type": "moved", "room": room, "roomName": roomName, "participants": participants.map(\.json),
            "chat": chat.map(chatObject),
        ]
        object["breakout"] = breakout.map(breakoutObject) ?? NSNull()
        return encode(object)
    }

    /// Somebody asked for help (moderators get it; `sequence` 0 is the main room).
    public static func help(name: String, room: String, sequence: Int) -> String {
        encode(["type": "help", "name": name, "room": room, "sequence": sequence])
    }

    /// The receiver's breakout room got more (or less) time.
    public static func breakout(_ info: (name: String, sequence: Int, endsAt: Int64)) -> String {
        var object = breakoutObject(info)
        object["type"] = "breakout"
        return encode(object)
    }

    /// The receiver waits for a moderator (guest policy ASK_MODERATOR).
    public static func waiting() -> String { encode(["type": "waiting"]) }
    public static func denied() -> String { encode(["type": "denied", "message": "a moderator did not let you in"]) }

    /// The meeting's waiting room, for those who may admit guests.
    public static func guests(_ guests: [(id: Int, name: String, kind: String)]) -> String {
        encode(["type": "guests", "guests": guests.map { ["id": $0.id, "name": $0.name, "kind": $0.kind] }])
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
