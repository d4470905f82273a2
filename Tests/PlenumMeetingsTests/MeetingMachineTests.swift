import Foundation
import PlenumMeetings
import Testing

/// A meeting's machine on virtual time, with the owner's part played by the test: it enters browsers
/// and phones as the media loop would report them and reads the effects as values.
struct TestMeeting {
    static let roles = RoleBook(custom: ["assistant": [.unmuteSelf, .chat, .muteOthers]])
    static let start: Millis = 1_800_000_000_000
    var machine: MeetingMachine
    var now = start

    init(_ query: String = "") {
        let settings = try? BigBlueButtonAPI.createSettings(
            APIRequest(call: "create", rawQuery: "name=Class&meetingID=m1&voiceBridge=71000" + query), freeVoiceBridge: { "71000" }
        ).get()
        if settings == nil { Issue.record("the fixture's settings were refused") }
        machine = MeetingMachine(settings: settings ?? MeetingMachine.configuredRoom(number: "0", name: nil, now: 0).settings,
                                 roles: Self.roles, now: Self.start, instance: "grant-1")
    }

    @discardableResult
    mutating func run(_ command: MeetingCommand) -> Result<[MeetingEffect], SignalError> { machine.handle(command, now: now) }

    /// Runs a command that must succeed; its effects.
    @discardableResult
    mutating func must(_ command: MeetingCommand, sourceLocation: SourceLocation = #_sourceLocation) -> [MeetingEffect] {
        switch run(command) {
        case .success(let effects): return effects
        case .failure(let error):
            Issue.record("refused: \(error.code.rawValue)", sourceLocation: sourceLocation)
            return []
        }
    }

    /// A browser enters the main room (or `room`) as the owner lets it: only when `entry` says so.
    @discardableResult
    mutating func browser(_ id: Int, _ role: Role = .viewer, user: String? = nil, room: String = "71000") -> [MeetingEffect] {
        let user = user ?? "u\(id)"
        guard machine.entry(userID: user, role: role, instance: "grant-1", room: room) == .enter else { return [] }
        return must(.browserEntered(memberID: id, userID: user, name: "B\(id)", role: role, listenOnly: false, room: room))
    }

    @discardableResult
    mutating func phone(_ id: Int, room: String = "71000") -> [MeetingEffect] {
        must(.phoneEntered(memberID: id, name: "P\(id)", room: room))
    }

    mutating func request(_ from: Int, _ request: ParticipantRequest) -> Result<[MeetingEffect], SignalError> {
        run(.request(from: from, request))
    }

    mutating func advance(seconds: Int) -> [MeetingEffect] {
        var effects: [MeetingEffect] = []
        for _ in 0..<seconds {
            now += 1000
            if case .success(let e) = run(.tick) { effects += e }
        }
        return effects
    }
}

extension Result where Success == [MeetingEffect], Failure == SignalError {
    var code: SignalError.Code? {
        if case .failure(let error) = self { error.code } else { nil }
    }
    var effects: [MeetingEffect] { (try? get()) ?? [] }
}

extension Result<Void, SignalError> {
    var failureCode: SignalError.Code? {
        if case .failure(let error) = self { error.code } else { nil }
    }
}

extension [MeetingEffect] {
    /// The messages of these effects, with their recipients.
    var messages: [(ControlMessage, [Int])] {
        compactMap { if case .send(let message, let to) = $0 { (message, to) } else { nil } }
    }
    func sent(_ type: String) -> [Int]? { messages.first { $0.0.type == type }?.1 }
}

@Suite struct MeetingMachineTests {
    @Test func theWelcomeLeavesOutTheDialInSentenceWithoutANumber() {
        let welcome = "welcome=Welcome+to+%3Cb%3E%25%25CONFNAME%25%25%3C%2Fb%3E!+Dial+%25%25DIALNUM%25%25+and+enter+%25%25CONFNUM%25%25.%3Cbr%3EHave+fun."
        #expect(TestMeeting("&" + welcome).machine.welcomeText == "Welcome to <b>Class</b>! <br>Have fun.")
        #expect(TestMeeting("&" + welcome + "&dialNumber=%2B49+30+1234").machine.welcomeText
            == "Welcome to <b>Class</b>! Dial +49 30 1234 and enter 71000.<br>Have fun.")
        #expect(TestMeeting("&welcome=Dial+%25%25DIALNUM%25%25").machine.welcomeText == "", "nothing left: no welcome")
    }

    @Test func attendeesComeMutedOnStartAndTheWelcomeFollows() {
        var meeting = TestMeeting("&muteOnStart=true")
        let effects = meeting.browser(1, .moderator)
        #expect(effects.first == .mute(memberID: 1, muted: true) && effects.contains(.welcome(memberID: 1)))
        #expect(effects.sent("guests") == [1], "a moderator sees the waiting room at once")
        #expect(meeting.phone(2) == [.mute(memberID: 2, muted: true)])
        #expect(meeting.machine.attendees.map(\.kind) == [.browser, .phone] && meeting.machine.running)
        #expect(meeting.machine.attendee(2)?.userID == "v_2" && meeting.machine.attendee(2)?.role == .viewer)
        meeting.must(.left(memberID: 1))
        meeting.must(.left(memberID: 2))
        #expect(meeting.machine.attendees.isEmpty && !meeting.machine.running && meeting.machine.hasUserJoined)
    }

    @Test func theMicrophoneLockMutesViewersAndKeepsThemMuted() {
        var meeting = TestMeeting()
        meeting.browser(1, .moderator)
        meeting.browser(2)
        meeting.phone(3)
        let locked = meeting.request(1, .lock(microphone: true, publicChat: nil, privateChat: nil)).effects
        #expect(locked.contains(.mute(memberID: 2, muted: true)) && locked.contains(.mute(memberID: 3, muted: true)))
        #expect(!locked.contains(.mute(memberID: 1, muted: true)), "moderators are exempt")
        #expect(locked.sent("lock") == [1, 2])
        #expect(meeting.request(2, .mute(target: nil, muted: false)).code == .microphonesLocked)
        #expect(!meeting.machine.mayUnmute(3) && meeting.machine.mayUnmute(1), "a phone's unmute key asks the same")
        #expect(meeting.browser(4) .first == .mute(memberID: 4, muted: true), "who comes later is muted too")
        #expect(meeting.request(2, .mute(target: nil, muted: true)).code == nil, "muting oneself is always allowed")
    }

    /// Issue 14: a moderator who enters after others is a moderator in their lists (the bridge announced
    /// it as a viewer); viewers are not announced again.
    @Test func aLateModeratorsRoleReachesTheOthers() {
        var meeting = TestMeeting()
        meeting.browser(1)
        meeting.phone(2)
        let effects = meeting.browser(3, .moderator)
        #expect(effects.contains(.send(.role(memberID: 3, role: "moderator"), to: [1])), "browsers only, not itself")
        #expect(meeting.browser(4).sent("role") == nil)
    }

    /// BigBlueButton's lockSettingsHideUserList: from `create` or a moderator's lock; viewers can then no
    /// longer write to each other privately (they do not see each other), moderators still can.
    @Test func hidingViewersFromEachOther() throws {
        var meeting = TestMeeting("&lockSettingsHideUserList=true")
        #expect(meeting.machine.lock.hideUserList)
        meeting.browser(1, .moderator)
        meeting.browser(2)
        meeting.browser(3)
        #expect(meeting.request(2, .chat(text: "hi", to: 3)).code == .noSuchParticipant)
        #expect(meeting.request(2, .chat(text: "hi", to: 1)).code == nil, "viewers reach the moderators")
        #expect(meeting.request(1, .chat(text: "hi", to: 2)).code == nil)
        let lifted = meeting.request(1, .lock(microphone: nil, publicChat: nil, privateChat: nil, hideUserList: false)).effects
        #expect(lifted.contains(.send(.lock(meeting.machine.lock), to: [1, 2, 3])) && !meeting.machine.lock.hideUserList)
        #expect(meeting.request(2, .chat(text: "hi", to: 3)).code == nil)
        #expect(meeting.request(2, .lock(microphone: nil, publicChat: nil, privateChat: nil, hideUserList: true)).code == .notAllowed)
        let json = String(decoding: try JSONEncoder().encode(ControlMessage.lock(meeting.machine.lock)), as: UTF8.self)
        #expect(json.contains(#""hideViewers":false"#))
        // A meeting stored before the setting existed decodes with it off.
        let old = try JSONDecoder().decode(LockSettings.self, from: Data(#"{"disableMicrophone":true}"#.utf8))
        #expect(old.disableMicrophone && !old.hideUserList)
    }

    /// Cameras (issue 15): BigBlueButton's create parameters and locks decide who may publish how many
    /// and who sees whose; locking stops the viewers' cameras that are on, a moderator stops one.
    @Test func camerasFollowTheLocksAndCaps() throws {
        var meeting = TestMeeting("&userCameraCap=2&meetingCameraCap=3&webcamsOnlyForModerator=true")
        #expect(meeting.machine.settings.userCameraCap == 2 && meeting.machine.settings.meetingCameraCap == 3)
        meeting.browser(1, .moderator)
        meeting.browser(2)
        meeting.browser(3)
        #expect(meeting.machine.cameraAllowance(2, othersInMeeting: 0) == .success(2), "the user cap")
        #expect(meeting.machine.cameraAllowance(2, othersInMeeting: 2) == .success(1), "the meeting cap counts the others")
        #expect(meeting.machine.cameraAllowance(2, othersInMeeting: 3) == .failure(.cameraLimit))
        // webcamsOnlyForModerator: viewers see the moderators' cameras and their own.
        #expect(!meeting.machine.sees(camera: 3, viewer: 2) && meeting.machine.sees(camera: 1, viewer: 2))
        #expect(meeting.machine.sees(camera: 2, viewer: 2) && meeting.machine.sees(camera: 2, viewer: 1))
        // getMeetingInfo counts what the loop reports.
        meeting.must(.cameras(memberID: 2, count: 1))
        meeting.must(.cameras(memberID: 1, count: 1))
        let snapshot = try #require(meeting.machine.snapshot(of: meeting.machine.settings.meetingID))
        #expect(snapshot.videoCount == 2)
        let xml = BigBlueButtonAPI.meetingInfoResponse(snapshot)
        #expect(xml.contains("<videoCount>2</videoCount>") && xml.contains("<hasVideo>true</hasVideo>")
                && xml.contains("<hasVideo>false</hasVideo>"))
        // Locking viewers' cameras stops the viewer's that is on (not the moderator's), and refuses new ones.
        let locked = meeting.request(1, .lock(microphone: nil, publicChat: nil, privateChat: nil, camera: true)).effects
        #expect(locked.contains(.stopCameras(memberID: 2, reason: .locked)) && !locked.contains(.stopCameras(memberID: 1, reason: .locked)))
        #expect(meeting.machine.cameraAllowance(3, othersInMeeting: 0) == .failure(.camerasLocked))
        #expect(meeting.machine.cameraAllowance(1, othersInMeeting: 0) == .success(2), "moderators are never locked")
        #expect(String(decoding: try JSONEncoder().encode(ControlMessage.lock(meeting.machine.lock)), as: UTF8.self)
            .contains(#""camera":true"#))
        // A moderator stops a camera; a viewer may not; nobody stops one in another room.
        #expect(meeting.request(1, .stopCamera(target: 2)).effects == [.stopCameras(memberID: 2, reason: .moderator)])
        #expect(meeting.request(3, .stopCamera(target: 2)).code == .notAllowed)
        #expect(meeting.request(1, .stopCamera(target: 99)).code == .noSuchParticipant)
        // A viewer made a moderator keeps its camera; made a viewer again under the lock, it loses it.
        meeting.must(.request(from: 1, .setRole(target: 3, moderator: true)))
        meeting.must(.cameras(memberID: 3, count: 1))
        #expect(meeting.request(1, .setRole(target: 3, moderator: false)).effects.contains(.stopCameras(memberID: 3, reason: .locked)))
    }

    /// A screen is shared by the presenter or a moderator (BigBlueButton: the presenter), unless
    /// `create` switched screen sharing off.
    @Test func thePresenterOrAModeratorSharesTheScreen() {
        var meeting = TestMeeting("")
        meeting.browser(1, .moderator)
        meeting.browser(2)
        meeting.browser(3)
        #expect(meeting.machine.mayShareScreen(1).failureCode == nil)
        #expect(meeting.machine.mayShareScreen(2).failureCode == .notAllowed)
        meeting.must(.request(from: 1, .setPresenter(target: 2)))
        #expect(meeting.machine.mayShareScreen(2).failureCode == nil && meeting.machine.mayShareScreen(3).failureCode == .notAllowed)
        var off = TestMeeting("&disabledFeatures=screenshare")
        off.browser(1, .moderator)
        #expect(off.machine.mayShareScreen(1).failureCode == .featureDisabled)
    }

    @Test func disabledFeaturesSwitchCamerasChatAndBreakoutsOff() {
        var meeting = TestMeeting("&disabledFeatures=cameras,chat,breakoutRooms,polls,unknownThing")
        #expect(meeting.machine.settings.disabledFeatures == [.cameras, .chat, .breakoutRooms])
        meeting.browser(1, .moderator)
        meeting.browser(2)
        #expect(meeting.machine.cameraAllowance(1, othersInMeeting: 0) == .failure(.featureDisabled("cameras")))
        #expect(meeting.request(2, .chat(text: "hi", to: nil)).code == .featureDisabled)
        #expect(meeting.request(1, .startBreakouts(rooms: [BreakoutPlan(name: "A", members: [2])], seconds: 60, freeJoin: false)).code
                == .featureDisabled)
        #expect(TestMeeting("").machine.settings.userCameraCap == 3, "BigBlueButton's default")
        var unlimited = TestMeeting("&userCameraCap=0")
        unlimited.browser(1)
        #expect(unlimited.machine.cameraAllowance(1, othersInMeeting: 99) == .success(.max), "0 is no cap, as in BigBlueButton")
    }

    @Test func theWaitingRoomHoldsGuestsUntilAModeratorDecides() {
        var meeting = TestMeeting("&guestPolicy=ASK_MODERATOR")
        #expect(meeting.machine.entry(userID: "anna", role: .viewer, instance: "grant-1", room: "71000") == .wait)
        #expect(meeting.machine.entry(userID: "t", role: .moderator, instance: "grant-1", room: "71000") == .enter)
        #expect(meeting.machine.entry(userID: "anna", role: .viewer, instance: "old-grant", room: "71000") == .refused(.meetingEnded))
        #expect(meeting.machine.phoneEntry(room: "71000") == .wait)
        meeting.must(.guestArrived(.connection(7), name: "Anna", kind: .browser, userID: "anna"))
        meeting.must(.guestArrived(.call(9), name: "Phone", kind: .phone, userID: nil))
        let welcomed = meeting.browser(1, .moderator)
        guard case .guests(let guests) = welcomed.messages.first(where: { $0.0.type == "guests" })?.0 else {
            Issue.record("no guests")
            return
        }
        #expect(guests.map(\.name) == ["Anna", "Phone"])
        #expect(meeting.request(1, .admit(guest: 99, allow: true)).code == .noSuchGuest)
        let admitted = meeting.request(1, .admit(guest: guests[0].id, allow: true)).effects
        #expect(admitted.contains(.decide(.connection(7), admit: true)))
        #expect(meeting.machine.entry(userID: "anna", role: .viewer, instance: "grant-1", room: "71000") == .enter,
                "let in once: a reconnect does not wait again")
        #expect(meeting.request(1, .admit(guest: guests[0].id, allow: true)).code == .noSuchGuest, "decided once")
        meeting.must(.guestLeft(.call(9)))
        #expect(meeting.machine.guests.isEmpty)
        meeting.must(.guestArrived(.call(10), name: "Late", kind: .phone, userID: nil))
        let ended = meeting.must(.end(.api))
        #expect(ended.contains(.decide(.call(10), admit: false)), "the meeting ended: nobody waits for it")
    }

    @Test func guestsOfADenyingMeetingAreRefusedAndRemovedOnesStayOut() {
        let deny = TestMeeting("&guestPolicy=ALWAYS_DENY")
        #expect(deny.machine.entry(userID: "x", role: .viewer, instance: "grant-1", room: "71000") == .refused(.guestsNotAdmitted))
        #expect(deny.machine.phoneEntry(room: "71000") == .refused(.guestsNotAdmitted))
        var meeting = TestMeeting("&maxParticipants=3")
        meeting.browser(1, .moderator)
        meeting.browser(2, user: "ben")
        let removed = meeting.request(1, .remove(target: 2)).effects
        #expect(removed.sent("removed") == [2] && removed.contains(.disconnect(memberID: 2)))
        #expect(meeting.machine.entry(userID: "ben", role: .viewer, instance: "grant-1", room: "71000") == .refused(.removed))
        #expect(meeting.request(1, .remove(target: 1)).code == .noSuchParticipant, "nobody removes themselves")
        meeting.browser(3)
        meeting.phone(4)
        #expect(meeting.machine.entry(userID: "z", role: .viewer, instance: "grant-1", room: "71000") == .refused(.meetingFull))
    }

    @Test func chatIsPublicOrPrivateLockedForViewersAndLimited() {
        var meeting = TestMeeting()
        meeting.browser(1, .moderator)
        meeting.browser(2)
        meeting.browser(3)
        meeting.phone(4)
        #expect(meeting.request(2, .chat(text: "hello", to: nil)).effects.sent("chat") == [1, 2, 3])
        #expect(meeting.request(2, .chat(text: "psst", to: 3)).effects.sent("chat") == [2, 3])
        #expect(meeting.request(2, .chat(text: "psst", to: 4)).code == .noSuchParticipant, "a phone cannot read")
        #expect(meeting.request(2, .chat(text: "  ", to: nil)).code == .emptyMessage)
        #expect(meeting.machine.chat(visibleTo: 1).count == 1 && meeting.machine.chat(visibleTo: 3).count == 2)
        meeting.must(.request(from: 1, .lock(microphone: nil, publicChat: true, privateChat: true)))
        #expect(meeting.request(2, .chat(text: "x", to: nil)).code == .publicChatLocked)
        #expect(meeting.request(2, .chat(text: "x", to: 3)).code == .privateChatLocked)
        #expect(meeting.request(2, .chat(text: "help", to: 1)).code == nil, "a moderator can always be written to")
        #expect(meeting.request(1, .chat(text: "announcement", to: nil)).code == nil, "moderators are exempt")
        meeting.must(.request(from: 1, .lock(microphone: nil, publicChat: false, privateChat: false)))
        var refused = 0
        for i in 0..<10 where meeting.request(3, .chat(text: "spam \(i)", to: nil)).code == .tooManyMessages { refused += 1 }
        #expect(refused == 5, "a burst of five, then one a second")
        meeting.now += 1000
        #expect(meeting.request(3, .chat(text: "later", to: nil)).code == nil)
        let first = meeting.machine.main.chat.messages[0].id
        #expect(meeting.request(2, .deleteChat(messageID: first)).code == .notAllowed)
        #expect(meeting.request(1, .deleteChat(messageID: first)).effects.sent("chat-deleted") == [1, 2, 3])
    }

    @Test func rolesChangeAndTheNewModeratorSeesTheWaitingRoom() {
        var meeting = TestMeeting()
        meeting.browser(1, .moderator)
        meeting.browser(2)
        meeting.phone(3)
        let promoted = meeting.request(1, .setRole(target: 2, moderator: true)).effects
        #expect(promoted.sent("you") == [2] && promoted.sent("role") == [1, 2] && promoted.sent("guests") == [2])
        #expect(meeting.machine.attendee(2)?.role.isModerator == true)
        #expect(meeting.request(2, .mute(target: 3, muted: true)).effects == [.mute(memberID: 3, muted: true)])
        #expect(meeting.request(2, .mute(target: 3, muted: false)).code == .onlySelfUnmute, "nobody opens another's microphone")
        #expect(meeting.request(1, .rename(target: 3, name: " \u{202E}Carla ")).effects == [.rename(memberID: 3, name: "Carla")])
        #expect(meeting.request(1, .rename(target: 3, name: "\u{200B}")).code == .nameRequired)
        meeting.must(.request(from: 1, .setRole(target: 2, moderator: false)))
        #expect(meeting.request(2, .mute(target: 3, muted: true)).code == .notAllowed)
    }

    @Test func theFirstModeratorPresentsUntilAnotherIsChosenOrTheyLeave() {
        var meeting = TestMeeting()
        meeting.browser(1)
        #expect(meeting.machine.presenter == nil, "a viewer does not present by coming first")
        let teacher = meeting.browser(2, .moderator)
        #expect(meeting.machine.presenter == 2 && teacher.sent("presenter") == [1, 2])
        meeting.browser(3, .moderator)
        meeting.phone(4)
        #expect(meeting.machine.presenter == 2, "the first moderator only")
        #expect(meeting.request(1, .setPresenter(target: 1)).code == .notAllowed)
        #expect(meeting.request(2, .setPresenter(target: 4)).code == .noSuchParticipant, "a phone has no screen to present")
        #expect(meeting.request(2, .setPresenter(target: 1)).effects.sent("presenter") == [1, 2, 3])
        #expect(meeting.machine.snapshot(of: "m1")?.attendees.filter(\.isPresenter).map(\.fullName) == ["B1"])
        #expect(meeting.must(.left(memberID: 1)).sent("presenter") == [2, 3], "a moderator still there takes over")
        #expect(meeting.machine.presenter == 2)
        meeting.must(.left(memberID: 2))
        meeting.must(.left(memberID: 3))
        #expect(meeting.machine.presenter == nil)
    }

    @Test func helpReachesTheModeratorsWhereverTheyAre() {
        var meeting = TestMeeting()
        meeting.browser(1, .moderator)
        meeting.browser(2)
        meeting.phone(3)
        #expect(meeting.must(.helpRequested(memberID: 3)).sent("help") == [1])
        #expect(meeting.request(2, .askForHelp).effects.sent("help") == [1])
    }

    @Test func breakoutRoomsRunOnTheClockWithAWarningAndEveryoneComesBack() {
        var meeting = TestMeeting()
        meeting.browser(1, .moderator)
        meeting.browser(2)
        meeting.phone(3)
        meeting.browser(4)
        #expect(meeting.request(2, .startBreakouts(rooms: [BreakoutPlan(name: "Red", members: [2])], seconds: 300, freeJoin: false)).code
                == .notAllowed)
        #expect(meeting.request(1, .startBreakouts(rooms: [BreakoutPlan(name: "Red", members: [99])], seconds: 300, freeJoin: false))
            .code == .noSuchParticipant, "only members of this meeting's main room")
        #expect(meeting.request(1, .startBreakouts(rooms: [], seconds: 300, freeJoin: false)).code == .badBreakoutPlan)
        let started = meeting.request(1, .startBreakouts(
            rooms: [BreakoutPlan(name: "Red", members: [2, 3]), BreakoutPlan(name: " ", members: [4])], seconds: 180, freeJoin: false)).effects
        #expect(meeting.machine.rooms.map(\.voiceBridge) == ["71000", "7100001", "7100002"])
        #expect(meeting.machine.rooms.map(\.name) == ["Class", "Red", "Room 2"])
        #expect(started.contains(.move(memberID: 3, from: "71000", to: "7100001", prompt: "conf-breakout-moving")))
        #expect(started.sent("breakouts") == [1] && started.sent("breakout") == [2])
        #expect(meeting.machine.snapshot(of: "m1-breakout-1")?.participantCount == 2)
        #expect(meeting.machine.snapshot(of: "m1")?.participantCount == 1 && meeting.machine.snapshot(of: "m1")?.breakoutRooms.count == 2)
        #expect(meeting.request(2, .mute(target: 1, muted: true)).code == .noSuchParticipant, "another room's member")
        #expect(meeting.request(2, .chat(text: "in red", to: nil)).effects.sent("chat") == [2], "each room has its own chat")
        #expect(meeting.request(2, .chooseBreakout(sequence: 2)).code == .breakoutsNotChoosable)
        #expect(meeting.request(1, .visitBreakout(sequence: 2)).effects == [.move(memberID: 1, from: "71000", to: "7100002", prompt: nil)])
        #expect(meeting.request(1, .messageBreakouts(text: "Two minutes")).effects.messages.map(\.1) == [[2], [1, 4]])
        let warned = meeting.advance(seconds: 120)
        #expect(warned.filter { if case .play = $0 { true } else { false } }.count == 2, "one minute before the end, in every room")
        #expect(meeting.machine.breakouts != nil)
        let over = meeting.advance(seconds: 61)
        #expect(over.contains(.move(memberID: 3, from: "7100001", to: "71000", prompt: "conf-breakout-returning")))
        #expect(over.contains(.closeRoom(voiceBridge: "7100002", meetingID: "m1-breakout-2")))
        #expect(meeting.machine.breakouts == nil && meeting.machine.rooms.count == 1)
        #expect(meeting.machine.attendees.allSatisfy { $0.room == "71000" })
        #expect(meeting.machine.chat(visibleTo: 2).count == 0, "a breakout room's chat went with it")
    }

    @Test func oneBreakoutRoomEndsByTheAPIAndFreeJoinLetsPeopleChoose() {
        var meeting = TestMeeting()
        meeting.browser(1, .moderator)
        meeting.browser(2)
        meeting.must(.request(from: 1, .startBreakouts(
            rooms: [BreakoutPlan(name: "A", members: []), BreakoutPlan(name: "B", members: [])], seconds: 600, freeJoin: true)))
        #expect(meeting.request(2, .chooseBreakout(sequence: 2)).effects == [.move(memberID: 2, from: "71000", to: "7100002", prompt: nil)])
        let ended = meeting.must(.endBreakoutRoom(meetingID: "m1-breakout-2"))
        #expect(ended.contains(.move(memberID: 2, from: "7100002", to: "71000", prompt: "conf-breakout-returning")))
        #expect(meeting.machine.rooms.map(\.sequence) == [0, 1] && meeting.machine.breakouts != nil)
        #expect(meeting.run(.endBreakoutRoom(meetingID: "m1")).code == .noSuchBreakoutRoom)
        #expect(meeting.request(1, .extendBreakouts(seconds: 60)).code == nil)
        #expect(meeting.machine.breakouts?.endsAt == TestMeeting.start + 660_000)
    }

    @Test func meetingsEndByDurationEmptinessOrWhenNobodyCame() {
        var nobody = TestMeeting()
        nobody.machine.noShowTimeout = 10_000
        let effects = nobody.advance(seconds: 11)
        #expect(effects.last == .ended(.noShow) && nobody.machine.ended)
        #expect(nobody.run(.tick).code == .meetingEnded, "an ended meeting takes no command")

        var empty = TestMeeting()
        empty.browser(1)
        _ = empty.advance(seconds: 120)
        #expect(!empty.machine.ended, "somebody is in it")
        empty.must(.left(memberID: 1))
        #expect(empty.advance(seconds: 61).last == .ended(.empty))

        var timed = TestMeeting("&duration=1")
        timed.browser(1, .moderator)
        let over = timed.advance(seconds: 61)
        #expect(over.sent("meeting-ended") == [1] && over.contains(.closeRoom(voiceBridge: "71000", meetingID: "m1")))
        #expect(over.last == .ended(.duration) && !timed.machine.forciblyEnded && timed.machine.attendees.isEmpty)
    }

    @Test func aConfiguredRoomHasViewersOnlyAndForgetsItsChatWhenEmpty() {
        var room = MeetingMachine.configuredRoom(number: "3000", name: "Lobby", now: 0)
        _ = room.handle(.browserEntered(memberID: 1, userID: "b1", name: "A", role: .viewer, listenOnly: false, room: "3000"), now: 1)
        _ = room.handle(.request(from: 1, .chat(text: "hi", to: nil)), now: 2)
        #expect(room.chat(visibleTo: 1).count == 1)
        #expect(room.handle(.request(from: 1, .lock(microphone: true, publicChat: nil, privateChat: nil)), now: 3).code == .notAllowed)
        _ = room.handle(.left(memberID: 1), now: 4)
        #expect(room.main.chat.messages.isEmpty)
        _ = room.handle(.tick, now: 10_000_000)
        #expect(!room.ended, "configured rooms do not end")
    }
}
