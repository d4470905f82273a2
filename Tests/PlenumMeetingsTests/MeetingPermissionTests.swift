import PlenumMeetings
import PropertyBased
import Testing

/// Issue 12: every request × every role × a target in the sender's own meeting or in another one. A
/// request naming a member of another meeting is refused and changes nothing there (BigBlueButton's
/// CVE-2022-29232 was exactly this); a member of one meeting cannot act on another at all.
@Suite struct MeetingPermissionTests {
    static let nobody = Role(name: "nobody", permissions: [])
    static let roles: [Role] = [.viewer, .moderator, TestMeeting.roles.role(named: "assistant") ?? .viewer, nobody]

    /// A request, the permission it needs (nil: anybody's own business), and whether breakout rooms
    /// must be open for it.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var permission: Permission?
        var needsBreakouts = false
        /// The request naming `target` (a member, or 0 where it names none).
        var request: @Sendable (_ target: Int) -> ParticipantRequest
        /// Whether it names a member (so it can name one of another meeting).
        var namesMember = true
        /// Looks for the member before it looks at the role (mute and hand always have: an id that is
        /// not in the room is "no such participant" for everybody).
        var targetFirst = false
        var testDescription: String { name }
    }

    static let sender = 10, target = 11, phone = 12, manager = 13, stranger = 21

    static let cases: [Case] = [
        Case(name: "mute another", permission: .muteOthers, request: { .mute(target: $0, muted: true) }, targetFirst: true),
        Case(name: "unmute oneself", permission: .unmuteSelf, request: { _ in .mute(target: nil, muted: false) }, namesMember: false),
        Case(name: "mute all", permission: .muteOthers, request: { _ in .muteAll(muted: true) }, namesMember: false),
        Case(name: "remove", permission: .remove) { .remove(target: $0) },
        Case(name: "rename", permission: .rename) { .rename(target: $0, name: "Renamed") },
        Case(name: "promote", permission: .promote) { .setRole(target: $0, moderator: true) },
        Case(name: "end the meeting", permission: .endMeeting, request: { _ in .endMeeting }, namesMember: false),
        Case(name: "lower another's hand", permission: .muteOthers, request: { .hand(target: $0, raised: false) }, targetFirst: true),
        Case(name: "raise one's hand", permission: nil, request: { _ in .hand(target: nil, raised: true) }, namesMember: false),
        Case(name: "lock", permission: .lockSettings, request: { _ in .lock(microphone: true, publicChat: nil, privateChat: nil) },
             namesMember: false),
        Case(name: "chat", permission: .chat, request: { _ in .chat(text: "hello", to: nil) }, namesMember: false),
        Case(name: "chat privately", permission: .chatPrivately) { .chat(text: "psst", to: $0) },
        Case(name: "delete a message", permission: .moderateChat, request: { _ in .deleteChat(messageID: 1) }, namesMember: false),
        Case(name: "admit a guest", permission: .admitGuests, request: { _ in .admit(guest: 1, allow: true) }, namesMember: false),
        Case(name: "start breakouts", permission: .manageBreakouts) {
            .startBreakouts(rooms: [BreakoutPlan(name: "R", members: [$0])], seconds: 60, freeJoin: false)
        },
        Case(name: "extend breakouts", permission: .manageBreakouts, needsBreakouts: true, request: { _ in .extendBreakouts(seconds: 60) },
             namesMember: false),
        Case(name: "end breakouts", permission: .manageBreakouts, needsBreakouts: true, request: { _ in .endBreakouts }, namesMember: false),
        Case(name: "visit a breakout", permission: .manageBreakouts, needsBreakouts: true, request: { _ in .visitBreakout(sequence: 1) },
             namesMember: false),
        Case(name: "message breakouts", permission: .manageBreakouts, needsBreakouts: true,
             request: { _ in .messageBreakouts(text: "soon") }, namesMember: false),
        Case(name: "choose a breakout", permission: nil, needsBreakouts: true, request: { _ in .chooseBreakout(sequence: 1) },
             namesMember: false),
        Case(name: "ask for help", permission: nil, request: { _ in .askForHelp }, namesMember: false),
        Case(name: "make presenter", permission: .assignPresenter) { .setPresenter(target: $0) },
        Case(name: "stop a camera", permission: .muteOthers) { .stopCamera(target: $0) },
    ]

    /// Two meetings in one registry: the sender's (with a viewer to act on, a phone, a moderator, a
    /// message and a waiting guest) and another with a member of its own.
    static func registry(senderRole: Role, breakouts: Bool) -> MeetingRegistry {
        let registry = MeetingRegistry()
        for (id, number) in [("m1", "71000"), ("m2", "72000")] {
            let settings = try? BigBlueButtonAPI.createSettings(
                APIRequest(call: "create", rawQuery: "name=\(id)&meetingID=\(id)&voiceBridge=\(number)"), freeVoiceBridge: { number }).get()
            guard let settings else { continue }
            _ = registry.create(settings, roles: TestMeeting.roles, now: 0)
        }
        func run(_ id: String, _ command: MeetingCommand) { _ = registry.handle(id, command, now: 1000) }
        run("m1", .browserEntered(memberID: sender, userID: "s", name: "S", role: senderRole, listenOnly: false, room: "71000"))
        run("m1", .browserEntered(memberID: target, userID: "t", name: "T", role: .viewer, listenOnly: false, room: "71000"))
        run("m1", .phoneEntered(memberID: phone, name: "P", room: "71000"))
        run("m1", .browserEntered(memberID: manager, userID: "m", name: "M", role: .moderator, listenOnly: false, room: "71000"))
        run("m1", .request(from: target, .chat(text: "first", to: nil)))
        run("m1", .guestArrived(.connection(5), name: "G", kind: .browser, userID: "g"))
        run("m2", .browserEntered(memberID: stranger, userID: "x", name: "X", role: .viewer, listenOnly: false, room: "72000"))
        run("m2", .request(from: stranger, .chat(text: "elsewhere", to: nil)))
        if breakouts {
            run("m1", .request(from: manager, .startBreakouts(rooms: [BreakoutPlan(name: "R", members: [])], seconds: 600, freeJoin: true)))
            run("m1", .request(from: manager, .visitBreakout(sequence: 1)))
        }
        return registry
    }

    /// What another meeting holds, to compare before and after.
    static func state(_ registry: MeetingRegistry, _ id: String) -> String {
        guard let m = registry.machine(id) else { return "gone" }
        return "\(m.attendees) \(m.banned) \(m.lock) \(m.rooms.map(\.chat.messages)) \(m.guests) \(m.breakouts.debugDescription)"
    }

    @Test(arguments: cases, roles)
    func everyRequestUnderEveryRoleInItsOwnMeetingAndAnother(_ c: Case, _ role: Role) {
        let allowed = c.permission.map(role.may) ?? true
        // In the sender's own meeting, naming a member of it.
        let own = Self.registry(senderRole: role, breakouts: c.needsBreakouts)
        let other = Self.state(own, "m2")
        let result = own.handle("m1", .request(from: Self.sender, c.request(Self.target)), now: 2000)
        switch result {
        case .success(let effects):
            #expect(allowed, "\(role.name) may not \(c.name), yet it happened")
            #expect(!effects.isEmpty, "\(c.name) did nothing")
        case .failure(let error):
            #expect(!allowed, "\(role.name) may \(c.name), yet: \(error.code.rawValue)")
            #expect(error.code == .notAllowed, "\(c.name) refused for the role, with \(error.code.rawValue)")
        }
        #expect(Self.state(own, "m2") == other, "another meeting is untouched")

        // Naming a member of another meeting: refused, whatever the role, and nothing changes there.
        if c.namesMember {
            let registry = Self.registry(senderRole: role, breakouts: c.needsBreakouts)
            let before = Self.state(registry, "m2")
            let mine = Self.state(registry, "m1")
            let foreign = registry.handle("m1", .request(from: Self.sender, c.request(Self.stranger)), now: 2000)
            #expect(foreign.code == (allowed || c.targetFirst ? .noSuchParticipant : .notAllowed), "\(c.name) naming a stranger")
            #expect(Self.state(registry, "m2") == before && Self.state(registry, "m1") == mine, "a refusal changes nothing")
        }

        // A member of one meeting sending its request to another meeting's machine is nobody there.
        let registry = Self.registry(senderRole: role, breakouts: c.needsBreakouts)
        let before = Self.state(registry, "m2")
        let crossed = registry.handle("m2", .request(from: Self.sender, c.request(Self.stranger)), now: 2000)
        #expect(crossed.code == .sessionExpired && Self.state(registry, "m2") == before)
    }

    @Test func aMemberOfABreakoutRoomIsOutOfReachOfTheMainRoomsRequests() {
        var meeting = TestMeeting()
        meeting.browser(1, .moderator)
        meeting.browser(2)
        meeting.browser(3)
        meeting.must(.request(from: 1, .startBreakouts(rooms: [BreakoutPlan(name: "A", members: [3])], seconds: 600, freeJoin: false)))
        #expect(meeting.request(2, .chat(text: "psst", to: 3)).code == .noSuchParticipant, "private chat stays in one room")
        #expect(meeting.request(1, .rename(target: 3, name: "x")).code == .noSuchParticipant)
        #expect(meeting.request(1, .muteAll(muted: true)).effects == [.mute(memberID: 2, muted: true)], "mute all: this room")
    }
}

/// Random command sequences from several roles, checking after every step what must always hold: the
/// attendees are where the rooms are, each once; a removed user stays out; the API's counts match the
/// attendee list; breakout rooms exist exactly while a session runs; messages and media commands
/// name only members of the meeting; and nothing of an ended meeting remains. A failure prints its
/// seed (`.fixedSeed(…)` replays it) and the shrunk sequence.
@Suite struct MeetingPropertyTests {
    /// Members 1–2 are moderators, 3 an assistant, 4–6 viewers (browsers), 7–8 phones.
    static func role(of member: Int) -> Role {
        switch member {
        case 1, 2: .moderator
        case 3: TestMeeting.roles.role(named: "assistant") ?? .viewer
        default: .viewer
        }
    }

    /// One step, decoded from a number: what happens and who does it to whom.
    static func command(_ n: Int, in meeting: TestMeeting) -> MeetingCommand? {
        let a = (n / 32) % 8 + 1, b = (n / 256) % 8 + 1, flag = (n / 2048) % 2 == 0
        let m = meeting.machine
        let present = m.attendee(a) != nil
        func request(_ r: ParticipantRequest) -> MeetingCommand? { present ? .request(from: a, r) : nil }
        switch n % 32 {
        case 0, 1, 2:
            guard !present else { return nil }
            if a >= 7 { return .phoneEntered(memberID: a, name: "P\(a)", room: m.main.voiceBridge) }
            let user = "user-\(a)"
            guard m.entry(userID: user, role: role(of: a), instance: m.instance, room: m.main.voiceBridge) == .enter else {
                return .guestArrived(.connection(UInt64(a)), name: "G\(a)", kind: .browser, userID: user)
            }
            return .browserEntered(memberID: a, userID: user, name: "B\(a)", role: role(of: a), listenOnly: !flag, room: m.main.voiceBridge)
        case 3: return present ? .left(memberID: a) : nil
        case 4: return request(.mute(target: b, muted: flag))
        case 5: return request(.muteAll(muted: flag))
        case 6: return request(.remove(target: b))
        case 7: return request(.rename(target: b, name: flag ? "New \(b)" : "\u{200B}"))
        case 8: return request(.setRole(target: b, moderator: flag))
        case 9: return request(.hand(target: flag ? nil : b, raised: flag))
        case 10: return request(.lock(microphone: flag, publicChat: !flag, privateChat: nil))
        case 11: return request(.chat(text: "hello \(n)", to: nil))
        case 12: return request(.chat(text: "psst", to: b))
        case 13: return request(.deleteChat(messageID: m.rooms.flatMap(\.chat.messages).last?.id ?? 1))
        case 14: return .guestArrived(.call(UInt64(n)), name: "Caller", kind: .phone, userID: nil)
        case 15: return request(.admit(guest: m.guests.first?.id ?? 1, allow: flag))
        case 16, 17:
            let main = m.attendees(in: m.main.voiceBridge).map(\.memberID).filter { $0 != a }
            return request(.startBreakouts(rooms: [BreakoutPlan(name: "One", members: main.filter { $0 % 2 == 0 }),
                                                   BreakoutPlan(name: "Two", members: main.filter { $0 % 2 == 1 })],
                                           seconds: 30 + b * 10, freeJoin: flag))
        case 18: return request(.extendBreakouts(seconds: b * 10))
        case 19: return request(.endBreakouts)
        case 20: return request(.visitBreakout(sequence: b % 3))
        case 21: return request(.chooseBreakout(sequence: b % 3))
        case 22, 23, 24: return .tick
        case 25: return request(.askForHelp)
        case 26: return request(.messageBreakouts(text: "time"))
        case 27: return .endBreakoutRoom(meetingID: "m1-breakout-\(b % 3)")
        case 28: return .guestLeft(.connection(UInt64(b)))
        case 29: return present ? .renamed(memberID: a, name: "Bridge \(a)") : nil
        case 30: return flag && b == 8 ? request(.endMeeting) : request(.setPresenter(target: b))
        default: return present ? .helpRequested(memberID: a) : nil
        }
    }

    static func checkInvariants(_ m: MeetingMachine, after effects: [MeetingEffect], _ command: MeetingCommand) {
        let ids = m.attendees.map(\.memberID)
        #expect(Set(ids).count == ids.count, "each attendee once (after \(command))")
        let rooms = Set(m.rooms.map(\.voiceBridge))
        #expect(m.attendees.allSatisfy { rooms.contains($0.room) }, "everybody is in a room that exists")
        #expect(!m.attendees.contains { $0.kind == .browser && m.banned.contains($0.userID) }, "a removed user stays out")
        let counted = m.rooms.compactMap { m.snapshot(of: $0.meetingID)?.participantCount }.reduce(0, +)
        #expect(m.ended || counted == m.attendees.count, "the API's counts match the attendee list")
        #expect((m.breakouts == nil) == (m.rooms.count == 1), "breakout rooms exist while a session runs")
        #expect(m.rooms.first?.sequence == 0)
        #expect(m.presenter.map { p in m.attendees.contains { $0.memberID == p && $0.kind == .browser } } ?? true,
                "the presenter, if any, is a browser of the meeting")
        let browsers = Set(m.attendees.filter { $0.kind == .browser }.map(\.memberID))
        for effect in effects {
            switch effect {
            case .send(let message, let to) where message != .removed && message != .meetingEnded:
                #expect(to.allSatisfy(browsers.contains), "\(message.type) goes to browsers of the meeting: \(to)")
            case .mute(let id, _), .rename(let id, _), .hand(let id, _):
                #expect(ids.contains(id), "media commands name members of the meeting")
            default: break
            }
        }
        if m.ended {
            #expect(m.attendees.isEmpty && m.guests.isEmpty && m.rooms.count == 1 && m.main.chat.messages.isEmpty,
                    "nothing of an ended meeting remains")
        }
    }

    @Test func randomCommandSequencesFromEveryRoleKeepTheInvariants() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...65_535).array(of: 10...150)) { steps in
            var meeting = TestMeeting("&guestPolicy=ASK_MODERATOR&maxParticipants=7")
            let registry = MeetingRegistry()
            _ = registry.create(meeting.machine.settings, roles: TestMeeting.roles, now: meeting.now)
            for n in steps {
                if n % 7 == 0 { meeting.now += Millis((n / 7) % 20) * 1000 }
                guard let command = Self.command(n, in: meeting) else { continue }
                let ended = meeting.machine.ended
                let record = meeting.machine.record
                let result = meeting.run(command)
                // What the owner relies on to skip writing idle ticks.
                if case .tick = command, result.effects.isEmpty { #expect(meeting.machine.record == record, "an idle tick changed the record") }
                _ = registry.handle("m1", command, now: meeting.now)
                if ended {
                    #expect(result.code == .meetingEnded, "an ended meeting takes no command")
                    continue
                }
                Self.checkInvariants(meeting.machine, after: result.effects, command)
            }
            // The registry ran the same commands: it forgets an ended meeting and frees its numbers.
            if meeting.machine.ended {
                #expect(registry.machine("m1") == nil && registry.isFree("71000") && registry.isFree("7100001"))
            } else {
                #expect(registry.machine("m1")?.attendees == meeting.machine.attendees)
            }
        }
    }
}
