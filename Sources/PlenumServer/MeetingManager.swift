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
        for (parentID, session) in breakouts {
            if !session.warned, clock + 60_000 >= session.endsAt, session.endsAt > session.startedAt + 90_000 {
                session.warned = true  // a minute before the end (rooms shorter than 90 s get no warning)
                for room in session.rooms { context.conferences[room.voiceBridge]?.play("conf-breakout-ending-soon") }
            }
            if clock >= session.endsAt { endBreakouts(parentID) }
        }
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
            if meeting.settings.parentMeetingID != nil { continue }  // breakouts end with their session
            if breakouts[id] != nil { emptySince[id] = nil; continue }  // everybody may be in the rooms
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
        guard let rooms = context.hook(Rooms.self) else { return .failure(APIError("internalError", "no rooms")) }
        registry.isReserved = { [weak rooms] number in
            guard let rooms else { return false }
            return rooms.room(number) != nil && !rooms.isMeetingRoom(number)
        }
        switch registry.create(settings, now: Date()) {
        case .failure(let error): return .failure(error)
        case .success(.existing(let meeting)): return .success(.existing(snapshot(meeting)))
        case .success(.created(let meeting)):
            // Phones, when SIP is on, wait in the same waiting room as browsers.
            if let sip = context.hook(SIPCallManager.self), sip.admission == nil {
                sip.admission = { [weak self] room, call, name in self?.admitPhone(room: room, call: call, name: name) ?? .admit }
                sip.admissionCancelled = { [weak self] room, call in self?.cancelPhone(room: room, call: call) }
            }
            open(meeting, rooms: rooms)
            let id = settings.meetingID
            logger.info("meeting created", metadata: ["meeting": "\(id)", "voiceBridge": "\(settings.voiceBridge)"])
            return .success(.created(snapshot(meeting)))
        }
    }

    /// The meeting's conference under its voice bridge, for phones (a SIP room) and browsers, with the
    /// meeting's unmute rule and its attendee bookkeeping.
    private func open(_ meeting: Meeting, rooms: Rooms) {
        let settings = meeting.settings
        rooms.addMeetingRoom(RoomDirectory.Room(
            number: settings.voiceBridge, name: settings.name,
            maxParticipants: settings.maxParticipants > 0 ? settings.maxParticipants : nil))
        let conference = rooms.conference(for: settings.voiceBridge, language: settings.language)
        conference.mayUnmute = { [weak self, weak meeting] member in
            guard let self, let meeting else { return true }
            return self.mayUnmute(memberID: member.id, in: meeting)
        }
        let id = settings.meetingID
        conference.observers.append { [weak self, weak conference] event in
            guard let self, let conference else { return }
            self.observe(event, meetingID: id, conference: conference)
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
        // One breakout room ended (by the API) while its parent runs: its people go back, nobody is hung up.
        if let parentID = meeting.settings.parentMeetingID, let session = breakouts[parentID],
            let index = session.rooms.firstIndex(where: { $0.meetingID == meetingID }), let parent = registry.meeting(parentID)
        {
            let room = session.rooms.remove(at: index)
            for member in context.conferences[room.voiceBridge]?.members ?? [] {
                move(member.id, from: room.voiceBridge, to: parent.settings.voiceBridge, prompt: "conf-breakout-returning")
            }
            discard(room)
            if session.rooms.isEmpty { breakouts[parentID] = nil }
            announceBreakouts(parentID)
            logger.info("breakout room ended", metadata: ["meeting": "\(meetingID)", "reason": "\(reason)"])
            return true
        }
        // A parent's breakout rooms end with it: everybody in them is hung up or told too.
        if let session = breakouts.removeValue(forKey: meetingID) {
            for room in session.rooms { end(room.meetingID, reason: reason) }
        }
        meeting.end(forcibly: reason == "api" || reason == "moderator", now: Date())
        let number = meeting.settings.voiceBridge
        context.hook(WebRTCManager.self)?.endRoom(number, message: "the meeting has ended")
        if let conference = context.conferences[number] {
            for member in conference.members { conference.requestHangup(member.id) }
        }
        for guest in waiting.removeValue(forKey: meetingID) ?? [] { guest.decide(false) }
        context.hook(Rooms.self)?.removeMeetingRoom(number)
        context.conferences[number] = nil
        registry.forget(meetingID)
        emptySince[meetingID] = nil
        logger.info("meeting ended", metadata: ["meeting": "\(meetingID)", "reason": "\(reason)"])
        return true
    }

    // MARK: Participants

    public enum Refusal: Error, CustomStringConvertible {
        case noSuchMeeting, banned, full
        public var signalError: SignalError {
            switch self {
            case .noSuchMeeting: .meetingEnded
            case .banned: .removed
            case .full: .meetingFull
            }
        }
        public var description: String { signalError.message }
    }

    /// Whether a browser with this grant may enter now (before its member exists): only the meeting
    /// instance the grant was issued for, through its own voice bridge (a grant from an ended meeting
    /// never enters a later one under the same ID or number).
    public func mayEnter(_ grant: (meetingID: String, instance: String?, room: String), userID: String) -> Result<Meeting, Refusal> {
        guard let meeting = registry.meeting(grant.meetingID), !meeting.ended, grant.instance == meeting.instance,
            grant.room == meeting.settings.voiceBridge
        else { return .failure(.noSuchMeeting) }
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
            if moving?.id == id {
                if let attendee = moving?.attendee { meeting.add(attendee) }  // the same attendee, here now
                return
            }
            guard let member = conference.member(id), case .phone = member.kind else { return }
            meeting.add(Attendee(userID: "v_\(id)", fullName: member.name, role: .viewer, kind: .phone,
                                 listenOnly: false, memberID: id, joinedAt: Date()))
            if meeting.settings.muteOnStart || meeting.lock.disableMicrophone { conference.setMuted(id, true) }
        case .memberLeft(let id):
            if moving?.id == id { moving?.attendee = meeting.attendees.first { $0.memberID == id } }
            meeting.attendees.removeAll { $0.memberID == id }
        case .helpRequested(let id):
            // The moderators of the whole meeting hear of it, wherever they are (main room or a breakout).
            let who = conference.member(id)?.name ?? ""
            context.hook(WebRTCManager.self)?.send(
                Signal.help(name: who, room: meeting.settings.name, sequence: meeting.settings.sequence),
                toRooms: allRooms(of: meeting.settings.parentMeetingID ?? meetingID), permission: .manageBreakouts)
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

    // MARK: Breakout rooms (issue 7)

    /// The breakout rooms of one parent meeting while they run.
    final class BreakoutSession {
        struct Room {
            let meetingID: String
            let voiceBridge: String
            let name: String
            let sequence: Int
        }
        let parentID: String
        var rooms: [Room]
        /// Participants may pick a room themselves.
        let freeJoin: Bool
        let startedAt: UInt64
        var endsAt: UInt64
        var warned = false
        init(parentID: String, rooms: [Room], freeJoin: Bool, startedAt: UInt64, endsAt: UInt64) {
            self.parentID = parentID
            self.rooms = rooms
            self.freeJoin = freeJoin
            self.startedAt = startedAt
            self.endsAt = endsAt
        }
    }
    private var breakouts: [String: BreakoutSession] = [:]

    public struct BreakoutPlan: Sendable {
        public var name: String
        public var members: [Int]
        public init(name: String, members: [Int]) {
            self.name = name
            self.members = members
        }
    }

    /// Opens 1–16 breakout rooms of `parentID` for `seconds` and moves the planned members there. Each
    /// room is a meeting of its own (API: isBreakout, parentMeetingID, sequence) on this loop, so a
    /// move is a transfer between conferences: no new connection, no lock.
    public func startBreakouts(_ parentID: String, rooms plans: [BreakoutPlan], seconds: Int, freeJoin: Bool = false)
        -> Result<Void, APIError>
    {
        guard let parent = registry.meeting(parentID), !parent.ended, parent.settings.parentMeetingID == nil,
            let loopRooms = context.hook(Rooms.self)
        else { return .failure(APIError("notFound", "no such meeting")) }
        guard breakouts[parentID] == nil else { return .failure(APIError("breakoutsRunning", "breakout rooms are already open")) }
        guard (1...16).contains(plans.count) else { return .failure(APIError("breakoutCount", "1 to 16 breakout rooms")) }
        guard (5...24 * 3600).contains(seconds) else { return .failure(APIError("breakoutDuration", "5 s to 24 h")) }
        var rooms: [BreakoutSession.Room] = []
        for (index, plan) in plans.enumerated() {
            let name = DisplayName.clean(plan.name) ?? ""
            var settings = MeetingSettings.breakout(of: parent.settings, sequence: index + 1, name: name.isEmpty ? "Room \(index + 1)" : name)
            settings.lock = parent.lock
            guard case .success(.created(let meeting)) = registry.create(settings, now: Date()) else {
                for room in rooms { discard(room) }
                return .failure(BigBlueButtonAPI.Errors.nonUniqueVoiceBridge)
            }
            open(meeting, rooms: loopRooms)
            rooms.append(.init(meetingID: settings.meetingID, voiceBridge: settings.voiceBridge, name: settings.name, sequence: index + 1))
        }
        let session = BreakoutSession(
            parentID: parentID, rooms: rooms, freeJoin: freeJoin, startedAt: clock, endsAt: clock + UInt64(seconds) * 1000)
        breakouts[parentID] = session
        for (room, plan) in zip(rooms, plans) {
            for memberID in plan.members { move(memberID, from: parent.settings.voiceBridge, to: room.voiceBridge, prompt: "conf-breakout-moving") }
        }
        logger.info("breakout rooms opened", metadata: ["meeting": "\(parentID)", "rooms": "\(rooms.count)", "seconds": "\(seconds)"])
        announceBreakouts(parentID)
        return .success(())
    }

    public func extendBreakouts(_ parentID: String, seconds: Int) -> Bool {
        guard let session = breakouts[parentID], (1...24 * 3600).contains(seconds) else { return false }
        session.endsAt += UInt64(seconds) * 1000
        session.warned = false
        announceBreakouts(parentID)
        return true
    }

    /// Everybody back to the main room, and the rooms closed.
    @discardableResult
    public func endBreakouts(_ parentID: String) -> Bool {
        guard let session = breakouts.removeValue(forKey: parentID), let parent = registry.meeting(parentID) else { return false }
        for room in session.rooms {
            for member in context.conferences[room.voiceBridge]?.members ?? [] {
                move(member.id, from: room.voiceBridge, to: parent.settings.voiceBridge, prompt: "conf-breakout-returning")
            }
            discard(room)
        }
        logger.info("breakout rooms closed", metadata: ["meeting": "\(parentID)"])
        announceBreakouts(parentID)
        return true
    }

    /// A moderator visits a room (sequence 1–16) or comes back to the main room (0).
    public func visit(memberID: Int, parentID: String, sequence: Int) -> Bool {
        guard let session = breakouts[parentID], let parent = registry.meeting(parentID) else { return false }
        let target = sequence == 0 ? parent.settings.voiceBridge : session.rooms.first { $0.sequence == sequence }?.voiceBridge
        guard let target, let from = room(of: memberID, parent: parent, session: session), from != target else { return false }
        move(memberID, from: from, to: target, prompt: nil)
        return true
    }

    private func room(of memberID: Int, parent: Meeting, session: BreakoutSession) -> String? {
        ([parent.settings.voiceBridge] + session.rooms.map(\.voiceBridge)).first { context.conferences[$0]?.member(memberID) != nil }
    }

    private func discard(_ room: BreakoutSession.Room) {
        context.hook(Rooms.self)?.removeMeetingRoom(room.voiceBridge)
        context.conferences[room.voiceBridge] = nil
        context.hook(WebRTCManager.self)?.forgetRoom(room.voiceBridge)
        registry.forget(room.meetingID)
    }

    /// Moves a member between two conferences of this loop and tells its leg's owner.
    private func move(_ memberID: Int, from: String, to: String, prompt: String?) {
        guard let source = context.conferences[from], let rooms = context.hook(Rooms.self) else { return }
        let destination = rooms.conference(for: to)
        let sip = context.hook(SIPCallManager.self)
        guard source.member(memberID) != nil else { return }
        // The attendee goes along: the source meeting's observer hands it over on memberLeft, the
        // destination's takes it on memberJoined (both inside the transfer).
        moving = (memberID, nil)
        defer { moving = nil }
        guard (try? source.transfer(memberID, to: destination)) != nil else { return }
        sip?.moved(memberID: memberID, to: to)
        context.hook(WebRTCManager.self)?.moved(memberID: memberID, to: to, breakout: breakoutInfo(room: to))
        if let prompt, sip?.isPhone(memberID: memberID) == true { destination.play(prompt, to: memberID) }
    }

    /// The member being moved, and its attendee record on the way between two meetings.
    private var moving: (id: Int, attendee: Attendee?)?

    /// What a browser in `room` is told about its breakout: name, sequence and end (epoch ms).
    func breakoutInfo(room: String) -> (name: String, sequence: Int, endsAt: Int64)? {
        for session in breakouts.values {
            guard let r = session.rooms.first(where: { $0.voiceBridge == room }) else { continue }
            let remaining = Int64(session.endsAt) - Int64(clock)
            return (r.name, r.sequence, Int64(Date().timeIntervalSince1970 * 1000) + remaining)
        }
        return nil
    }

    /// The parent's moderators see the rooms, who is where, and the time left.
    private func announceBreakouts(_ parentID: String) {
        guard let parent = registry.meeting(parentID), let webrtc = context.hook(WebRTCManager.self) else { return }
        let session = breakouts[parentID]
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let rooms: [[String: Any]] = session?.rooms.map { room in
            ["sequence": room.sequence, "name": room.name, "voiceBridge": room.voiceBridge,
             "members": context.conferences[room.voiceBridge]?.members.map(\.id) ?? []]
        } ?? []
        var state: [String: Any] = ["type": "breakouts", "active": session != nil, "rooms": rooms, "freeJoin": session?.freeJoin ?? false]
        if let session { state["endsAt"] = now + Int64(session.endsAt) - Int64(clock) }
        let message = Signal.encode(state)
        webrtc.send(message, toRooms: allRooms(of: parentID), permission: .manageBreakouts)
        if session?.freeJoin == true || session == nil {
            // With free join everybody in the main room sees the rooms to pick one (and when they close).
            webrtc.send(message, toRooms: [parent.settings.voiceBridge], except: .manageBreakouts)
        }
        // Everybody in a room learns of extensions (their countdown).
        if let session {
            for room in session.rooms { webrtc.updateBreakout(room: room.voiceBridge, info: breakoutInfo(room: room.voiceBridge)) }
        }
    }

    public func breakoutRooms(of parentID: String) -> [String]? { breakouts[parentID]?.rooms.map(\.voiceBridge) }
    public func freeJoin(_ parentID: String) -> Bool { breakouts[parentID]?.freeJoin ?? false }

    /// A meeting's main room and its open breakout rooms (their voice bridges).
    private func allRooms(of parentID: String) -> Set<String> {
        guard let parent = registry.meeting(parentID) else { return [] }
        return Set([parent.settings.voiceBridge] + (breakouts[parentID]?.rooms.map(\.voiceBridge) ?? []))
    }

    /// The breakout session a meeting (parent or room) belongs to.
    public func breakoutParent(of meetingID: String) -> String? {
        if breakouts[meetingID] != nil { return meetingID }
        return registry.meeting(meetingID)?.settings.parentMeetingID
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
                         kind: attendee.kind, listenOnly: attendee.listenOnly, hasJoinedVoice: member != nil && !attendee.listenOnly)
        }
        var snapshot = MeetingSnapshot(
            settings: meeting.settings, internalID: meeting.internalID, createTime: meeting.createTime,
            startTime: meeting.startTime, endTime: meeting.endTime, running: meeting.running,
            hasUserJoined: meeting.hasUserJoined, forciblyEnded: meeting.forciblyEnded, attendees: attendees)
        snapshot.breakoutRooms = breakouts[meeting.settings.meetingID]?.rooms.map(\.meetingID) ?? []
        snapshot.instance = meeting.instance
        return snapshot
    }
}
