import Foundation

/// An API error as BigBlueButton reports it: FAILED with a message key and a message.
public struct APIError: Error, Equatable, Sendable {
    public var key: String
    public var message: String
    public init(_ key: String, _ message: String) {
        self.key = key
        self.message = message
    }
}

/// Who may enter before a moderator admits them (BigBlueButton's guestPolicy).
public enum GuestPolicy: String, Sendable, CaseIterable {
    case alwaysAccept = "ALWAYS_ACCEPT", alwaysDeny = "ALWAYS_DENY", askModerator = "ASK_MODERATOR"
}

/// Restrictions for viewers (moderators are exempt).
public struct LockSettings: Sendable, Equatable, Codable {
    public var disableMicrophone = false
    public var disablePublicChat = false
    public var disablePrivateChat = false
    /// BigBlueButton's "see other viewers in the users list" off: viewers see only the moderators and
    /// themselves in the list, hear no news of other viewers, and cannot write to them privately.
    public var hideUserList = false
    /// Viewers may not share a camera (BigBlueButton's lockSettingsDisableCam); turning it on stops theirs.
    public var disableCamera = false
    /// Viewers see only the moderators' cameras and their own (BigBlueButton's webcamsOnlyForModerator,
    /// "see other viewers' webcams" off); moderators see every camera.
    public var hideViewersCameras = false
    public init() {}

    public init(from decoder: Decoder) throws {
        // Absent keys keep their defaults (a stored meeting from before a setting existed).
        let c = try decoder.container(keyedBy: CodingKeys.self)
        disableMicrophone = try c.decodeIfPresent(Bool.self, forKey: .disableMicrophone) ?? false
        disablePublicChat = try c.decodeIfPresent(Bool.self, forKey: .disablePublicChat) ?? false
        disablePrivateChat = try c.decodeIfPresent(Bool.self, forKey: .disablePrivateChat) ?? false
        hideUserList = try c.decodeIfPresent(Bool.self, forKey: .hideUserList) ?? false
        disableCamera = try c.decodeIfPresent(Bool.self, forKey: .disableCamera) ?? false
        hideViewersCameras = try c.decodeIfPresent(Bool.self, forKey: .hideViewersCameras) ?? false
    }
}

/// What `create` can switch off for a whole meeting (BigBlueButton's `disabledFeatures`, a comma
/// list; the names Plenum does not have yet are ignored, as BigBlueButton ignores unknown ones).
public enum Feature: String, Sendable, CaseIterable, Codable {
    case cameras, screenshare, chat, breakoutRooms
}

/// A meeting's parameters from `create`.
public struct MeetingSettings: Sendable, Equatable {
    public var meetingID: String
    public var name: String
    public var attendeePassword: String
    public var moderatorPassword: String
    public var welcome: String
    public var dialNumber: String
    /// The 5-digit number phones dial (the dial-in PIN); unique among running meetings.
    public var voiceBridge: String
    public var maxParticipants: Int
    /// Minutes; 0 is unlimited.
    public var duration: Int
    public var guestPolicy: GuestPolicy
    public var lock: LockSettings
    public var muteOnStart: Bool
    public var logoutURL: String
    public var metadata: [String: String]
    public var metadataOrder: [String]
    /// The prompts' language for phone callers ("en", "de"); nil: the conference profile's.
    public var language: String? = nil
    /// A breakout room's parent meeting and its place (1–16) among the parent's rooms.
    public var parentMeetingID: String? = nil
    public var sequence = 0
    /// Cameras at once in the meeting (all its rooms; 0: unlimited) and per participant (BigBlueButton's
    /// meetingCameraCap, default 0, and userCameraCap, default 3).
    public var meetingCameraCap = 0
    public var userCameraCap = 3
    public var disabledFeatures: Set<Feature> = []

    public func isEnabled(_ feature: Feature) -> Bool { !disabledFeatures.contains(feature) }

    /// A breakout room of `parent`: number `sequence` (1–16), the parent's voice bridge with the room's
    /// two-digit index appended (so no room's number is a prefix of another's), the parent's locks.
    public static func breakout(of parent: MeetingSettings, sequence: Int, name: String) -> MeetingSettings {
        var settings = parent
        settings.meetingID = "\(parent.meetingID)-breakout-\(sequence)"
        settings.name = name
        settings.voiceBridge = parent.voiceBridge + (sequence < 10 ? "0\(sequence)" : "\(sequence)")
        settings.guestPolicy = .alwaysAccept
        settings.duration = 0
        settings.muteOnStart = false
        settings.welcome = ""
        settings.metadata = [:]
        settings.metadataOrder = []
        settings.parentMeetingID = parent.meetingID
        settings.sequence = sequence
        return settings
    }
}

/// One participant the meeting knows: a browser that joined through a join URL, or a phone caller.
public struct Attendee: Sendable, Equatable {
    public enum Kind: String, Sendable { case browser, phone }
    /// The conference member carrying its audio: how the protocol names participants.
    public var memberID: Int
    public var userID: String
    public var fullName: String
    public var role: Role
    public var kind: Kind
    public var listenOnly: Bool
    /// The room it is in (a voice bridge): the meeting's own, or one of its breakout rooms'.
    public var room: String
    public var joinedAt: Millis
    /// The cameras it publishes now, as its media loop reported them.
    public var cameras = 0

    public init(memberID: Int, userID: String, fullName: String, role: Role, kind: Kind, listenOnly: Bool, room: String,
                joinedAt: Millis) {
        self.memberID = memberID
        self.userID = userID
        self.fullName = fullName
        self.role = role
        self.kind = kind
        self.listenOnly = listenOnly
        self.room = room
        self.joinedAt = joinedAt
    }
}

/// The running meetings of one server by ID and by voice bridge (a breakout room's too), each a
/// `MeetingMachine`. Commands go through `handle`, which keeps the indexes true to the effects.
public final class MeetingRegistry {
    public private(set) var machines: [String: MeetingMachine] = [:]
    /// Voice bridges (the meetings' and their breakout rooms') → the meeting's ID. Kept beside
    /// `machines` so that a create costs the same with 10,000 meetings as with one (it scanned them
    /// all: issue 11, `scripts/bench-floods.sh meetings`).
    private var byVoiceBridge: [String: String] = [:]
    /// A breakout room's meetingID → its parent's.
    private var breakoutParents: [String: String] = [:]
    /// Numbers that are not free for voice bridges (configured rooms, dial-in numbers).
    public var isReserved: (String) -> Bool

    public init(reservedNumbers: Set<String> = []) { isReserved = { reservedNumbers.contains($0) } }

    public init(isReserved: @escaping (String) -> Bool) { self.isReserved = isReserved }

    /// The ID of the machine that holds `meetingID` (itself, or a breakout room's parent).
    public func owner(of meetingID: String) -> String? {
        if machines[meetingID] != nil { return meetingID }
        return breakoutParents[meetingID]
    }

    public func machine(_ meetingID: String) -> MeetingMachine? { owner(of: meetingID).flatMap { machines[$0] } }

    /// The meeting whose room `voiceBridge` is (its own or a breakout room).
    public func owner(voiceBridge: String) -> String? { byVoiceBridge[voiceBridge] }

    public func machine(voiceBridge: String) -> MeetingMachine? { byVoiceBridge[voiceBridge].flatMap { machines[$0] } }

    public func isFree(_ number: String) -> Bool { byVoiceBridge[number] == nil && !isReserved(number) }

    /// A free 5-digit number (BigBlueButton's range 10000–99999), avoiding reserved ones.
    public func freeVoiceBridge() -> String? {
        for _ in 0..<1000 {
            let candidate = String(Int.random(in: 10_000...99_999))
            if isFree(candidate) { return candidate }
        }
        return nil
    }

    public enum Creation: Equatable { case created, existing }

    /// `create` is idempotent: an existing meeting with the same ID is left as it is.
    public func create(_ settings: MeetingSettings, roles: RoleBook, now: Millis,
                       timeouts: (noShow: Millis, empty: Millis)? = nil) -> Result<Creation, APIError> {
        if machines[settings.meetingID] != nil { return .success(.existing) }
        guard isFree(settings.voiceBridge), breakoutParents[settings.meetingID] == nil else {
            return .failure(BigBlueButtonAPI.Errors.nonUniqueVoiceBridge)
        }
        var machine = MeetingMachine(settings: settings, roles: roles, now: now)
        if let timeouts { (machine.noShowTimeout, machine.emptyTimeout) = timeouts }
        add(machine, as: settings.meetingID)
        return .success(.created)
    }

    /// Keeps `machine` under `id` (a configured room's machine under its number).
    public func add(_ machine: MeetingMachine, as id: String) {
        machines[id] = machine
        byVoiceBridge[machine.settings.voiceBridge] = id
    }

    /// Runs `command` on meeting `id`'s machine and commits the outcome (no store in between: the
    /// owner's `MeetingOwner` writes first; tests and stores that keep nothing use this).
    public func handle(_ id: String, _ command: MeetingCommand, now: Millis) -> Result<[MeetingEffect], SignalError> {
        guard var machine = machines[id] else { return .failure(.meetingEnded) }
        let result = machine.handle(command, now: now, isNumberFree: { [unowned self] in self.isFree($0) })
        if case .success(let effects) = result { commit(id, machine, effects: effects) }
        return result
    }

    /// Takes `machine` as meeting `id`'s new state and follows its rooms: breakout rooms opened and
    /// closed change the indexes; an ended meeting is forgotten (its chat and attendees go with it).
    public func commit(_ id: String, _ machine: MeetingMachine, effects: [MeetingEffect]) {
        guard machines[id] != nil else { return }
        machines[id] = machine
        for effect in effects {
            switch effect {
            case .openRoom(let room):
                byVoiceBridge[room.voiceBridge] = id
                breakoutParents[room.meetingID] = id
            case .closeRoom(let voiceBridge, let meetingID):
                if byVoiceBridge[voiceBridge] == id { byVoiceBridge[voiceBridge] = nil }
                if breakoutParents[meetingID] == id { breakoutParents[meetingID] = nil }
            case .ended:
                remove(id)
            default: break
            }
        }
    }

    /// Queries that need no command: answered from the machine as it is.
    public func read<T>(_ id: String, _ body: (MeetingMachine) -> T) -> T? { machines[id].map(body) }

    /// Forgets meeting `id` and frees its numbers.
    public func remove(_ id: String) {
        guard let machine = machines.removeValue(forKey: id) else { return }
        for room in machine.rooms {
            if byVoiceBridge[room.voiceBridge] == id { byVoiceBridge[room.voiceBridge] = nil }
            breakoutParents[room.meetingID] = nil
        }
    }
}

/// A meeting as the API reports it, copied off the loop.
public struct MeetingSnapshot: Sendable {
    public struct AttendeeInfo: Sendable {
        public var userID: String
        public var fullName: String
        public var role: String
        public var kind: Attendee.Kind
        public var listenOnly: Bool
        public var hasJoinedVoice: Bool
        public var isPresenter: Bool
        public var cameras: Int

        public init(userID: String, fullName: String, role: String, kind: Attendee.Kind, listenOnly: Bool, hasJoinedVoice: Bool,
                    isPresenter: Bool = false, cameras: Int = 0) {
            self.isPresenter = isPresenter
            self.cameras = cameras
            self.userID = userID
            self.fullName = fullName
            self.role = role
            self.kind = kind
            self.listenOnly = listenOnly
            self.hasJoinedVoice = hasJoinedVoice
        }
    }
    public var settings: MeetingSettings
    public var internalID: String
    public var createTime: Int64
    public var startTime: Int64
    public var endTime: Int64
    public var running: Bool
    public var hasUserJoined: Bool
    public var forciblyEnded: Bool
    public var attendees: [AttendeeInfo]
    /// A parent's breakout rooms (their meetingIDs), in order.
    public var breakoutRooms: [String] = []
    /// `MeetingMachine.instance`: what join grants are bound to.
    public var instance = ""

    public init(settings: MeetingSettings, internalID: String, createTime: Int64, startTime: Int64, endTime: Int64,
                running: Bool, hasUserJoined: Bool, forciblyEnded: Bool, attendees: [AttendeeInfo]) {
        self.settings = settings
        self.internalID = internalID
        self.createTime = createTime
        self.startTime = startTime
        self.endTime = endTime
        self.running = running
        self.hasUserJoined = hasUserJoined
        self.forciblyEnded = forciblyEnded
        self.attendees = attendees
    }

    public var participantCount: Int { attendees.count }
    public var listenerCount: Int { attendees.filter(\.listenOnly).count }
    public var voiceParticipantCount: Int { attendees.filter(\.hasJoinedVoice).count }
    public var moderatorCount: Int { attendees.filter { $0.role == "MODERATOR" }.count }
    /// The cameras published in this room (BigBlueButton's videoCount: balancers weigh meetings by it).
    public var videoCount: Int { attendees.reduce(0) { $0 + $1.cameras } }
}
