import PlenumCore

/// A room of a meeting: its main room (sequence 0) or one of its breakout rooms (1–16), each under a
/// voice bridge of its own, with its own chat.
public struct MeetingRoom: Sendable, Equatable {
    public var sequence: Int
    public var meetingID: String
    public var voiceBridge: String
    public var name: String
    public var internalID: String
    public var createTime: Millis
    /// When its first attendee came (0: nobody yet).
    public var startTime: Millis = 0
    public var chat = ChatLog()
    /// A breakout room's settings as the API reports them; the main room's are the meeting's.
    public var settings: MeetingSettings

    init(settings: MeetingSettings, now: Millis) {
        sequence = settings.sequence
        meetingID = settings.meetingID
        voiceBridge = settings.voiceBridge
        name = settings.name
        createTime = now
        internalID = "\(ChecksumAlgorithm.sha1.hexDigest(settings.meetingID))-\(now)"
        self.settings = settings
    }
}

/// The breakout rooms of a meeting while they run (issue 7).
public struct BreakoutSession: Sendable, Equatable {
    /// Participants may pick a room themselves.
    public var freeJoin: Bool
    public var startedAt: Millis
    public var endsAt: Millis
    /// The minute's warning was played.
    public var warned = false
}

/// One meeting's control state and everything that may change it, as a plain value: `handle` takes a
/// command and the time and returns the effects for its owner to carry out (messages to sessions,
/// commands to the media loop), or a refusal with the protocol's error code — in which case nothing
/// changed. Sans-I/O: no clock, no sockets, no conference; tested on virtual time
/// (`MeetingMachineTests`), with the permission matrix and random command sequences from every role.
///
/// A meeting and its breakout rooms are one machine: the rooms share its attendees, roles and locks,
/// and moving somebody between them is one command, not a hand-over between two owners.
public struct MeetingMachine: Sendable {
    public enum Kind: Sendable, Equatable {
        /// Created through the API: roles, guest policy, end by time or emptiness.
        case meeting
        /// A configured room: everybody is a viewer, and its chat lives while somebody is in it.
        case configuredRoom
    }
    public let kind: Kind
    public let settings: MeetingSettings
    public let roles: RoleBook
    /// Random and never reused: what an access grant is bound to, so that a token outlives neither
    /// this meeting nor enters a later one under the same ID or voice bridge.
    public let instance: String
    public internal(set) var endTime: Millis = 0
    public internal(set) var hasUserJoined = false
    public internal(set) var forciblyEnded = false
    public internal(set) var ended = false
    /// In the order they came.
    public internal(set) var attendees: [Attendee] = []
    /// userIDs removed by a moderator: they may not come back.
    public internal(set) var banned: Set<String> = []
    /// userIDs a moderator let in from the waiting room: a reconnect does not wait again.
    public internal(set) var admitted: Set<String> = []
    public internal(set) var lock: LockSettings
    /// The one who presents (a browser of the meeting), or nobody: the first moderator to come, then
    /// whom a moderator makes presenter; when they leave, a moderator still there. A place for the
    /// presentation, the whiteboard and polls to come (issues 17–19): they hang on the presenter.
    public internal(set) var presenter: Int?
    /// The main room first, then the open breakout rooms in order.
    public internal(set) var rooms: [MeetingRoom]
    public internal(set) var breakouts: BreakoutSession?
    public internal(set) var guests: [Guest] = []
    var guestTickets: [Int: (ticket: GuestTicket, userID: String?)] = [:]
    var nextGuestID = 1
    var chatRate = RateLimiter<Int>(burst: 5, perSecond: 1)
    /// Since when nobody is in the meeting (it ends after `emptyTimeout`, or `noShowTimeout` if nobody came).
    var emptySince: Millis?
    public var noShowTimeout: Millis = 5 * 60_000
    public var emptyTimeout: Millis = 60_000

    public init(settings: MeetingSettings, roles: RoleBook, now: Millis, kind: Kind = .meeting,
                instance: String = String(UInt64.random(in: 1...UInt64.max), radix: 36)) {
        self.kind = kind
        self.settings = settings
        self.roles = roles
        self.instance = instance
        lock = settings.lock
        rooms = [MeetingRoom(settings: settings, now: now)]
        emptySince = now
    }

    /// A configured room's machine (`kind` .configuredRoom): open to all, nobody moderates.
    public static func configuredRoom(number: String, name: String?, now: Millis) -> MeetingMachine {
        let settings = MeetingSettings(
            meetingID: "room-\(number)", name: name ?? number, attendeePassword: "", moderatorPassword: "", welcome: "",
            dialNumber: "", voiceBridge: number, maxParticipants: 0, duration: 0, guestPolicy: .alwaysAccept,
            lock: LockSettings(), muteOnStart: false, logoutURL: "", metadata: [:], metadataOrder: [])
        return MeetingMachine(settings: settings, roles: RoleBook(), now: now, kind: .configuredRoom)
    }

    // MARK: Queries (no command needed)

    public var main: MeetingRoom { rooms[0] }
    public var createTime: Millis { main.createTime }
    public var startTime: Millis { main.startTime }
    public var running: Bool { !ended && !attendees.isEmpty }

    public func attendee(_ memberID: Int) -> Attendee? { attendees.first { $0.memberID == memberID } }
    public func room(_ voiceBridge: String) -> MeetingRoom? { rooms.first { $0.voiceBridge == voiceBridge } }
    public func room(meetingID: String) -> MeetingRoom? { rooms.first { $0.meetingID == meetingID } }
    public func attendees(in voiceBridge: String) -> [Attendee] { attendees.filter { $0.room == voiceBridge } }

    /// The welcome message with BigBlueButton's placeholders filled in (%%CONFNAME%%, %%DIALNUM%%,
    /// %%CONFNUM%%). It may hold markup from the API caller: clients show it as text. Without a dial-in
    /// number the sentences that would name it are left out (not "Dial  and enter 38284", issue 14).
    public var welcomeText: String {
        var text = settings.welcome
        if settings.dialNumber.isEmpty, text.contains("%%DIALNUM%%") {
            text = Self.sentences(of: text).filter { !$0.contains("%%DIALNUM%%") }.joined()
        }
        let filled = text.replacingOccurrences(of: "%%CONFNAME%%", with: settings.name)
            .replacingOccurrences(of: "%%DIALNUM%%", with: settings.dialNumber)
            .replacingOccurrences(of: "%%CONFNUM%%", with: settings.voiceBridge)
        return String(filled.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    /// The text cut after each ".", "!", "?" and line break (`<br>` included), each piece keeping its end.
    static func sentences(of text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var rest = Substring(text)
        while let character = rest.first {
            if rest.lowercased().hasPrefix("<br>") || rest.lowercased().hasPrefix("<br/>") {
                let tag = rest.prefix(rest.lowercased().hasPrefix("<br>") ? 4 : 5)
                current += tag
                rest = rest.dropFirst(tag.count)
                pieces.append(current)
                current = ""
                continue
            }
            current.append(character)
            rest = rest.dropFirst()
            if ".!?\n".contains(character) {
                while let space = rest.first, space == " " {
                    current.append(space)
                    rest = rest.dropFirst()
                }
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// Whether a browser with a grant for (`instance`, `room`) may enter now, must wait for a
    /// moderator, or is refused (before its member exists).
    public enum Entry: Sendable, Equatable { case enter, wait, refused(SignalError) }

    public func entry(userID: String, role: Role, instance: String?, room: String) -> Entry {
        guard !ended, instance == self.instance, let target = self.room(room) else { return .refused(.meetingEnded) }
        if banned.contains(userID) { return .refused(.removed) }
        if settings.maxParticipants > 0, attendees.count >= settings.maxParticipants { return .refused(.meetingFull) }
        if role.isModerator || target.sequence > 0 { return .enter }
        switch settings.guestPolicy {
        case .alwaysAccept: return .enter
        case .alwaysDeny: return .refused(.guestsNotAdmitted)
        case .askModerator: return admitted.contains(userID) ? .enter : .wait
        }
    }

    /// The guest policy for a phone caller (phones have no role: they all follow it; a breakout
    /// room's number takes anybody).
    public func phoneEntry(room: String) -> Entry {
        guard !ended, let target = self.room(room) else { return .refused(.meetingEnded) }
        if target.sequence > 0 { return .enter }
        switch settings.guestPolicy {
        case .alwaysAccept: return .enter
        case .alwaysDeny: return .refused(.guestsNotAdmitted)
        case .askModerator: return .wait
        }
    }

    /// Whether a member may unmute itself now (its role, and the microphone lock for viewers).
    public func mayUnmute(_ memberID: Int) -> Bool {
        let role = attendee(memberID)?.role ?? .viewer
        guard role.may(.unmuteSelf) else { return false }
        return role.isModerator || !lock.disableMicrophone
    }

    /// How many cameras `memberID` may publish at once, given how many the meeting's other members
    /// publish now; a refusal says why none (the role, a disabled feature, the viewers' lock, a cap).
    public func cameraAllowance(_ memberID: Int, othersInMeeting: Int) -> Result<Int, SignalError> {
        let role = attendee(memberID)?.role ?? .viewer
        guard role.may(.shareCamera) else { return .failure(.notAllowed("share a camera")) }
        guard settings.isEnabled(.cameras) else { return .failure(.featureDisabled("cameras")) }
        if lock.disableCamera, !role.isModerator { return .failure(.camerasLocked) }
        let own = settings.userCameraCap > 0 ? settings.userCameraCap : Int.max
        let left = settings.meetingCameraCap > 0 ? max(0, settings.meetingCameraCap - othersInMeeting) : Int.max
        let allowed = min(own, left)
        return allowed > 0 ? .success(allowed) : .failure(.cameraLimit)
    }

    /// Whether `memberID` may share its screen: the presenter or a moderator, unless `create` switched
    /// screen sharing off (one screen at a time is the media loop's to keep, which sees them all).
    public func mayShareScreen(_ memberID: Int) -> Result<Void, SignalError> {
        guard settings.isEnabled(.screenshare) else { return .failure(.featureDisabled("screenshare")) }
        guard let attendee = attendee(memberID), attendee.role.isModerator || presenter == memberID else {
            return .failure(.notAllowed("share a screen (the presenter does)"))
        }
        return .success(())
    }

    /// Whether `viewer` sees the camera of `publisher`: always, unless viewers' cameras are for the
    /// moderators only (then a viewer sees the moderators' cameras and its own).
    public func sees(camera publisher: Int, viewer: Int) -> Bool {
        guard lock.hideViewersCameras, publisher != viewer else { return true }
        return attendee(viewer)?.role.isModerator == true || attendee(publisher)?.role.isModerator == true
    }

    /// What `memberID` may read of its room's chat.
    public func chat(visibleTo memberID: Int) -> [ChatLog.Message] {
        guard let attendee = attendee(memberID), let room = room(attendee.room) else { return [] }
        return room.chat.visible(to: memberID)
    }

    /// What a member in a breakout room is told about it: name, sequence and end.
    public func breakoutInfo(room voiceBridge: String) -> BreakoutInfo? {
        guard let session = breakouts, let room = room(voiceBridge), room.sequence > 0 else { return nil }
        return BreakoutInfo(name: room.name, sequence: room.sequence, endsAt: session.endsAt)
    }

    /// The members of the meeting (all rooms) whose role has `permission`, or all when nil; browsers
    /// only, for messages.
    func browsers(in room: String? = nil, with permission: Permission? = nil, without: Permission? = nil) -> [Int] {
        attendees.filter { attendee in
            attendee.kind == .browser && (room == nil || attendee.room == room)
                && (permission.map { attendee.role.may($0) } ?? true) && !(without.map { attendee.role.may($0) } ?? false)
        }.map(\.memberID)
    }

    // MARK: Commands

    /// Carries out `command` at `now`. On a refusal the state is as it was. `isNumberFree` answers
    /// whether a voice bridge is still free server-wide (for breakout rooms' numbers).
    public mutating func handle(_ command: MeetingCommand, now: Millis, isNumberFree: (String) -> Bool = { _ in true })
        -> Result<[MeetingEffect], SignalError>
    {
        guard !ended else { return .failure(.meetingEnded) }
        var copy = self
        var out: [MeetingEffect] = []
        let result = copy.apply(command, now: now, isNumberFree: isNumberFree, into: &out)
        if case .failure(let error) = result { return .failure(error) }
        self = copy
        return .success(out)
    }

    private mutating func apply(_ command: MeetingCommand, now: Millis, isNumberFree: (String) -> Bool,
                                into out: inout [MeetingEffect]) -> Result<Void, SignalError> {
        switch command {
        case .browserEntered(let memberID, let userID, let name, let role, let listenOnly, let room):
            guard self.room(room) != nil else { return .failure(.noSuchRoom) }
            enter(Attendee(memberID: memberID, userID: userID, fullName: name, role: role, kind: .browser,
                           listenOnly: listenOnly, room: room, joinedAt: now), into: &out)
            out.append(.welcome(memberID: memberID))
            if kind == .meeting, role.may(.admitGuests) { out.append(.send(.guests(guests), to: [memberID])) }
            if kind == .meeting, presenter == nil, role.isModerator { setPresenter(memberID, into: &out) }
        case .phoneEntered(let memberID, let name, let room):
            guard self.room(room) != nil else { return .failure(.noSuchRoom) }
            enter(Attendee(memberID: memberID, userID: "v_\(memberID)", fullName: name, role: .viewer, kind: .phone,
                           listenOnly: false, room: room, joinedAt: now), into: &out)
        case .left(let memberID):
            attendees.removeAll { $0.memberID == memberID }
            chatRate.forget(memberID)
            if presenter == memberID { handOnPresenter(into: &out) }
            // A configured room's chat lives while browsers are in it.
            if kind == .configuredRoom, !attendees.contains(where: { $0.kind == .browser }) { rooms[0].chat = ChatLog() }
        case .renamed(let memberID, let name):
            if let index = attendees.firstIndex(where: { $0.memberID == memberID }) { attendees[index].fullName = name }
        case .cameras(let memberID, let count):
            if let index = attendees.firstIndex(where: { $0.memberID == memberID }) { attendees[index].cameras = count }
        case .helpRequested(let memberID):
            askForHelp(memberID, into: &out)
        case .request(let from, let request):
            guard let sender = attendee(from) else { return .failure(.sessionExpired) }
            return perform(request, by: sender, now: now, isNumberFree: isNumberFree, into: &out)
        case .guestArrived(let ticket, let name, let kind, let userID):
            let guest = Guest(id: nextGuestID, name: name, kind: kind)
            nextGuestID += 1
            guests.append(guest)
            guestTickets[guest.id] = (ticket, userID)
            announceGuests(into: &out)
        case .guestLeft(let ticket):
            guard let id = guestTickets.first(where: { $0.value.ticket == ticket })?.key else { return .success(()) }
            guestTickets[id] = nil
            guests.removeAll { $0.id == id }
            announceGuests(into: &out)
        case .tick:
            tick(now: now, into: &out)
        case .end(let reason):
            end(reason, now: now, into: &out)
        case .endBreakoutRoom(let meetingID):
            guard let room = room(meetingID: meetingID), room.sequence > 0 else { return .failure(.noSuchBreakoutRoom) }
            close(room, into: &out)
            if rooms.count == 1 { breakouts = nil }
            announceBreakouts(now: now, into: &out)
        }
        return .success(())
    }

    private mutating func enter(_ attendee: Attendee, into out: inout [MeetingEffect]) {
        if !hasUserJoined { rooms[0].startTime = attendee.joinedAt }
        hasUserJoined = true
        if let index = rooms.firstIndex(where: { $0.voiceBridge == attendee.room }), rooms[index].startTime == 0 {
            rooms[index].startTime = attendee.joinedAt
        }
        attendees.removeAll { $0.memberID == attendee.memberID || ($0.userID == attendee.userID && $0.kind == attendee.kind) }
        attendees.append(attendee)
        emptySince = nil
        if settings.muteOnStart || (lock.disableMicrophone && !attendee.role.isModerator) {
            out.append(.mute(memberID: attendee.memberID, muted: true))
        }
        // The room learned of the member from the bridge, as a viewer: another role is told (before,
        // a moderator who joined later stayed a viewer in the others' lists).
        if attendee.role.name != Role.viewer.name {
            let others = browsers(in: attendee.room).filter { $0 != attendee.memberID }
            if !others.isEmpty { out.append(.send(.role(memberID: attendee.memberID, role: attendee.role.name), to: others)) }
        }
    }

    /// `memberID` presents; every browser of the meeting learns it.
    mutating func setPresenter(_ memberID: Int?, into out: inout [MeetingEffect]) {
        guard presenter != memberID else { return }
        presenter = memberID
        let readers = browsers()
        if !readers.isEmpty { out.append(.send(.presenter(memberID: memberID), to: readers)) }
    }

    /// The presenter is gone: a moderator still in the meeting takes over, or nobody presents.
    mutating func handOnPresenter(into out: inout [MeetingEffect]) {
        setPresenter(attendees.first { $0.kind == .browser && $0.role.isModerator && $0.memberID != presenter }?.memberID, into: &out)
    }

    mutating func announceGuests(into out: inout [MeetingEffect]) {
        let admitters = browsers(with: .admitGuests)
        if !admitters.isEmpty { out.append(.send(.guests(guests), to: admitters)) }
    }

    /// A moderator's decision about guest `id`.
    mutating func decide(guest id: Int, admit: Bool, into out: inout [MeetingEffect]) -> Bool {
        guard let entry = guestTickets.removeValue(forKey: id) else { return false }
        guests.removeAll { $0.id == id }
        if admit, let userID = entry.userID { admitted.insert(userID) }
        announceGuests(into: &out)
        out.append(.decide(entry.ticket, admit: admit))
        return true
    }

    mutating func askForHelp(_ memberID: Int, into out: inout [MeetingEffect]) {
        guard let asker = attendee(memberID), let room = room(asker.room) else { return }
        // The moderators of the whole meeting hear of it, wherever they are (main room or a breakout).
        let managers = browsers(with: .manageBreakouts)
        if !managers.isEmpty {
            out.append(.send(.help(name: asker.fullName, room: room.name, sequence: room.sequence), to: managers))
        }
    }

    private mutating func tick(now: Millis, into out: inout [MeetingEffect]) {
        if var session = breakouts {
            if !session.warned, now + 60_000 >= session.endsAt, session.endsAt > session.startedAt + 90_000 {
                session.warned = true  // a minute before the end (rooms shorter than 90 s get no warning)
                breakouts = session
                for room in rooms.dropFirst() { out.append(.play(prompt: "conf-breakout-ending-soon", room: room.voiceBridge)) }
            }
            if now >= session.endsAt { endBreakouts(now: now, into: &out) }
        }
        guard kind == .meeting else { return }
        if settings.duration > 0, hasUserJoined, now > startTime + Millis(settings.duration) * 60_000 {
            end(.duration, now: now, into: &out)
            return
        }
        if breakouts != nil { emptySince = nil; return }  // everybody may be in the rooms
        if attendees.isEmpty {
            let since = emptySince ?? now
            emptySince = since
            if now - since >= (hasUserJoined ? emptyTimeout : noShowTimeout) {
                end(hasUserJoined ? .empty : .noShow, now: now, into: &out)
            }
        } else {
            emptySince = nil
        }
    }

    /// Ends the meeting: every browser is told, waiting guests are sent away, every room is closed
    /// (its legs hung up) and the meeting is forgotten with everything it held.
    mutating func end(_ reason: EndReason, now: Millis, into out: inout [MeetingEffect]) {
        let browsers = browsers()
        if !browsers.isEmpty { out.append(.send(.meetingEnded, to: browsers)) }
        for id in guests.map(\.id) {
            if let entry = guestTickets.removeValue(forKey: id) { out.append(.decide(entry.ticket, admit: false)) }
        }
        guests = []
        for room in rooms.reversed() { out.append(.closeRoom(voiceBridge: room.voiceBridge, meetingID: room.meetingID)) }
        ended = true
        presenter = nil
        forciblyEnded = reason.isForcible
        endTime = now
        breakouts = nil
        attendees = []
        rooms = [rooms[0]]
        rooms[0].chat = ChatLog()
        out.append(.ended(reason))
    }

    // MARK: Helpers for the requests

    mutating func post(in room: String, from: Attendee, to: Int?, text: String, now: Millis) -> Result<ChatLog.Message, ChatLog.Refusal> {
        guard let index = rooms.firstIndex(where: { $0.voiceBridge == room }) else { return .failure(.empty) }
        return rooms[index].chat.post(from: from.memberID, fromName: from.fullName, to: to, text: text, now: now)
    }

    /// Moves an attendee to another room of the meeting (the media loop transfers its member).
    mutating func move(_ memberID: Int, to room: String, prompt: String?, into out: inout [MeetingEffect]) {
        guard let index = attendees.firstIndex(where: { $0.memberID == memberID }), attendees[index].room != room,
            let target = rooms.firstIndex(where: { $0.voiceBridge == room })
        else { return }
        let from = attendees[index].room
        attendees[index].room = room
        if rooms[target].startTime == 0 { rooms[target].startTime = attendees[index].joinedAt }
        out.append(.move(memberID: memberID, from: from, to: room, prompt: prompt))
    }
}

extension MeetingMachine {
    /// The meeting, or one of its breakout rooms, as the API reports it.
    public func snapshot(of meetingID: String) -> MeetingSnapshot? {
        guard !ended, let room = room(meetingID: meetingID) else { return nil }
        let present = attendees(in: room.voiceBridge)
        var snapshot = MeetingSnapshot(
            settings: room.sequence == 0 ? settings : room.settings, internalID: room.internalID, createTime: room.createTime,
            startTime: room.startTime, endTime: endTime, running: !present.isEmpty, hasUserJoined: room.startTime != 0,
            forciblyEnded: forciblyEnded,
            attendees: present.map { attendee in
                .init(userID: attendee.userID, fullName: attendee.fullName, role: attendee.role.isModerator ? "MODERATOR" : "VIEWER",
                      kind: attendee.kind, listenOnly: attendee.listenOnly, hasJoinedVoice: !attendee.listenOnly,
                      isPresenter: attendee.memberID == presenter, cameras: attendee.cameras)
            })
        snapshot.breakoutRooms = room.sequence == 0 ? rooms.dropFirst().map(\.meetingID) : []
        snapshot.instance = instance
        return snapshot
    }
}
