import Foundation
import Logging
import PlenumBridge
import PlenumMeetings
import PlenumSIP

/// The environment of the meetings of one media loop (issue 12): it feeds each meeting's
/// `MeetingMachine` its commands — from browsers, phones, the API and the clock — through a
/// `MeetingOwner`, which writes each change to the store before it takes effect, and carries out the
/// effects the machines return: messages to browsers, commands to the conferences (mute, move, play,
/// hang up), rooms opened and closed. The machines hold all of a meeting's control state; this class
/// holds none but the waiting browsers' pending joins. Loop-confined, like the conferences it drives;
/// the API and the signalling sessions reach it through `MediaLoop.execute`.
///
/// Each machine takes one command at a time, to its end: commands arriving while a meeting's write is
/// in flight or its effects are carried out (a conference reports a member that left during a
/// hang-up) wait their turn.
public final class MeetingManager: MediaLoopHook {
    /// The meetings made through the API, each written to `store` before a change takes effect.
    public let meetings: MeetingOwner
    /// The configured rooms' machines, made when somebody enters and dropped when the last one leaves
    /// (they keep nothing, so they write nothing).
    let configuredRooms: MeetingOwner
    public let store: any MeetingStore
    public let roles: RoleBook
    let rooms: Rooms
    let context: MediaLoopContext
    /// The kinds of leg, attached when the server has them (either may be off): browsers get the
    /// meetings' messages and moves, phones their moves, waiting room and hang-ups.
    public weak var browsers: WebRTCManager? {
        didSet { browsers?.meetings = self }
    }
    public weak var phones: SIPCallManager? {
        didSet {
            // Phones wait in the same waiting room as browsers.
            phones?.admission = { [weak self] room, call, name in self?.admitPhone(room: room, call: call, name: name) ?? .admit }
            phones?.admissionCancelled = { [weak self] room, call in
                guard let self, let target = self.target(room: room) else { return }
                self.submit(target, .guestLeft(.call(call)))
            }
        }
    }
    let logger: Logger
    private var clock: UInt64 = 0
    /// A meeting nobody joined ends after this; one that emptied, after `emptyTimeout` (milliseconds).
    public var noShowTimeout: Millis = 5 * 60_000
    public var emptyTimeout: Millis = 60_000
    /// Browsers in a waiting room: what to do when a moderator decides (by WebSocket connection).
    private var pendingBrowsers: [UInt64: (room: String, decide: (Bool) -> Void)] = [:]
    /// The member being moved between two rooms: its conferences' leave and join are not news.
    private var moving: Int?

    public var registry: MeetingRegistry { meetings.registry }

    /// Which machine a command is for.
    enum Target: Equatable {
        case meeting(String)
        case configuredRoom(String)
    }

    /// `loop` is the media loop this manager lives on: the store's writes come back to it.
    public init(roles: RoleBook, reservedNumbers: Set<String>, rooms: Rooms, context: MediaLoopContext, loop: MediaLoop,
                store: any MeetingStore = InProcessMeetingStore(), logger: Logger = Logger(label: "plenum.meetings")) {
        let wallClock = { Millis(Date().timeIntervalSince1970 * 1000) }
        meetings = MeetingOwner(registry: MeetingRegistry(reservedNumbers: reservedNumbers), now: wallClock)
        configuredRooms = MeetingOwner(registry: MeetingRegistry(), now: wallClock)
        self.store = store
        self.roles = roles
        self.rooms = rooms
        self.context = context
        self.logger = logger
        meetings.startWrite = { [logger] id, record in
            Task {
                let ok: Bool
                do {
                    try await store.write(id, record)
                    ok = true
                } catch {
                    logger.warning("meeting store refused a write", metadata: ["meeting": "\(id)", "why": "\(error)"])
                    ok = false
                }
                loop.execute { context in context.hook(MeetingManager.self)?.meetings.written(id, ok: ok) }
            }
        }
        meetings.perform = { [unowned self] id, effects in
            for effect in effects { self.perform(effect, target: .meeting(id)) }
        }
        configuredRooms.perform = { [unowned self] number, effects in
            for effect in effects { self.perform(effect, target: .configuredRoom(number)) }
            let registry = self.configuredRooms.registry
            if registry.machine(number)?.attendees.isEmpty == true { registry.remove(number) }
        }
        registry.isReserved = { [weak rooms] number in
            guard let rooms else { return false }
            return rooms.room(number) != nil && !rooms.isMeetingRoom(number)
        }
        // Every conference of a meeting's or a configured room's number reports to its machine — also
        // one made again after the last phone left the room empty.
        rooms.conferenceCreated.append { [weak self] conference in self?.watch(conference) }
    }

    public func beforeTick() {}

    /// This second's meetings still to tick, and how many per loop tick: a second's ticks are spread
    /// over its 50 loop ticks (10,000 meetings are 200 per loop tick, not one burst).
    private var tickRound: [String] = []
    private var tickShare = 0

    public func afterTick() {
        clock &+= 20
        if clock % 1000 == 0 {
            tickRound = Array(registry.machines.keys)
            tickShare = (tickRound.count + 49) / 50
            let again = retries
            retries = []
            for (target, command) in again { submitFact(target, command) }
        }
        for _ in 0..<min(tickShare, tickRound.count) { meetings.submit(tickRound.removeLast(), .tick) }
    }

    // MARK: Running commands

    /// Facts from the bridge that a failed write must not lose (somebody left): tried again each second.
    private var retries: [(Target, MeetingCommand)] = []

    func submitFact(_ target: Target, _ command: MeetingCommand) {
        submit(target, command) { [weak self] result in
            if case .failure(let error) = result, error.code == .storeUnavailable { self?.retries.append((target, command)) }
        }
    }

    /// Runs `command` on its machine when the machine's turn comes; `reply` tells how it went.
    func submit(_ target: Target, _ command: MeetingCommand, reply: MeetingOwner.Reply? = nil) {
        switch target {
        case .meeting(let id): meetings.submit(id, command, reply: reply)
        case .configuredRoom(let number): configuredRooms.submit(number, command, reply: reply)
        }
    }

    private func machine(_ target: Target) -> MeetingMachine? {
        switch target {
        case .meeting(let id): registry.machine(id)
        case .configuredRoom(let number): configuredRooms.registry.machine(number)
        }
    }

    /// The machine that owns room `number`: a meeting's (or one of its breakout rooms), or a configured room's.
    func target(room number: String) -> Target? {
        if let id = registry.owner(voiceBridge: number) { return .meeting(id) }
        if configuredRooms.registry.machine(number) != nil { return .configuredRoom(number) }
        if rooms.room(number) != nil, !rooms.isMeetingRoom(number) {
            return .configuredRoom(number)
        }
        return nil
    }

    /// The machine of room `number`, made for a configured room on first use.
    private func ensureTarget(room number: String) -> Target? {
        guard let target = target(room: number) else { return nil }
        if case .configuredRoom = target, configuredRooms.registry.machine(number) == nil {
            let name = rooms.room(number)?.name
            configuredRooms.registry.add(MeetingMachine.configuredRoom(number: number, name: name, now: configuredRooms.now()), as: number)
        }
        return target
    }

    public func machine(room number: String) -> MeetingMachine? { target(room: number).flatMap(machine) }

    private func perform(_ effect: MeetingEffect, target: Target) {
        let webrtc = browsers
        switch effect {
        case .send(let message, let members):
            webrtc?.deliver(message, to: members)
        case .welcome(let memberID):
            webrtc?.welcome(memberID)
        case .mute(let memberID, let muted):
            conference(holding: memberID, target: target)?.setMuted(memberID, muted)
        case .rename(let memberID, let name):
            conference(holding: memberID, target: target)?.rename(memberID, to: name)
        case .hand(let memberID, let raised):
            conference(holding: memberID, target: target)?.setHandRaised(memberID, raised)
        case .stopCameras(let memberID, let reason):
            webrtc?.stopCameras(memberID: memberID, reason: reason)
        case .disconnect(let memberID):
            if webrtc?.hasBrowser(memberID: memberID) == true {
                webrtc?.disconnect(memberID: memberID, reason: "removed")
            } else {
                conference(holding: memberID, target: target)?.requestHangup(memberID)
            }
        case .move(let memberID, let from, let to, let prompt):
            move(memberID, from: from, to: to, prompt: prompt, target: target)
        case .play(let prompt, let room):
            context.conferences[room]?.play(prompt)
        case .openRoom(let room):
            rooms.addMeetingRoom(RoomDirectory.Room(
                number: room.voiceBridge, name: room.name, language: room.settings.language,
                maxParticipants: room.settings.maxParticipants > 0 ? room.settings.maxParticipants : nil))
            _ = rooms.conference(for: room.voiceBridge)
        case .closeRoom(let number, _):
            webrtc?.closeRoom(number)
            if let conference = context.conferences[number] {
                for member in conference.members { conference.requestHangup(member.id) }
            }
            if case .meeting = target { rooms.removeMeetingRoom(number) }
            context.conferences[number] = nil
        case .ended(let reason):
            if case .meeting(let id) = target { logger.info("meeting ended", metadata: ["meeting": "\(id)", "reason": "\(reason.rawValue)"]) }
        case .decide(let ticket, let admit):
            switch ticket {
            case .call(let call): phones?.decide(call: call, admit: admit)
            case .connection(let connection): pendingBrowsers.removeValue(forKey: connection)?.decide(admit)
            }
        }
    }

    /// The conference of a member of this machine's rooms.
    private func conference(holding memberID: Int, target: Target) -> Conference? {
        guard let machine = machine(target) else { return nil }
        if let room = machine.attendee(memberID)?.room, let conference = context.conferences[room], conference.member(memberID) != nil {
            return conference
        }
        return machine.rooms.lazy.compactMap { self.context.conferences[$0.voiceBridge] }.first { $0.member(memberID) != nil }
    }

    /// Moves a member between two conferences of this loop and tells its leg's owner.
    private func move(_ memberID: Int, from: String, to: String, prompt: String?, target: Target) {
        guard let source = context.conferences[from], source.member(memberID) != nil else { return }
        let destination = rooms.conference(for: to)
        moving = memberID
        defer { moving = nil }
        guard (try? source.transfer(memberID, to: destination)) != nil else { return }
        let sip = phones
        sip?.moved(memberID: memberID, to: to)
        let machine = machine(target)
        browsers?.moved(
            memberID: memberID, to: to, breakout: machine?.breakoutInfo(room: to), chat: machine?.chat(visibleTo: memberID) ?? [])
        if let prompt, sip?.isPhone(memberID: memberID) == true { destination.play(prompt, to: memberID) }
    }

    /// A conference of a room with a machine: its members' comings and goings become commands.
    private func watch(_ conference: Conference) {
        let number = conference.name
        conference.mayUnmute = { [weak self] member in self?.machine(room: number)?.mayUnmute(member.id) ?? true }
        conference.observers.append { [weak self, weak conference] event in
            guard let self, let conference else { return }
            switch event {
            case .memberJoined(let id):
                guard self.moving != id, let member = conference.member(id), case .phone = member.kind,
                    let target = self.ensureTarget(room: number)
                else { return }
                self.submit(target, .phoneEntered(memberID: id, name: member.name, room: number)) { [weak conference] result in
                    // Not taken in (the store could not write it): the caller is not left unaccounted for.
                    if case .failure = result { conference?.requestHangup(id) }
                }
            case .memberLeft(let id):
                guard self.moving != id, let target = self.target(room: number) else { return }
                self.submitFact(target, .left(memberID: id))
            case .renamed(let id, let name):
                guard let target = self.target(room: number) else { return }
                self.submit(target, .renamed(memberID: id, name: name))
            case .helpRequested(let id):
                guard let target = self.target(room: number) else { return }
                self.submit(target, .helpRequested(memberID: id))
            default:
                break
            }
        }
    }

    // MARK: The API

    public enum Created: Sendable { case created(MeetingSnapshot), existing(MeetingSnapshot) }

    /// Creates a meeting (kept once its record is written) and opens its room.
    public func create(_ settings: MeetingSettings, reply: @escaping (Result<Created, APIError>) -> Void) {
        let id = settings.meetingID
        meetings.create(settings, roles: roles, timeouts: (noShow: noShowTimeout, empty: emptyTimeout)) { [weak self] result in
            guard let self else { return }
            switch result {
            case .failure(let error): reply(.failure(error))
            case .success(.existing):
                reply(self.snapshot(of: id).map { .success(.existing($0)) } ?? .failure(BigBlueButtonAPI.Errors.idNotUnique))
            case .success(.created):
                self.rooms.addMeetingRoom(RoomDirectory.Room(
                    number: settings.voiceBridge, name: settings.name, language: settings.language,
                    maxParticipants: settings.maxParticipants > 0 ? settings.maxParticipants : nil))
                _ = self.rooms.conference(for: settings.voiceBridge)
                self.logger.info("meeting created", metadata: ["meeting": "\(id)", "voiceBridge": "\(settings.voiceBridge)"])
                reply(self.snapshot(of: id).map { .success(.created($0)) } ?? .failure(BigBlueButtonAPI.Errors.notFound))
            }
        }
    }

    public func snapshot(of meetingID: String) -> MeetingSnapshot? { registry.machine(meetingID)?.snapshot(of: meetingID) }

    public var snapshots: [MeetingSnapshot] {
        registry.machines.values.sorted { $0.createTime < $1.createTime }.flatMap { machine in
            machine.rooms.compactMap { machine.snapshot(of: $0.meetingID) }
        }
    }

    /// Ends a meeting (or, for a breakout room's ID, that room: its people go back).
    public func end(_ meetingID: String, reason: EndReason, reply: MeetingOwner.Reply? = nil) {
        guard let owner = registry.owner(of: meetingID) else {
            reply?(.failure(.meetingEnded))
            return
        }
        let command: MeetingCommand = owner == meetingID ? .end(reason) : .endBreakoutRoom(meetingID: meetingID)
        submit(.meeting(owner), command, reply: reply)
    }

    // MARK: Participants

    /// Whether a browser with this grant may enter now, must wait, or is refused: only the meeting
    /// instance the grant was issued for, through the voice bridge it names (a grant from an ended
    /// meeting never enters a later one under the same ID or number).
    func entry(meetingID: String, instance: String?, room: String, userID: String, role: Role) -> MeetingMachine.Entry {
        guard let machine = registry.machine(meetingID), machine.room(meetingID: meetingID)?.voiceBridge == room else {
            return .refused(.meetingEnded)
        }
        return machine.entry(userID: userID, role: role, instance: instance, room: room)
    }

    /// A browser waits for a moderator; `decide` runs when one decided (or the meeting ended).
    func wait(room: String, connection: UInt64, name: String, userID: String, decide: @escaping (Bool) -> Void) {
        guard let target = target(room: room) else { return decide(false) }
        pendingBrowsers[connection] = (room, decide)
        submit(target, .guestArrived(.connection(connection), name: name, kind: .browser, userID: userID))
        logger.info("guest waits", metadata: ["room": "\(room)", "kind": "browser"])
    }

    /// A waiting browser closed its socket.
    public func cancelGuest(connection: UInt64) {
        guard let pending = pendingBrowsers.removeValue(forKey: connection), let target = target(room: pending.room) else { return }
        submit(target, .guestLeft(.connection(connection)))
    }

    /// A browser's member is in the conference of `room`; `reply` says whether the meeting took it.
    func browserEntered(memberID: Int, userID: String, name: String, role: Role, listenOnly: Bool, room: String,
                        reply: @escaping MeetingOwner.Reply) {
        guard let target = ensureTarget(room: room) else { return reply(.failure(.noSuchRoom)) }
        submit(target, .browserEntered(memberID: memberID, userID: userID, name: name, role: role, listenOnly: listenOnly, room: room),
               reply: reply)
    }

    /// A browser publishes `count` cameras now (its meeting counts them for getMeetingInfo).
    func camerasChanged(memberID: Int, count: Int, room: String) {
        guard let target = target(room: room) else { return }
        submit(target, .cameras(memberID: memberID, count: count))
    }

    /// A browser's request about its meeting, under its role there.
    func request(_ request: ParticipantRequest, from memberID: Int, room: String, reply: @escaping MeetingOwner.Reply) {
        guard let target = target(room: room) else { return reply(.failure(.sessionExpired)) }
        submit(target, .request(from: memberID, request)) { [logger] result in
            if case .failure(let error) = result {
                logger.notice("request refused", metadata: ["room": "\(room)", "member": "\(memberID)", "why": "\(error.code.rawValue)"])
            }
            reply(result)
        }
    }

    /// The guest policy for a phone caller (phones have no role: they all follow it).
    func admitPhone(room: String, call: UInt64, name: String) -> SIPCallManager.Admission {
        guard let id = registry.owner(voiceBridge: room), let machine = registry.machine(id) else { return .admit }
        switch machine.phoneEntry(room: room) {
        case .enter: return .admit
        case .refused: return .deny
        case .wait:
            meetings.submit(id, .guestArrived(.call(call), name: name, kind: .phone, userID: nil))
            return .wait
        }
    }
}
