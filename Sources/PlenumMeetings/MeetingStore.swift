import Synchronization

/// What of a meeting must outlive its process or be seen by other nodes: who is in it and with which
/// role, who was removed or let in, its locks and its rooms. Chat is not in it: it lives in memory for
/// the meeting's life and nowhere else (privacy by default).
public struct MeetingRecord: Codable, Sendable, Equatable {
    public struct Person: Codable, Sendable, Equatable {
        public var memberID: Int
        public var userID: String
        public var name: String
        public var role: String
        public var kind: String
        public var room: String
    }
    public var meetingID: String
    public var instance: String
    public var createTime: Millis
    /// The main room's voice bridge first, then the open breakout rooms'.
    public var voiceBridges: [String]
    public var attendees: [Person]
    public var banned: [String]
    public var admitted: [String]
    public var lock: LockSettings
    public var presenter: Int?
    public var breakoutsEndAt: Millis?
}

extension MeetingMachine {
    /// The meeting's durable part (nil for a configured room, which keeps nothing).
    public var record: MeetingRecord? {
        guard kind == .meeting, !ended else { return nil }
        return MeetingRecord(
            meetingID: settings.meetingID, instance: instance, createTime: createTime, voiceBridges: rooms.map(\.voiceBridge),
            attendees: attendees.map {
                .init(memberID: $0.memberID, userID: $0.userID, name: $0.fullName, role: $0.role.name, kind: $0.kind.rawValue, room: $0.room)
            },
            banned: banned.sorted(), admitted: admitted.sorted(), lock: lock, presenter: presenter, breakoutsEndAt: breakouts?.endsAt)
    }
}

/// Where meetings' records are kept: asynchronous and allowed to fail. The owner writes a command's
/// change before the command takes effect; a write that fails refuses the command with
/// `store-unavailable` and changes nothing. In process by default; a Redis store (several nodes) is
/// another conformance, and the machines do not change for it.
public protocol MeetingStore: Sendable {
    /// Keeps `record` for `meetingID`; nil: the meeting ended, and its record goes.
    func write(_ meetingID: String, _ record: MeetingRecord?) async throws
}

/// The default store: the records in this process's memory, gone with the meeting.
public final class InProcessMeetingStore: MeetingStore {
    private let records = Mutex<[String: MeetingRecord]>([:])

    public init() {}

    public func write(_ meetingID: String, _ record: MeetingRecord?) async throws {
        records.withLock { $0[meetingID] = record }
    }

    public func record(_ meetingID: String) -> MeetingRecord? { records.withLock { $0[meetingID] } }
    public var count: Int { records.withLock { $0.count } }
}

