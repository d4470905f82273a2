import Foundation
import PlenumBridge
import PlenumMeetings

/// The signalling protocol's messages (docs/signalling.md): JSON text frames over a WebSocket. What a
/// browser sends is `ClientRequest`; what the meetings tell it is `ControlMessage` (PlenumMeetings);
/// the messages about the media session and the room's conference are here.
public enum Signal {
    public struct Participant: Encodable, Sendable, Equatable {
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
        /// A browser not heard from for a few seconds (its network went; it may come back).
        public var reconnecting = false

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
    }

    /// A message with its `type` first among its fields.
    struct Typed<Body: Encodable>: Encodable {
        var type: String
        var body: Body
        enum CodingKeys: String, CodingKey { case type }
        func encode(to encoder: any Encoder) throws {
            try body.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
        }
    }

    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A refusal as sent: its code, its English text, the type of the message it answers (none when
    /// unasked), and what some codes add.
    struct Refusal: Encodable {
        struct Versions: Encodable { var min: Int; var max: Int }
        var code: String
        var message: String
        var request: String?
        /// `too-many-attempts`: seconds until the next try.
        var retryAfter: Int?
        /// `unsupported-version`: the versions this server speaks.
        var supported: Versions?
    }

    public static func error(_ error: SignalError, request: String? = nil, retryAfter: Int? = nil,
                             supported: ClosedRange<Int>? = nil) -> String {
        encode(Typed(type: "error", body: Refusal(
            code: error.code.rawValue, message: error.message, request: request, retryAfter: retryAfter,
            supported: supported.map { .init(min: $0.lowerBound, max: $0.upperBound) })))
    }

    /// The meeting's locks as browsers see them (empty outside meetings).
    struct Locks: Encodable {
        var lock: LockSettings?
        enum CodingKeys: String, CodingKey { case microphone, publicChat, privateChat, hideViewers, camera, viewersCameras }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            guard let lock else { return }
            try c.encode(lock.disableMicrophone, forKey: .microphone)
            try c.encode(lock.disablePublicChat, forKey: .publicChat)
            try c.encode(lock.disablePrivateChat, forKey: .privateChat)
            try c.encode(lock.hideUserList, forKey: .hideViewers)
            try c.encode(lock.disableCamera, forKey: .camera)
            try c.encode(lock.hideViewersCameras, forKey: .viewersCameras)
        }
    }

    /// The answer to a join, a resume or an ICE restart: the SDP and what the browser needs to start.
    struct Answer: Encodable {
        var sdp: String
        var memberId: Int
        var session: String
        var restart: Bool
        var role: String
        var permissions: [String]
        var roomName: String
        var welcome: String
        var participants: [Participant]
        var chat: [ChatLog.Message]
        var lock: Locks
        var presenter: OrNull<Int>
        /// Where the page sends its people when they leave or the meeting ends (the meeting's `logoutURL`).
        var logoutURL: String?
        /// What the meeting's `create` switched off (`cameras`, `screenshare`, `chat`, `breakoutRooms`).
        var disabledFeatures: [String]
    }

    /// A field that is always there: null when it has no value.
    struct OrNull<Value: Encodable>: Encodable {
        var value: Value?
        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            if let value { try container.encode(value) } else { try container.encodeNil() }
        }
    }

    public static func answer(sdp: String, memberID: Int, session: String, restart: Bool, role: Role, roomName: String,
                              welcome: String, participants: [Participant], chat: [ChatLog.Message], lock: LockSettings?,
                              presenter: Int? = nil, logoutURL: String? = nil, disabledFeatures: [String] = []) -> String {
        encode(Typed(type: "answer", body: Answer(
            sdp: sdp, memberId: memberID, session: session, restart: restart, role: role.name,
            permissions: role.permissions.map(\.rawValue).sorted(), roomName: roomName, welcome: welcome,
            participants: participants, chat: chat, lock: Locks(lock: lock), presenter: OrNull(value: presenter),
            logoutURL: logoutURL.flatMap(webAddress), disabledFeatures: disabledFeatures)))
    }

    /// An absolute http(s) address, or nil: nothing else (no `javascript:`) becomes a link in the page.
    static func webAddress(_ text: String) -> String? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            url.host?.isEmpty == false
        else { return nil }
        return text
    }

    struct Participants: Encodable { var participants: [Participant] }

    /// The room's participants anew, as the receiver may see them (the "see other viewers" lock changed,
    /// or somebody's role did while it was on).
    static func participants(_ participants: [Participant]) -> String {
        encode(Typed(type: "participants", body: Participants(participants: participants)))
    }

    /// A camera (or screen) published in the room: its id for subscriptions, whose it is, and which
    /// (`camera` or `screen`).
    public struct Camera: Encodable, Sendable, Equatable {
        public var id: String
        public var member: Int
        public var kind: String
    }
    struct Cameras: Encodable { var cameras: [Camera] }

    /// The room's cameras, whenever one starts or stops.
    static func cameras(_ cameras: [Camera]) -> String { encode(Typed(type: "cameras", body: Cameras(cameras: cameras))) }

    struct Renegotiated: Encodable { var sdp: String }

    /// The answer to `renegotiate`.
    struct ScreenStopped: Encodable { var reason: String }
    /// The receiver's screen share was stopped (`reason`: "presenter": it no longer presents).
    static func screenStopped(reason: String) -> String {
        encode(Typed(type: "screen-stopped", body: ScreenStopped(reason: reason)))
    }

    struct CameraStopped: Encodable { var reason: String }
    /// The receiver's cameras were stopped (`reason`: "moderator" or "locked"); it turns them off.
    static func cameraStopped(reason: CameraStop) -> String {
        encode(Typed(type: "camera-stopped", body: CameraStopped(reason: reason.rawValue)))
    }

    static func renegotiated(sdp: String) -> String { encode(Typed(type: "renegotiated", body: Renegotiated(sdp: sdp))) }

    struct EchoAnswer: Encodable { var sdp: String; var seconds: Int }

    /// The answer to an echo test's offer, with how long the test may run.
    static func echoAnswer(sdp: String, seconds: Int) -> String {
        encode(Typed(type: "echo-answer", body: EchoAnswer(sdp: sdp, seconds: seconds)))
    }

    /// The receiver was moved to another room (a breakout room, or back to the main room).
    struct Moved: Encodable {
        var room: String
        var roomName: String
        var participants: [Participant]
        var chat: [ChatLog.Message]
        var breakout: BreakoutInfo?
        enum CodingKeys: String, CodingKey { case room, roomName, participants, chat, breakout }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(room, forKey: .room)
            try c.encode(roomName, forKey: .roomName)
            try c.encode(participants, forKey: .participants)
            try c.encode(chat, forKey: .chat)
            try c.encode(breakout, forKey: .breakout)  // null back in the main room
        }
    }

    static func moved(room: String, roomName: String, participants: [Participant], chat: [ChatLog.Message],
                      breakout: BreakoutInfo?) -> String {
        encode(Typed(type: "moved", body: Moved(room: room, roomName: roomName, participants: participants, chat: chat, breakout: breakout)))
    }

    struct TokenReply: Encodable { var token: String; var room: String; var roomName: String }

    /// `POST /api/token`'s answer.
    public static func token(_ token: String, room: String, roomName: String) -> String {
        encode(TokenReply(token: token, room: room, roomName: roomName))
    }

    /// A conference's news for the browsers in its room, one small type each.
    struct Left: Encodable { var id: Int }
    struct Talking: Encodable { var id: Int; var talking: Bool }
    struct Muted: Encodable { var id: Int; var muted: Bool }
    struct Hand: Encodable { var id: Int; var raised: Bool }
    struct Renamed: Encodable { var id: Int; var name: String }
    struct Connection: Encodable { var id: Int; var reconnecting: Bool }

    /// A room's news as the browsers' JSON (encoded by the outbox's thread, off the loop).
    static func news(_ news: BrowserOutbox.News) -> String? {
        switch news {
        case .joined(let participant): return encode(Typed(type: "participant-joined", body: participant))
        case .event(.memberLeft(let id)): return encode(Typed(type: "participant-left", body: Left(id: id)))
        case .event(.talkingStarted(let id)): return encode(Typed(type: "talking", body: Talking(id: id, talking: true)))
        case .event(.talkingStopped(let id)): return encode(Typed(type: "talking", body: Talking(id: id, talking: false)))
        case .event(.muted(let id, let muted)): return encode(Typed(type: "muted", body: Muted(id: id, muted: muted)))
        case .event(.handRaised(let id, let raised)): return encode(Typed(type: "hand", body: Hand(id: id, raised: raised)))
        case .event(.renamed(let id, let name)): return encode(Typed(type: "renamed", body: Renamed(id: id, name: name)))
        case .connection(let id, let reconnecting):
            return encode(Typed(type: "connection", body: Connection(id: id, reconnecting: reconnecting)))
        case .event: return nil
        }
    }
}
