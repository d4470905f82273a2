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
public struct LockSettings: Sendable, Equatable {
    public var disableMicrophone = false
    public var disablePublicChat = false
    public var disablePrivateChat = false
    public init() {}
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
    public var userID: String
    public var fullName: String
    public var role: Role
    public var kind: Kind
    public var listenOnly: Bool
    /// The conference member carrying its audio, once connected.
    public var memberID: Int?
    public var joinedAt: Date

    public init(userID: String, fullName: String, role: Role, kind: Kind, listenOnly: Bool, memberID: Int?, joinedAt: Date) {
        self.userID = userID
        self.fullName = fullName
        self.role = role
        self.kind = kind
        self.listenOnly = listenOnly
        self.memberID = memberID
        self.joinedAt = joinedAt
    }
}

/// A meeting's life: created, running while somebody is in it, ended by the API, a moderator, its
/// duration, or emptiness. Control-plane state, sans-I/O; the server keeps it on the media loop beside
/// the meeting's conference.
public final class Meeting {
    public let settings: MeetingSettings
    public let internalID: String
    /// Random and never reused: what an access grant is bound to, so that a token outlives neither
    /// this meeting nor enters a later one under the same ID or voice bridge.
    public let instance = String(UInt64.random(in: 1...UInt64.max), radix: 36)
    /// Milliseconds since 1970, as BigBlueButton reports createTime.
    public let createTime: Int64
    public private(set) var startTime: Int64 = 0
    public private(set) var endTime: Int64 = 0
    public private(set) var hasUserJoined = false
    public private(set) var forciblyEnded = false
    public private(set) var ended = false
    public var attendees: [Attendee] = []
    /// userIDs removed by a moderator: they may not come back.
    public var banned: Set<String> = []
    /// userIDs a moderator let in from the waiting room: a reconnect does not wait again.
    public var admitted: Set<String> = []
    public var lock: LockSettings

    public init(settings: MeetingSettings, now: Date) {
        self.settings = settings
        createTime = Int64(now.timeIntervalSince1970 * 1000)
        internalID = "\(Self.hex(settings.meetingID))-\(createTime)"
        lock = settings.lock
    }

    public var running: Bool { !ended && !attendees.isEmpty }

    /// The welcome message with BigBlueButton's placeholders filled in (%%CONFNAME%%, %%DIALNUM%%,
    /// %%CONFNUM%%). It may hold markup from the API caller: clients show it as text.
    public var welcomeText: String {
        settings.welcome.replacingOccurrences(of: "%%CONFNAME%%", with: settings.name)
            .replacingOccurrences(of: "%%DIALNUM%%", with: settings.dialNumber)
            .replacingOccurrences(of: "%%CONFNUM%%", with: settings.voiceBridge)
    }

    public func add(_ attendee: Attendee) {
        if !hasUserJoined { startTime = Int64(attendee.joinedAt.timeIntervalSince1970 * 1000) }
        hasUserJoined = true
        attendees.removeAll { $0.userID == attendee.userID && $0.kind == attendee.kind }
        attendees.append(attendee)
    }

    public func remove(userID: String) { attendees.removeAll { $0.userID == userID } }

    public func end(forcibly: Bool, now: Date) {
        guard !ended else { return }
        ended = true
        forciblyEnded = forcibly
        endTime = Int64(now.timeIntervalSince1970 * 1000)
    }

    static func hex(_ text: String) -> String {
        ChecksumAlgorithm.sha1.hexDigest(text)
    }
}

/// The running meetings of one server, and their voice bridges.
public final class MeetingRegistry {
    public private(set) var meetings: [String: Meeting] = [:]
    /// Meetings by voice bridge, kept beside `meetings` so that a create costs the same with 10,000
    /// meetings as with one (it scanned them all: issue 11, `scripts/bench-floods.sh meetings`).
    private var byVoiceBridge: [String: Meeting] = [:]
    /// Numbers that are not free for voice bridges (configured rooms, dial-in numbers).
    public var isReserved: (String) -> Bool

    public init(reservedNumbers: Set<String> = []) { isReserved = { reservedNumbers.contains($0) } }

    public init(isReserved: @escaping (String) -> Bool) { self.isReserved = isReserved }

    public func meeting(_ id: String) -> Meeting? { meetings[id] }

    public func meeting(voiceBridge: String) -> Meeting? {
        guard let meeting = byVoiceBridge[voiceBridge], !meeting.ended else { return nil }
        return meeting
    }

    private func isFree(_ number: String) -> Bool { meeting(voiceBridge: number) == nil && !isReserved(number) }

    /// A free 5-digit number (BigBlueButton's range 10000–99999), avoiding reserved ones.
    public func freeVoiceBridge() -> String? {
        for _ in 0..<1000 {
            let candidate = String(Int.random(in: 10_000...99_999))
            if isFree(candidate) { return candidate }
        }
        return nil
    }

    public enum Creation { case created(Meeting), existing(Meeting) }

    /// `create` is idempotent: an existing meeting with the same ID is returned as it is.
    public func create(_ settings: MeetingSettings, now: Date) -> Result<Creation, APIError> {
        if let existing = meetings[settings.meetingID], !existing.ended { return .success(.existing(existing)) }
        guard isFree(settings.voiceBridge) else { return .failure(BigBlueButtonAPI.Errors.nonUniqueVoiceBridge) }
        if let previous = meetings[settings.meetingID], byVoiceBridge[previous.settings.voiceBridge] === previous {
            byVoiceBridge[previous.settings.voiceBridge] = nil
        }
        let meeting = Meeting(settings: settings, now: now)
        meetings[settings.meetingID] = meeting
        byVoiceBridge[settings.voiceBridge] = meeting
        return .success(.created(meeting))
    }

    /// Forgets an ended meeting (its chat and attendees go with it: nothing is kept).
    public func forget(_ id: String) {
        guard let meeting = meetings.removeValue(forKey: id) else { return }
        if byVoiceBridge[meeting.settings.voiceBridge] === meeting { byVoiceBridge[meeting.settings.voiceBridge] = nil }
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

        public init(userID: String, fullName: String, role: String, kind: Attendee.Kind, listenOnly: Bool, hasJoinedVoice: Bool) {
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
    /// `Meeting.instance`: what join grants are bound to.
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
}
