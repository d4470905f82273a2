/// Milliseconds since 1970: the control plane's clock. Every command comes with it, so the machines
/// run on virtual time in tests and never read a clock themselves.
public typealias Millis = Int64

/// What a participant asks of its meeting (the signalling protocol's requests, docs/signalling.md).
/// Members are named by their conference member ID; each request is checked against the sender's role
/// in its own meeting, and anything it names must be of that meeting (BigBlueButton's CVE-2022-29232
/// was a request naming a user of another meeting).
public enum ParticipantRequest: Sendable, Equatable {
    /// `target` nil: oneself.
    case mute(target: Int?, muted: Bool)
    case muteAll(muted: Bool)
    case remove(target: Int)
    case rename(target: Int, name: String)
    case setRole(target: Int, moderator: Bool)
    case endMeeting
    case hand(target: Int?, raised: Bool)
    case lock(microphone: Bool?, publicChat: Bool?, privateChat: Bool?, hideUserList: Bool? = nil, camera: Bool? = nil,
              hideViewersCameras: Bool? = nil)
    /// A moderator stops somebody's cameras (never starts them).
    case stopCamera(target: Int)
    case chat(text: String, to: Int?)
    case deleteChat(messageID: Int)
    case admit(guest: Int, allow: Bool)
    case startBreakouts(rooms: [BreakoutPlan], seconds: Int, freeJoin: Bool)
    case extendBreakouts(seconds: Int)
    case endBreakouts
    /// A moderator goes to a breakout room (1–16) or back to the main room (0).
    case visitBreakout(sequence: Int)
    case askForHelp
    case messageBreakouts(text: String)
    /// Anybody picks a room when the moderator let them choose.
    case chooseBreakout(sequence: Int)
    /// Makes a browser of the sender's room the meeting's presenter.
    case setPresenter(target: Int)
}

/// One breakout room as a moderator plans it: a name and the members sent there.
public struct BreakoutPlan: Sendable, Equatable {
    public var name: String
    public var members: [Int]
    public init(name: String, members: [Int]) {
        self.name = name
        self.members = members
    }
}

/// Who waits in a waiting room, as its leg knows it: a phone call or a browser's WebSocket.
public enum GuestTicket: Hashable, Sendable {
    case call(UInt64)
    case connection(UInt64)
}

/// Everything that changes a meeting: the legs' news (somebody entered, left, was renamed on the
/// bridge), requests from participants, the waiting room, the API and the clock.
public enum MeetingCommand: Sendable, Equatable {
    /// A browser's member is in `room` (its grant was checked against `entry`).
    case browserEntered(memberID: Int, userID: String, name: String, role: Role, listenOnly: Bool, room: String)
    /// A phone caller's member is in `room` (phones are viewers: they have no password to give).
    case phoneEntered(memberID: Int, name: String, room: String)
    /// A member left the bridge (hung up, closed its page, lost its connection).
    case left(memberID: Int)
    /// The bridge renamed a member.
    case renamed(memberID: Int, name: String)
    /// How many cameras a member publishes now (a fact from its media loop, for getMeetingInfo).
    case cameras(memberID: Int, count: Int)
    /// A phone caller pressed the help key.
    case helpRequested(memberID: Int)
    case request(from: Int, ParticipantRequest)
    case guestArrived(GuestTicket, name: String, kind: Attendee.Kind, userID: String?)
    /// A waiting guest gave up (hung up, closed the page).
    case guestLeft(GuestTicket)
    /// Once a second: durations, empty meetings, breakout timers.
    case tick
    /// The API or a moderator ends the meeting.
    case end(EndReason)
    /// The API ends one breakout room (its people go back to the main room).
    case endBreakoutRoom(meetingID: String)
}

public enum EndReason: String, Sendable, Equatable {
    case api, moderator, duration = "duration over", empty, noShow = "nobody joined"
    /// Counted as "forcibly ended" (BigBlueButton's hasBeenForciblyEnded).
    public var isForcible: Bool { self == .api || self == .moderator }
}

/// What the owner of a machine does after a command: typed, so a test reads them as values.
public enum MeetingEffect: Sendable, Equatable {
    /// A message to these members (browsers read it; phones have no screen and are skipped).
    case send(ControlMessage, to: [Int])
    /// The member entered: send it what it needs to start (the answer, with the meeting's state).
    case welcome(memberID: Int)
    // Commands to the media loop.
    case mute(memberID: Int, muted: Bool)
    case rename(memberID: Int, name: String)
    case hand(memberID: Int, raised: Bool)
    /// The member's cameras stop (a moderator stopped them, or the viewers' cameras were locked).
    case stopCameras(memberID: Int, reason: CameraStop)
    /// Removed by a moderator: a browser is told and leaves, a phone is hung up.
    case disconnect(memberID: Int)
    /// Moves a member between two rooms of the meeting (a transfer between conferences).
    case move(memberID: Int, from: String, to: String, prompt: String?)
    /// A prompt to everybody in a room.
    case play(prompt: String, room: String)
    case openRoom(MeetingRoom)
    case closeRoom(voiceBridge: String, meetingID: String)
    /// The meeting ended: every leg in its rooms is hung up or told (`meetingEnded` came before).
    case ended(EndReason)
    /// A moderator decided about a waiting guest.
    case decide(GuestTicket, admit: Bool)
}

/// Why a member's cameras were stopped (its browser says so).
public enum CameraStop: String, Sendable, Equatable {
    case moderator, locked
}

/// What the server tells browsers about their meeting (docs/signalling.md, "Server → client").
/// Encoded as the protocol's JSON objects (`type` plus the fields).
public enum ControlMessage: Sendable, Equatable, Encodable {
    case chat(ChatLog.Message)
    case chatDeleted(id: Int)
    case lock(LockSettings)
    /// Somebody's role changed (everybody in the room).
    case role(memberID: Int, role: String)
    /// The receiver's own role changed.
    case you(Role)
    case removed
    case meetingEnded
    case waiting
    case denied
    case guests([Guest])
    /// Somebody asked for help (moderators get it; `sequence` 0 is the main room).
    case help(name: String, room: String, sequence: Int)
    case breakouts(BreakoutsView)
    /// The receiver's breakout room got more (or less) time.
    case breakout(BreakoutInfo)
    /// The meeting's presenter changed (nil: nobody presents).
    case presenter(memberID: Int?)

    public var type: String {
        switch self {
        case .chat: "chat"
        case .chatDeleted: "chat-deleted"
        case .lock: "lock"
        case .role: "role"
        case .you: "you"
        case .removed: "removed"
        case .meetingEnded: "meeting-ended"
        case .waiting: "waiting"
        case .denied: "denied"
        case .guests: "guests"
        case .help: "help"
        case .breakouts: "breakouts"
        case .breakout: "breakout"
        case .presenter: "presenter"
        }
    }

    private enum Key: String, CodingKey {
        case type, id, from, fromName, to, text, time, microphone, publicChat, privateChat, hideViewers, camera, viewersCameras, role, permissions, message
        case guests, name, room, sequence, active, rooms, freeJoin, endsAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(type, forKey: .type)
        switch self {
        case .chat(let message):
            try message.encodeFields(into: &c)
        case .chatDeleted(let id):
            try c.encode(id, forKey: .id)
        case .lock(let lock):
            try c.encode(lock.disableMicrophone, forKey: .microphone)
            try c.encode(lock.disablePublicChat, forKey: .publicChat)
            try c.encode(lock.disablePrivateChat, forKey: .privateChat)
            try c.encode(lock.hideUserList, forKey: .hideViewers)
            try c.encode(lock.disableCamera, forKey: .camera)
            try c.encode(lock.hideViewersCameras, forKey: .viewersCameras)
        case .role(let memberID, let role):
            try c.encode(memberID, forKey: .id)
            try c.encode(role, forKey: .role)
        case .you(let role):
            try c.encode(role.name, forKey: .role)
            try c.encode(role.permissions.map(\.rawValue).sorted(), forKey: .permissions)
        case .removed:
            try c.encode("you were removed from this meeting", forKey: .message)
        case .meetingEnded:
            try c.encode("the meeting has ended", forKey: .message)
        case .waiting:
            break
        case .denied:
            try c.encode("a moderator did not let you in", forKey: .message)
        case .guests(let guests):
            try c.encode(guests, forKey: .guests)
        case .help(let name, let room, let sequence):
            try c.encode(name, forKey: .name)
            try c.encode(room, forKey: .room)
            try c.encode(sequence, forKey: .sequence)
        case .breakouts(let view):
            try c.encode(view.active, forKey: .active)
            try c.encode(view.rooms, forKey: .rooms)
            try c.encode(view.freeJoin, forKey: .freeJoin)
            try c.encodeIfPresent(view.endsAt, forKey: .endsAt)
        case .breakout(let info):
            try info.encodeFields(into: &c)
        case .presenter(let memberID):
            try c.encode(memberID, forKey: .id)  // null: nobody
        }
    }
}

/// A guest in the waiting room, as moderators see it.
public struct Guest: Sendable, Equatable, Encodable {
    public var id: Int
    public var name: String
    public var kind: Attendee.Kind
    enum CodingKeys: String, CodingKey { case id, name, kind }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(kind.rawValue, forKey: .kind)
    }
}

/// The breakout rooms as their managers see them (and, with free join, everybody in the main room).
public struct BreakoutsView: Sendable, Equatable {
    public struct Room: Sendable, Equatable, Encodable {
        public var sequence: Int
        public var name: String
        public var voiceBridge: String
        public var members: [Int]
    }
    public var active: Bool
    public var rooms: [Room]
    public var freeJoin: Bool
    public var endsAt: Millis?
}

/// A breakout room as the people in it see it: its name, its place and its end.
public struct BreakoutInfo: Sendable, Equatable, Encodable {
    public var name: String
    public var sequence: Int
    public var endsAt: Millis

    func encodeFields<K: CodingKey>(into c: inout KeyedEncodingContainer<K>) throws {
        try c.put(name, "name")
        try c.put(sequence, "sequence")
        try c.put(endsAt, "endsAt")
    }
}

extension ChatLog.Message: Encodable {
    enum CodingKeys: String, CodingKey { case id, from, fromName, to, text, time }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try encodeFields(into: &c)
    }

    func encodeFields<K: CodingKey>(into c: inout KeyedEncodingContainer<K>) throws {
        try c.put(id, "id")
        try c.put(from, "from")
        try c.put(fromName, "fromName")
        if let to { try c.put(to, "to") }
        try c.put(text, "text")
        try c.put(time, "time")
    }
}

extension KeyedEncodingContainer {
    /// Encodes under a key named by its string (the messages share fields across containers).
    mutating func put<V: Encodable>(_ value: V, _ key: String) throws {
        if let k = Key(stringValue: key) { try encode(value, forKey: k) }
    }
}
