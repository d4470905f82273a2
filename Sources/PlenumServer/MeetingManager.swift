import Foundation
import Logging
import PlenumBridge
import PlenumMeetings
import PlenumSIP

/// The meetings of one media loop (issue 6): each is a conference under its voice-bridge number, which
/// phones dial and browsers join through join URLs. Keeps who is in a meeting and with which role, ends
/// meetings (API, moderator, duration, emptiness) by hanging up every leg and telling every browser.
/// Loop-confined, like the conferences it drives; the API reaches it through `MediaLoop.execute`.
public final class MeetingManager: MediaLoopHook {
    public let registry: MeetingRegistry
    public let roles: RoleBook
    let context: MediaLoopContext
    let logger: Logger
    private var clock: UInt64 = 0
    private var emptySince: [String: UInt64] = [:]
    /// The waiting room of each meeting (guest policy ASK_MODERATOR): browsers and phones alike.
    private var waiting: [String: [WaitingGuest]] = [:]
    private var nextGuestID = 1

    /// Someone waiting to be let in; `decide` lets them in (true) or sends them away (false).
    struct WaitingGuest {
        let id: Int
        let name: String
        let kind: Attendee.Kind
        let call: UInt64?
        let connection: UInt64?
        let decide: (Bool) -> Void
    }
    /// A meeting nobody joined ends after this; one that emptied, after `emptyTimeout` (milliseconds).
    public var noShowTimeout: UInt64 = 5 * 60_000
    public var emptyTimeout: UInt64 = 60_000

    public init(roles: RoleBook, reservedNumbers: Set<String>, context: MediaLoopContext,
                logger: Logger = Logger(label: "plenum.meetings")) {
        registry = MeetingRegistry(reservedNumbers: reservedNumbers)
        self.roles = roles
        self.context = context
        self.logger = logger
    }

    public func beforeTick() {}

    public func afterTick() {
        clock &+= 20
        guard clock % 1000 == 0 else { return }
        let now = Date()
        for meeting in registry.meetings.values where !meeting.ended {
            let id = meeting.settings.meetingID
            if meeting.settings.duration > 0, meeting.hasUserJoined,
                now.timeIntervalSince1970 * 1000 > Double(meeting.startTime) + Double(meeting.settings.duration) * 60_000
            {
                end(id, reason: "duration over")
                continue
            }
            if meeting.attendees.isEmpty {
                let since = emptySince[id] ?? clock
                emptySince[id] = since
                let limit = meeting.hasUserJoined ? emptyTimeout : noShowTimeout
                if clock - since >= limit { end(id, reason: meeting.hasUserJoined ? "empty" : "nobody joined") }
            } else {
                emptySince[id] = nil
            }
        }
    }

    // MARK: API

    public enum Created: Sendable { case created(MeetingSnapshot), existing(MeetingSnapshot) }

    public func create(_ settings: MeetingSettings) -> Result<Created, APIError> {
        guard let sip = context.hook(SIPCallManager.self) else { return .failure(APIError("internalError", "no SIP manager")) }
        registry.reservedNumbers = Set(sip.rooms.rooms.keys).subtracting(registry.voiceBridgesInUse)
        switch registry.create(settings, now: Date()) {
        case .failure(let error): return .failure(error)
        case .success(.existing(let meeting)): return .success(.existing(snapshot(meeting)))
        case .success(.created(let meeting)):
            if sip.admission == nil {
                sip.admission = { [weak self] room, call, name in self?.admitPhone(room: room, call: call, name: name) ?? .admit }
                sip.admissionCancelled = { [weak self] room, call in self?.cancelPhone(room: room, call: call) }
            }
            sip.addMeetingRoom(RoomDirectory.Room(
                number: settings.voiceBridge, name: settings.name,
                maxParticipants: settings.maxParticipants > 0 ? settings.maxParticipants : nil))
            let conference = sip.conference(for: settings.voiceBridge)
            conference.mayUnmute = { [weak self, weak meeting] member in
                guard let self, let meeting else { return true }
                return self.mayUnmute(memberID: member.id, in: meeting)
            }
            let id = settings.meetingID
            conference.observers.append { [weak self, weak conference] event in
                guard let self, let conference else { return }
                self.observe(event, meetingID: id, conference: conference)
            }
            logger.info("meeting created", metadata: ["meeting": "\(id)", "voiceBridge": "\(settings.voiceBridge)"])
            return .success(.created(snapshot(meeting)))
        }
    }

    public func snapshot(of meetingID: String) -> MeetingSnapshot? {
        registry.meeting(meetingID).flatMap { $0.ended ? nil : snapshot($0) }
    }

    public var snapshots: [MeetingSnapshot] {
        registry.meetings.values.filter { !$0.ended }.sorted { $0.createTime < $1.createTime }.map(snapshot)
    }

    /// Ends a meeting: every phone hangs up, every browser is told and leaves, the number is freed, and
    /// everything the meeting held is forgotten.
    @discardableResult
    public func end(_ meetingID: String, reason: String) -> Bool {
        guard let meeting = registry.meeting(meetingID), !meeting.ended else { return false }
        meeting.end(forcibly: reason == "api" || reason == "moderator", now: Date())
        let number = meeting.settings.voiceBridge
        context.hook(WebRTCManager.self)?.endRoom(number, message: "the meeting has ended")
        if let conference = context.conferences[number] {
            for member in conference.members { conference.requestHangup(member.id) }
        }
        for guest in waiting.removeValue(forKey: meetingID) ?? [] { guest.decide(false) }
        context.hook(SIPCallManager.self)?.removeMeetingRoom(number)
        registry.forget(meetingID)
        emptySince[meetingID] = nil
        logger.info("meeting ended", metadata: ["meeting": "\(meetingID)", "reason": "\(reason)"])
        return true
    }

    // MARK: Participants

    public enum Refusal: Error, CustomStringConvertible {
        case noSuchMeeting, banned, full
        public var description: String {
            switch self {
            case .noSuchMeeting: "the meeting has ended"
            case .banned: "you were removed from this meeting"
            case .full: "the meeting is full"
            }
        }
    }

    /// Whether a browser with this grant may enter now (before its member exists).
    public func mayEnter(meetingID: String, userID: String) -> Result<Meeting, Refusal> {
        guard let meeting = registry.meeting(meetingID), !meeting.ended else { return .failure(.noSuchMeeting) }
        if meeting.banned.contains(userID) { return .failure(.banned) }
        if meeting.settings.maxParticipants > 0, meeting.attendees.count >= meeting.settings.maxParticipants {
            return .failure(.full)
        }
        return .success(meeting)
    }

    /// A browser's member is in the meeting's conference.
    public func entered(meetingID: String, userID: String, name: String, role: Role, memberID: Int, listenOnly: Bool) {
        guard let meeting = registry.meeting(meetingID) else { return }
        meeting.add(Attendee(userID: userID, fullName: name, role: role, kind: .browser, listenOnly: listenOnly,
                             memberID: memberID, joinedAt: Date()))
        emptySince[meetingID] = nil
        if meeting.settings.muteOnStart || (meeting.lock.disableMicrophone && !role.isModerator) {
            context.conferences[meeting.settings.voiceBridge]?.setMuted(memberID, true)
        }
    }

    public func meeting(voiceBridge: String) -> Meeting? { registry.meeting(voiceBridge: voiceBridge) }

    public func attendee(memberID: Int, in meeting: Meeting) -> Attendee? {
        meeting.attendees.first { $0.memberID == memberID }
    }

    func mayUnmute(memberID: Int, in meeting: Meeting) -> Bool {
        let role = attendee(memberID: memberID, in: meeting)?.role ?? .viewer
        guard role.may(.unmuteSelf) else { return false }
        return role.isModerator || !meeting.lock.disableMicrophone
    }

    /// Phones enter through the dialplan: they become attendees (viewers) as their member joins.
    private func observe(_ event: ConferenceEvent, meetingID: String, conference: Conference) {
        guard let meeting = registry.meeting(meetingID) else { return }
        switch event {
        case .memberJoined(let id):
            guard let member = conference.member(id), case .phone = member.kind else { return }
            meeting.add(Attendee(userID: "v_\(id)", fullName: member.name, role: .viewer, kind: .phone,
                                 listenOnly: false, memberID: id, joinedAt: Date()))
            if meeting.settings.muteOnStart || meeting.lock.disableMicrophone { conference.setMuted(id, true) }
        case .memberLeft(let id):
            meeting.attendees.removeAll { $0.memberID == id }
        case .renamed(let id, let name):
            if let index = meeting.attendees.firstIndex(where: { $0.memberID == id }) { meeting.attendees[index].fullName = name }
        default:
            break
        }
    }

    /// A moderator changed someone's role.
    public func setRole(_ role: Role, memberID: Int, in meeting: Meeting) {
        guard let index = meeting.attendees.firstIndex(where: { $0.memberID == memberID }) else { return }
        meeting.attendees[index].role = role
    }

    // MARK: The waiting room

    /// The guest policy for a phone caller (phones have no role: they all follow it).
    func admitPhone(room: String, call: UInt64, name: String) -> SIPCallManager.Admission {
        guard let meeting = registry.meeting(voiceBridge: room), !meeting.ended else { return .admit }
        switch meeting.settings.guestPolicy {
        case .alwaysAccept: return .admit
        case .alwaysDeny: return .deny
        case .askModerator:
            enqueue(meeting.settings.meetingID, name: name, kind: .phone, call: call, connection: nil) { [weak self] allow in
                self?.context.hook(SIPCallManager.self)?.decide(call: call, admit: allow)
            }
            return .wait
        }
    }

    func cancelPhone(room: String, call: UInt64) {
        guard let meeting = registry.meeting(voiceBridge: room) else { return }
        let id = meeting.settings.meetingID
        waiting[id]?.removeAll { $0.call == call }
        announceGuests(id)
    }

    /// Whether a browser must wait (ASK_MODERATOR, not a moderator, not let in before).
    public func mustWait(_ meeting: Meeting, userID: String, role: Role) -> Bool {
        meeting.settings.guestPolicy == .askModerator && !role.isModerator && !meeting.admitted.contains(userID)
    }

    func enqueue(_ meetingID: String, name: String, kind: Attendee.Kind, call: UInt64?, connection: UInt64?,
                 decide: @escaping (Bool) -> Void) {
        let guest = WaitingGuest(id: nextGuestID, name: name, kind: kind, call: call, connection: connection, decide: decide)
        nextGuestID += 1
        waiting[meetingID, default: []].append(guest)
        logger.info("guest waits", metadata: ["meeting": "\(meetingID)", "guest": "\(guest.id)", "kind": "\(kind)"])
        announceGuests(meetingID)
    }

    /// A waiting browser closed its socket.
    public func cancelGuest(connection: UInt64) {
        for (meetingID, guests) in waiting where guests.contains(where: { $0.connection == connection }) {
            waiting[meetingID]?.removeAll { $0.connection == connection }
            announceGuests(meetingID)
        }
    }

    /// A moderator's decision.
    public func decide(meetingID: String, guestID: Int, admit: Bool) -> Bool {
        guard let index = waiting[meetingID]?.firstIndex(where: { $0.id == guestID }), let guest = waiting[meetingID]?.remove(at: index)
        else { return false }
        logger.info("guest decided", metadata: ["meeting": "\(meetingID)", "guest": "\(guestID)", "admitted": "\(admit)"])
        announceGuests(meetingID)
        guest.decide(admit)
        return true
    }

    public func guests(of meetingID: String) -> [(id: Int, name: String, kind: String)] {
        (waiting[meetingID] ?? []).map { ($0.id, $0.name, $0.kind.rawValue) }
    }

    private func announceGuests(_ meetingID: String) {
        guard let meeting = registry.meeting(meetingID) else { return }
        context.hook(WebRTCManager.self)?.sendGuests(guests(of: meetingID), room: meeting.settings.voiceBridge)
    }

    // MARK: Snapshots for the API (rendered off the loop)

    func snapshot(_ meeting: Meeting) -> MeetingSnapshot {
        let conference = context.conferences[meeting.settings.voiceBridge]
        let attendees = meeting.attendees.map { attendee -> MeetingSnapshot.AttendeeInfo in
            let member = attendee.memberID.flatMap { conference?.member($0) }
            return .init(userID: attendee.userID, fullName: attendee.fullName, role: attendee.role.isModerator ? "MODERATOR" : "VIEWER",
                         customRole: attendee.role.name, kind: attendee.kind, listenOnly: attendee.listenOnly,
                         hasJoinedVoice: member != nil && !attendee.listenOnly, muted: member?.flags.muted ?? false)
        }
        return MeetingSnapshot(settings: meeting.settings, internalID: meeting.internalID, createTime: meeting.createTime,
                               startTime: meeting.startTime, endTime: meeting.endTime, running: meeting.running,
                               hasUserJoined: meeting.hasUserJoined, forciblyEnded: meeting.forciblyEnded,
                               attendees: attendees)
    }
}
