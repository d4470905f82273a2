import CPlenumDTLS
import Foundation
import Logging
import PlenumBridge
import PlenumICE
import PlenumMedia
import PlenumMeetings
import PlenumSDP
import PlenumSIP
import PlenumWebRTC

/// The browsers of one media loop: their sessions on the shared WebRTC port and the event feeds of
/// their WebSockets. Loop-confined; the signalling server reaches it through `MediaLoop.execute`.
///
/// A browser whose WebSocket drops (a network change kills TCP) stays in its room for
/// `resumeWindow`: a new WebSocket can `resume` the session with its secret and an ICE-restart offer,
/// so the participant comes back without leaving and re-joining.
public final class WebRTCManager: MediaLoopHook {
    public let port: WebRTCPort
    let context: MediaLoopContext
    let logger: Logger
    private var sessions: [UInt64: Browser] = [:]
    private var nextID: UInt64 = 1
    /// The conference whose events go to the browsers, by room. By identity, not by name: a room's
    /// conference is replaced when the last phone leaves it empty, and the new one must be watched too
    /// (issue 12: after Leave and Join in the same tab the participant list no longer changed).
    private var watchedConferences: [String: WeakConference] = [:]

    private struct WeakConference {
        weak var conference: Conference?
    }
    private var clock: UInt64 = 0
    /// Each room's chat, kept while browsers are in it (and gone with the last one, or the meeting).
    private var chats: [String: ChatLog] = [:]
    private var chatRate = RateLimiter<Int>(burst: 5, perSecond: 1)
    /// Milliseconds a detached browser keeps its place.
    public static let resumeWindow: UInt64 = 30_000

    final class Browser {
        let id: UInt64
        let session: WebRTCSession
        /// The room it is in: its meeting's, or a breakout room's while it is there.
        var room: String
        let member: Member
        let resumeSecret: String
        var feed: AsyncStream<String>.Continuation?
        /// From a meeting's join URL (nil in a configured room, where everybody is a viewer).
        let meetingID: String?
        let userID: String
        var role: Role
        /// The WebSocket that currently speaks for the browser (a stale one, still closing after a
        /// resume, must not detach or end it).
        var connection: UInt64
        var detachedAt: UInt64?
        init(id: UInt64, session: WebRTCSession, room: String, member: Member, feed: AsyncStream<String>.Continuation,
             connection: UInt64, meetingID: String?, userID: String, role: Role) {
            self.id = id
            self.meetingID = meetingID
            self.userID = userID
            self.role = role
            self.connection = connection
            self.session = session
            self.room = room
            self.member = member
            self.feed = feed
            resumeSecret = AccessTokens.randomText(18)
        }
    }

    public init(port: WebRTCPort, context: MediaLoopContext, logger: Logger = Logger(label: "plenum.webrtc")) {
        self.logger = logger
        self.port = port
        self.context = context
    }

    public func beforeTick() {
        clock &+= 20
        port.drain(now: clock)
    }

    public func afterTick() {
        for browser in sessions.values {
            if let failure = browser.session.failure {
                browser.feed?.yield(Signal.error(.connectionFailed(failure)))
                leave(browser.id, reason: "failure")
            } else if browser.session.ice.consentExpired(now: clock) {
                browser.feed?.yield(Signal.error(.connectionLost))
                leave(browser.id, reason: "no consent")
            } else if let detached = browser.detachedAt, clock > detached + Self.resumeWindow {
                leave(browser.id, reason: "not resumed")
            }
        }
    }

    /// Whether `room` is a configured room and `pin` opens it (for the join page's token). A meeting's
    /// voice bridge is no such room: a meeting is entered only through its join URL, which applies its
    /// guest policy, its removals and its roles; answering for it would also tell who meets.
    public func admits(room: String, pin: String?) -> Result<String, SignalError> {
        guard let rooms = context.hook(Rooms.self), !rooms.isMeetingRoom(room), let entry = rooms.room(room) else {
            return .failure(.noSuchRoom)
        }
        if let expected = entry.pin, expected != pin { return .failure(.wrongPIN) }
        return .success(entry.name ?? room)
    }

    /// A browser's offer for the room its token grants: its session, its member, and our answer, which
    /// is queued into `feed` here, on the loop, so it precedes any event about the room (another browser
    /// joining right after must not overtake it).
    public enum Joined: Sendable {
        case joined(id: UInt64, memberID: MemberID)
        /// In the meeting's waiting room: the answer comes when a moderator lets the browser in.
        case waiting
    }

    public func join(grant: AccessGrant, name: String, offerSDP: String, feed: AsyncStream<String>.Continuation,
                     connection: UInt64) -> Result<Joined, SignalError>
    {
        join(grant: grant, name: name, offerSDP: offerSDP, feed: feed, connection: connection, admitted: false)
    }

    private func join(grant: AccessGrant, name: String, offerSDP: String, feed: AsyncStream<String>.Continuation,
                      connection: UInt64, admitted: Bool) -> Result<Joined, SignalError>
    {
        let room = grant.room
        guard let rooms = context.hook(Rooms.self), let entry = rooms.room(room) else { return .failure(.noSuchRoom) }
        // A grant without a meeting (from the join page) enters configured rooms only.
        if grant.meeting == nil, rooms.isMeetingRoom(room) { return .failure(.noSuchRoom) }
        var role = Role.viewer
        var meeting: Meeting?
        let userID = grant.user ?? "browser-\(nextID)"
        if let meetingID = grant.meeting {
            guard let meetings = context.hook(MeetingManager.self) else { return .failure(.noSuchRoom) }
            switch meetings.mayEnter((meetingID, grant.instance, room), userID: userID) {
            case .failure(let refusal): return .failure(refusal.signalError)
            case .success(let m): meeting = m
            }
            role = grant.role.flatMap { meetings.roles.role(named: $0) } ?? .viewer
            if let m = meeting, m.settings.guestPolicy == .alwaysDeny, !role.isModerator {
                return .failure(.guestsNotAdmitted)
            }
            if let m = meeting, !admitted, meetings.mustWait(m, userID: userID, role: role) {
                let displayName = DisplayName.clean(grant.name ?? name) ?? "Guest"
                meetings.enqueue(m.settings.meetingID, name: displayName, kind: .browser, call: nil, connection: connection) {
                    [weak self, weak m] allow in
                    guard let self else { return }
                    guard allow, let m else {
                        feed.yield(Signal.denied())
                        return
                    }
                    m.admitted.insert(userID)
                    if case .failure(let error) = self.join(
                        grant: grant, name: name, offerSDP: offerSDP, feed: feed, connection: connection, admitted: true)
                    {
                        feed.yield(Signal.error(error, request: "join"))
                    }
                }
                feed.yield(Signal.waiting())
                return .success(.waiting)
            }
        }
        let conference = rooms.conference(for: room)
        if entry.locked == true || conference.members.count >= (entry.maxParticipants ?? .max) { return .failure(.roomFull) }
        let session: WebRTCSession
        let offer: AudioOffer
        do {
            offer = try AudioOffer(parsing: offerSDP)
            session = try WebRTCSession(offer: offer, context: port.context, socket: port.sockets[0], now: clock)
        } catch {
            logger.notice("offer refused", metadata: ["room": "\(room)", "why": "\(error)"])
            return .failure(.badOffer)
        }
        guard let member = try? conference.join(
            name: DisplayName.clean(grant.name ?? name) ?? "Guest", input: .opus, kind: .browser, sink: session.leg)
        else { return .failure(.badOffer) }
        session.leg.member = member
        port.add(session)
        let id = nextID
        nextID += 1
        let listenOnly = offer.direction == .recvonly
        let browser = Browser(id: id, session: session, room: room, member: member, feed: feed, connection: connection,
                              meetingID: meeting?.settings.meetingID, userID: userID, role: role)
        sessions[id] = browser
        watch(conference)
        if let meeting {
            context.hook(MeetingManager.self)?.entered(
                meetingID: meeting.settings.meetingID, userID: userID, name: member.name, role: role, memberID: member.id,
                listenOnly: listenOnly)
        }
        sendAnswer(browser)
        if role.may(.admitGuests), let meeting, let meetings = context.hook(MeetingManager.self) {
            feed.yield(Signal.guests(meetings.guests(of: meeting.settings.meetingID)))
        }
        return .success(.joined(id: id, memberID: member.id))
    }

    /// The session a socket speaks for (a guest's socket learns it once a moderator let it in).
    public func session(forConnection connection: UInt64) -> (id: UInt64, room: String)? {
        sessions.values.first { $0.connection == connection }.map { ($0.id, $0.room) }
    }

    /// The waiting room changed: every browser in the room that may admit guests is told.
    public func sendGuests(_ guests: [(id: Int, name: String, kind: String)], room: String) {
        let message = Signal.guests(guests)
        for browser in sessions.values where browser.room == room && browser.role.may(.admitGuests) { browser.feed?.yield(message) }
    }

    private func sendAnswer(_ browser: Browser, restart: Bool = false) {
        let sdp = browser.session.answer(addresses: port.addresses, fingerprint: port.context.fingerprint, sessionID: browser.id)
        browser.feed?.yield(Signal.answer(
            sdp: sdp, memberID: browser.member.id, session: "\(browser.id).\(browser.resumeSecret)", restart: restart,
            role: browser.role, roomName: context.hook(Rooms.self)?.room(browser.room)?.name ?? browser.room,
            welcome: browser.meetingID.flatMap { context.hook(MeetingManager.self)?.registry.meeting($0)?.welcomeText } ?? "",
            participants: participants(of: browser.room), chat: chats[browser.room]?.visible(to: browser.member.id) ?? [],
            lock: browser.meetingID.flatMap { context.hook(MeetingManager.self)?.registry.meeting($0)?.lock }))
    }

    /// An ICE restart offer from the joined browser `id`: the answer goes into its feed.
    public func restart(_ id: UInt64, offerSDP: String) -> Result<Void, SignalError> {
        guard let browser = sessions[id] else { return .failure(.sessionExpired) }
        let previous = browser.session.ice.local.usernameFragment
        do {
            try browser.session.restartICE(offer: AudioOffer(parsing: offerSDP), now: clock)
        } catch {
            logger.notice("restart offer refused", metadata: ["room": "\(browser.room)", "why": "\(error)"])
            return .failure(.badOffer)
        }
        port.reindex(browser.session, previousFragment: previous)
        logger.info("ICE restart", metadata: ["room": "\(browser.room)", "member": "\(browser.member.id)"])
        sendAnswer(browser, restart: true)
        return .success(())
    }

    /// The WebSocket of `id` closed without `leave`: keep the participant for `resumeWindow`.
    public func detach(_ id: UInt64, connection: UInt64) {
        guard let browser = sessions[id], browser.connection == connection else { return }
        browser.feed?.finish()
        browser.feed = nil
        browser.detachedAt = clock
    }

    /// A new WebSocket takes over session `token` ("id.secret") with an ICE-restart offer.
    public func resume(_ token: String, offerSDP: String, feed: AsyncStream<String>.Continuation, connection: UInt64)
        -> Result<(id: UInt64, room: String), SignalError>
    {
        let parts = token.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let id = UInt64(parts[0]), let browser = sessions[id],
            plenum_secrets_equal(Array(browser.resumeSecret.utf8), browser.resumeSecret.utf8.count, Array(parts[1].utf8), parts[1].utf8.count) == 1
        else { return .failure(.sessionExpired) }
        browser.feed?.finish()
        browser.feed = feed
        browser.connection = connection
        browser.detachedAt = nil
        switch restart(id, offerSDP: offerSDP) {
        case .success: return .success((id, browser.room))
        case .failure(let error): return .failure(error)
        }
    }

    // MARK: Moderation (issue 6): every action is checked against the sender's role in its own room

    public enum Action: Sendable {
        case mute(target: Int?, muted: Bool)
        case muteAll(muted: Bool)
        case remove(target: Int)
        case rename(target: Int, name: String)
        case setRole(target: Int, moderator: Bool)
        case endMeeting
        case hand(target: Int?, raised: Bool)
        case lock(microphone: Bool?, publicChat: Bool?, privateChat: Bool?)
        case chat(text: String, to: Int?)
        case deleteChat(messageID: Int)
        case admit(guest: Int, allow: Bool)
        case startBreakouts(rooms: [MeetingManager.BreakoutPlan], seconds: Int, freeJoin: Bool)
        case extendBreakouts(seconds: Int)
        case endBreakouts
        case visitBreakout(sequence: Int)
        case askForHelp
        case messageBreakouts(text: String)
        case chooseBreakout(sequence: Int)
    }

    /// Carries out `action` for browser `id` if its role allows it; the refusal's text otherwise.
    public func perform(_ id: UInt64, _ action: Action) -> Result<Void, SignalError> {
        guard let browser = sessions[id], let conference = context.conferences[browser.room] else { return .failure(.sessionExpired) }
        let meetings = context.hook(MeetingManager.self)
        let meeting = browser.meetingID.flatMap { meetings?.registry.meeting($0) }
        let role = browser.role
        func refuse(_ why: SignalError) -> Result<Void, SignalError> {
            logger.notice("action refused", metadata: ["room": "\(browser.room)", "member": "\(browser.member.id)", "why": "\(why.code.rawValue)"])
            return .failure(why)
        }
        /// A member of this room only: ids from other rooms and meetings are refused.
        func target(_ memberID: Int) -> Member? { conference.member(memberID) }
        switch action {
        case .mute(let targetID, let muted):
            let memberID = targetID ?? browser.member.id
            guard target(memberID) != nil else { return refuse(.noSuchParticipant) }
            if memberID == browser.member.id {
                if !muted {
                    guard role.may(.unmuteSelf) else { return refuse(.notAllowed("unmute")) }
                    if let meeting, meeting.lock.disableMicrophone, !role.isModerator { return refuse(.microphonesLocked) }
                }
            } else {
                guard role.may(.muteOthers) else { return refuse(.notAllowed("mute others")) }
                if !muted, !role.may(.unmuteOthers) { return refuse(.onlySelfUnmute) }
            }
            conference.setMuted(memberID, muted)
        case .muteAll(let muted):
            guard role.may(.muteOthers) else { return refuse(.notAllowed("mute others")) }
            if !muted, !role.may(.unmuteOthers) { return refuse(.onlySelfUnmute) }
            for member in conference.members where member.id != browser.member.id {
                let isModerator = meeting.flatMap { meetings?.attendee(memberID: member.id, in: $0) }?.role.isModerator ?? false
                if !isModerator { conference.setMuted(member.id, muted) }
            }
        case .remove(let targetID):
            guard role.may(.remove) else { return refuse(.notAllowed("remove participants")) }
            guard target(targetID) != nil, targetID != browser.member.id else { return refuse(.noSuchParticipant) }
            if let other = sessions.values.first(where: { $0.room == browser.room && $0.member.id == targetID }) {
                if let meeting { meeting.banned.insert(other.userID) }
                other.feed?.yield(Signal.removed())
                leave(other.id, reason: "removed")
            } else {
                conference.requestHangup(targetID)
            }
        case .rename(let targetID, let name):
            guard role.may(.rename) else { return refuse(.notAllowed("rename participants")) }
            guard let clean = DisplayName.clean(name) else { return refuse(.nameRequired) }
            guard target(targetID) != nil else { return refuse(.noSuchParticipant) }
            conference.rename(targetID, to: clean)
        case .setRole(let targetID, let moderator):
            guard role.may(.promote) else { return refuse(.notAllowed("change roles")) }
            guard let meeting, let meetings, target(targetID) != nil else { return refuse(.noSuchParticipant) }
            let newRole: Role = moderator ? meetings.roles.moderator : .viewer
            meetings.setRole(newRole, memberID: targetID, in: meeting)
            if let other = sessions.values.first(where: { $0.room == browser.room && $0.member.id == targetID }) {
                other.role = newRole
                other.feed?.yield(Signal.you(role: newRole))
            }
            broadcast(Signal.roleChanged(id: targetID, role: newRole.name), room: browser.room)
        case .endMeeting:
            guard role.may(.endMeeting) else { return refuse(.notAllowed("end the meeting")) }
            guard let meeting, let meetings else { return refuse(.notAMeeting) }
            meetings.end(meeting.settings.meetingID, reason: "moderator")
        case .hand(let targetID, let raised):
            let memberID = targetID ?? browser.member.id
            guard target(memberID) != nil else { return refuse(.noSuchParticipant) }
            if memberID != browser.member.id {
                guard !raised, role.may(.muteOthers) else { return refuse(.notAllowed("lower others' hands")) }
            }
            conference.setHandRaised(memberID, raised)
        case .lock(let microphone, let publicChat, let privateChat):
            guard role.may(.lockSettings) else { return refuse(.notAllowed("change lock settings")) }
            guard let meeting, let meetings else { return refuse(.notAMeeting) }
            if let microphone { meeting.lock.disableMicrophone = microphone }
            if let publicChat { meeting.lock.disablePublicChat = publicChat }
            if let privateChat { meeting.lock.disablePrivateChat = privateChat }
            if meeting.lock.disableMicrophone {
                for member in conference.members where !(meetings.attendee(memberID: member.id, in: meeting)?.role.isModerator ?? false) {
                    conference.setMuted(member.id, true)
                }
            }
            broadcast(Signal.lock(meeting.lock), room: browser.room)
        case .chat(let text, let to):
            let locked = !role.isModerator
            if let to {
                guard role.may(.chatPrivately) else { return refuse(.notAllowed("chat privately")) }
                guard let recipient = sessions.values.first(where: { $0.room == browser.room && $0.member.id == to }), to != browser.member.id
                else { return refuse(.noSuchParticipant) }
                if locked, meeting?.lock.disablePrivateChat == true, !recipient.role.isModerator {
                    return refuse(.privateChatLocked)
                }
            } else {
                guard role.may(.chat) else { return refuse(.notAllowed("chat")) }
                if locked, meeting?.lock.disablePublicChat == true { return refuse(.publicChatLocked) }
            }
            guard chatRate.allow(browser.member.id, now: Double(clock) / 1000) else { return refuse(.tooManyMessages) }
            var log = chats[browser.room] ?? ChatLog()
            let posted = log.post(from: browser.member.id, fromName: browser.member.name, to: to, text: text, now: Date())
            chats[browser.room] = log
            switch posted {
            case .failure(let refusal): return refuse(.chat(refusal))
            case .success(let message):
                let signal = Signal.chat(message)
                for other in sessions.values where other.room == browser.room {
                    if to == nil || other.member.id == to || other.id == browser.id { other.feed?.yield(signal) }
                }
            }
        case .admit(let guest, let allow):
            guard role.may(.admitGuests) else { return refuse(.notAllowed("admit guests")) }
            guard let meeting, let meetings, meetings.decide(meetingID: meeting.settings.meetingID, guestID: guest, admit: allow)
            else { return refuse(.noSuchGuest) }
        case .startBreakouts(let rooms, let seconds, let freeJoin):
            guard role.may(.manageBreakouts) else { return refuse(.notAllowed("manage breakout rooms")) }
            guard let meeting, let meetings, let parent = meetings.breakoutParent(of: meeting.settings.meetingID) ?? Optional(meeting.settings.meetingID)
            else { return refuse(.notAMeeting) }
            // Only members of the meeting's main room can be sent away.
            let main = conference.members.map(\.id)
            guard rooms.allSatisfy({ $0.members.allSatisfy(main.contains) }) else { return refuse(.noSuchParticipant) }
            if case .failure(let error) = meetings.startBreakouts(parent, rooms: rooms, seconds: seconds, freeJoin: freeJoin) {
                return refuse(error.key == "breakoutsRunning" ? .breakoutsRunning : SignalError(.badBreakoutPlan, error.message))
            }
        case .extendBreakouts(let seconds):
            guard role.may(.manageBreakouts) else { return refuse(.notAllowed("manage breakout rooms")) }
            guard let meeting, let meetings, let parent = meetings.breakoutParent(of: meeting.settings.meetingID),
                meetings.extendBreakouts(parent, seconds: seconds)
            else { return refuse(.noBreakoutRooms) }
        case .endBreakouts:
            guard role.may(.manageBreakouts) else { return refuse(.notAllowed("manage breakout rooms")) }
            guard let meeting, let meetings, let parent = meetings.breakoutParent(of: meeting.settings.meetingID),
                meetings.endBreakouts(parent)
            else { return refuse(.noBreakoutRooms) }
        case .visitBreakout(let sequence):
            guard role.may(.manageBreakouts) else { return refuse(.notAllowed("manage breakout rooms")) }
            guard let meeting, let meetings, let parent = meetings.breakoutParent(of: meeting.settings.meetingID),
                meetings.visit(memberID: browser.member.id, parentID: parent, sequence: sequence)
            else { return refuse(.noSuchBreakoutRoom) }
        case .askForHelp:
            conference.requestHelp(browser.member.id)
        case .messageBreakouts(let text):
            guard role.may(.manageBreakouts) else { return refuse(.notAllowed("manage breakout rooms")) }
            guard let meeting, let meetings, let parent = meetings.breakoutParent(of: meeting.settings.meetingID),
                let rooms = meetings.breakoutRooms(of: parent)
            else { return refuse(.noBreakoutRooms) }
            // The message appears in every room's chat, from the moderator.
            for room in rooms {
                var log = chats[room] ?? ChatLog()
                guard case .success(let message) = log.post(
                    from: browser.member.id, fromName: browser.member.name, to: nil, text: text, now: Date())
                else { return refuse(.emptyMessage) }
                chats[room] = log
                broadcast(Signal.chat(message), room: room)
            }
        case .chooseBreakout(let sequence):
            guard let meeting, let meetings, let parent = meetings.breakoutParent(of: meeting.settings.meetingID),
                meetings.freeJoin(parent)
            else { return refuse(.breakoutsNotChoosable) }
            guard meetings.visit(memberID: browser.member.id, parentID: parent, sequence: sequence) else {
                return refuse(.noSuchBreakoutRoom)
            }
        case .deleteChat(let messageID):
            guard role.may(.moderateChat) else { return refuse(.notAllowed("delete messages")) }
            guard chats[browser.room]?.delete(messageID) != nil else { return refuse(.noSuchMessage) }
            broadcast(Signal.chatDeleted(messageID), room: browser.room)
        }
        return .success(())
    }

    private func broadcast(_ message: String, room: String) {
        for browser in sessions.values where browser.room == room { browser.feed?.yield(message) }
    }

    /// The bridge moved a browser's member to another room (a breakout room, or back): the browser
    /// hears that room now and sees its participants and chat; its connection stays as it was.
    public func moved(memberID: Int, to room: String, breakout: (name: String, sequence: Int, endsAt: Int64)?) {
        guard let browser = sessions.values.first(where: { $0.member.id == memberID }) else { return }
        browser.room = room
        if let conference = context.conferences[room] { watch(conference) }
        browser.feed?.yield(Signal.moved(
            room: room, roomName: context.hook(Rooms.self)?.room(room)?.name ?? room,
            participants: participants(of: room), chat: chats[room]?.visible(to: memberID) ?? [], breakout: breakout))
    }

    /// A breakout's time changed: the browsers in it get the new end.
    public func updateBreakout(room: String, info: (name: String, sequence: Int, endsAt: Int64)?) {
        guard let info else { return }
        let message = Signal.breakout(info)
        for browser in sessions.values where browser.room == room { browser.feed?.yield(message) }
    }

    /// Sends `message` to the browsers in `rooms` whose role has `permission` (any role when nil) and
    /// not `except`.
    public func send(_ message: String, toRooms rooms: Set<String>, permission: Permission? = nil, except: Permission? = nil) {
        for browser in sessions.values where rooms.contains(browser.room) {
            if let permission, !browser.role.may(permission) { continue }
            if let except, browser.role.may(except) { continue }
            browser.feed?.yield(message)
        }
    }

    /// A breakout room closed: its chat goes with it.
    public func forgetRoom(_ room: String) {
        chats[room] = nil
        watchedConferences[room] = nil
    }

    /// The meeting in `room` ended: every browser is told and leaves.
    public func endRoom(_ room: String, message: String) {
        for browser in sessions.values where browser.room == room {
            browser.feed?.yield(Signal.meetingEnded(message))
            leave(browser.id, reason: "meeting ended")
        }
        chats[room] = nil
    }

    /// `leave` from the browser's WebSocket `connection` (a stale socket cannot end the participant).
    public func leave(_ id: UInt64, connection: UInt64) {
        guard sessions[id]?.connection == connection else { return }
        leave(id)
    }

    public func leave(_ id: UInt64, reason: String = "left") {
        guard let browser = sessions.removeValue(forKey: id) else { return }
        let leg = browser.session.leg.counters
        let ice = browser.session.ice.counters
        logger.info("browser left", metadata: [
            "room": "\(browser.room)", "member": "\(browser.member.id)", "reason": "\(reason)", "received": "\(leg.received)",
            "sent": "\(leg.sent)", "unauthenticated": "\(leg.unauthenticated)", "rtcp": "\(leg.rtcp)",
            "ice_bad_integrity": "\(ice.badIntegrity)", "lost": "\(browser.member.jitterStatistics.lost)",
        ])
        port.remove(browser.session)
        context.conferences[browser.room]?.leave(browser.member.id)
        browser.feed?.finish()
        chatRate.forget(browser.member.id)
        // A meeting's chat lives as long as the meeting; a configured room's, while browsers are in it.
        if browser.meetingID == nil, !sessions.values.contains(where: { $0.room == browser.room }) { chats[browser.room] = nil }
    }

    /// The room's participants, for a newly joined browser (with their roles in a meeting).
    public func participants(of room: String) -> [Signal.Participant] {
        let meetings = context.hook(MeetingManager.self)
        let meeting = meetings?.meeting(voiceBridge: room)
        return context.conferences[room]?.members.map { member in
            var participant = Signal.Participant(member)
            if let meeting, let attendee = meetings?.attendee(memberID: member.id, in: meeting) { participant.role = attendee.role.name }
            return participant
        } ?? []
    }

    /// Forwards a room's events to every browser in it (once per conference).
    private func watch(_ conference: Conference) {
        guard watchedConferences[conference.name]?.conference !== conference else { return }
        watchedConferences[conference.name] = WeakConference(conference: conference)
        let room = conference.name
        conference.observers.append { [weak self, weak conference] event in
            guard let self, let conference else { return }
            guard let message = Signal.event(event, in: conference) else { return }
            for browser in self.sessions.values where browser.room == room { browser.feed?.yield(message) }
        }
    }
}


