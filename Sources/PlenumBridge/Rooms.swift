/// The configured rooms (issue 6) and the meetings' voice bridges: a number, a name, an optional PIN,
/// limits and a conference profile.
public struct RoomDirectory: Sendable {
    public struct Room: Codable, Sendable, Equatable {
        public var number: String
        public var name: String?
        public var pin: String?
        public var profile: String?
        /// The prompts' language ("en", "de"); nil: the profile's. Kept with the room, so a conference
        /// made again later (after the room emptied) speaks it too.
        public var language: String?
        /// At most this many participants; the next caller gets 486 Busy Here (or `conf-locked` once answered).
        public var maxParticipants: Int?
        /// A locked room takes nobody new.
        public var locked: Bool?
        public init(number: String, name: String? = nil, pin: String? = nil, profile: String? = nil, language: String? = nil,
                    maxParticipants: Int? = nil, locked: Bool? = nil) {
            self.number = number
            self.language = language
            self.name = name
            self.pin = pin
            self.profile = profile
            self.maxParticipants = maxParticipants
            self.locked = locked
        }
    }
    public var rooms: [String: Room]
    public init(_ rooms: [Room]) { self.rooms = Dictionary(rooms.map { ($0.number, $0) }, uniquingKeysWith: { a, _ in a }) }
    public func room(_ number: String) -> Room? { rooms[number] }
}

/// The rooms of one media loop and their conferences, for every kind of leg (issue 12: phones and
/// browsers are two kinds of leg of the same room, and neither owns the rooms). Configured rooms come
/// from the configuration (reloaded on SIGHUP), meeting rooms from the meetings' voice bridges; a
/// room's conference is made on first use, with the room's profile. SIP, WebRTC and meetings each find
/// this hook on the loop; a server without SIP or without WebRTC has it all the same.
public final class Rooms: MediaLoopHook {
    public private(set) var directory: RoomDirectory
    /// Rooms that meetings opened (their voice bridges): they survive a reload of the configured rooms.
    private var meetingRooms: [String: RoomDirectory.Room] = [:]
    public let sounds: SoundLibrary?
    public let profiles: [String: ConferenceProfile]
    private unowned let context: MediaLoopContext
    /// Told of every conference made here, before anybody joins it (a kind of leg adds its observers).
    public var conferenceCreated: [(Conference) -> Void] = []

    public init(_ directory: RoomDirectory, sounds: SoundLibrary?, profiles: [String: ConferenceProfile], context: MediaLoopContext) {
        self.directory = directory
        self.sounds = sounds
        self.profiles = profiles
        self.context = context
    }

    public func room(_ number: String) -> RoomDirectory.Room? { directory.room(number) }

    /// The configured rooms (not the meetings').
    public var configuredNumbers: [String] { directory.rooms.keys.filter { meetingRooms[$0] == nil } }

    public func addMeetingRoom(_ room: RoomDirectory.Room) {
        meetingRooms[room.number] = room
        directory.rooms[room.number] = room
    }

    /// Whether `number` is a meeting's voice bridge (or a breakout room's) rather than a configured room.
    public func isMeetingRoom(_ number: String) -> Bool { meetingRooms[number] != nil }

    public func removeMeetingRoom(_ number: String) {
        meetingRooms[number] = nil
        directory.rooms[number] = nil
    }

    /// New configured rooms; the meetings' stay.
    public func reload(_ rooms: RoomDirectory) {
        var rooms = rooms
        for (number, room) in meetingRooms { rooms.rooms[number] = room }
        directory = rooms
    }

    /// The room's conference on this loop, made on first use (shared by phones and browsers).
    /// The room's `language` overrides the profile's prompt language (a meeting's own).
    public func conference(for number: String) -> Conference {
        if let existing = context.conferences[number] { return existing }
        var profile = room(number)?.profile.flatMap { profiles[$0] } ?? profiles["default"] ?? ConferenceProfile()
        if let language = room(number)?.language { profile.language = language }
        let conference = Conference(name: number, profile: profile, sounds: sounds)
        for created in conferenceCreated { created(conference) }
        context.conferences[number] = conference
        return conference
    }

    public func beforeTick() {}
    public func afterTick() {}
}
