import PlenumCore

/// Breakout rooms (issue 7): 1–16 rooms of the meeting, each under a voice bridge of its own (the
/// parent's number and the room's two digits) and shown by the API as a meeting of its own; moving
/// people between them is a transfer between conferences of one media loop.
extension MeetingMachine {
    mutating func performBreakout(_ request: ParticipantRequest, by sender: Attendee, now: Millis,
                                  isNumberFree: (String) -> Bool, into out: inout [MeetingEffect]) -> Result<Void, SignalError> {
        let manages = sender.role.may(.manageBreakouts)
        switch request {
        case .startBreakouts(let plans, let seconds, let freeJoin):
            guard manages else { return .failure(.notAllowed("manage breakout rooms")) }
            guard breakouts == nil else { return .failure(.breakoutsRunning) }
            guard (1...16).contains(plans.count) else { return .failure(SignalError(.badBreakoutPlan, "1 to 16 breakout rooms")) }
            guard (5...24 * 3600).contains(seconds) else { return .failure(SignalError(.badBreakoutPlan, "5 s to 24 h")) }
            // Only members of the main room can be sent away, each to one room.
            let planned = plans.flatMap(\.members)
            guard planned.allSatisfy({ attendee($0)?.room == main.voiceBridge }), Set(planned).count == planned.count else {
                return .failure(.noSuchParticipant)
            }
            var opened: [MeetingRoom] = []
            for (index, plan) in plans.enumerated() {
                let name = DisplayName.clean(plan.name) ?? "Room \(index + 1)"
                var roomSettings = MeetingSettings.breakout(of: settings, sequence: index + 1, name: name)
                roomSettings.lock = lock
                guard isNumberFree(roomSettings.voiceBridge) else {
                    return .failure(SignalError(.badBreakoutPlan, "the breakout rooms' numbers are taken"))
                }
                opened.append(MeetingRoom(settings: roomSettings, now: now))
            }
            for room in opened {
                rooms.append(room)
                out.append(.openRoom(room))
            }
            breakouts = BreakoutSession(freeJoin: freeJoin, startedAt: now, endsAt: now + Millis(seconds) * 1000)
            for (room, plan) in zip(opened, plans) {
                for memberID in plan.members { move(memberID, to: room.voiceBridge, prompt: "conf-breakout-moving", into: &out) }
            }
            announceBreakouts(now: now, into: &out)

        case .extendBreakouts(let seconds):
            guard manages else { return .failure(.notAllowed("manage breakout rooms")) }
            guard var session = breakouts, (1...24 * 3600).contains(seconds) else { return .failure(.noBreakoutRooms) }
            session.endsAt += Millis(seconds) * 1000
            session.warned = false
            breakouts = session
            announceBreakouts(now: now, into: &out)

        case .endBreakouts:
            guard manages else { return .failure(.notAllowed("manage breakout rooms")) }
            guard breakouts != nil else { return .failure(.noBreakoutRooms) }
            endBreakouts(now: now, into: &out)

        case .visitBreakout(let sequence):
            guard manages else { return .failure(.notAllowed("manage breakout rooms")) }
            guard breakouts != nil, let target = rooms.first(where: { $0.sequence == sequence }), target.voiceBridge != sender.room
            else { return .failure(.noSuchBreakoutRoom) }
            move(sender.memberID, to: target.voiceBridge, prompt: nil, into: &out)

        case .chooseBreakout(let sequence):
            guard breakouts?.freeJoin == true else { return .failure(.breakoutsNotChoosable) }
            guard let target = rooms.first(where: { $0.sequence == sequence }), target.voiceBridge != sender.room else {
                return .failure(.noSuchBreakoutRoom)
            }
            move(sender.memberID, to: target.voiceBridge, prompt: nil, into: &out)

        case .messageBreakouts(let text):
            guard manages else { return .failure(.notAllowed("manage breakout rooms")) }
            guard breakouts != nil else { return .failure(.noBreakoutRooms) }
            // The message appears in every room's chat, from the moderator.
            var posted: [(ChatLog.Message, String)] = []
            for room in rooms.dropFirst() {
                switch post(in: room.voiceBridge, from: sender, to: nil, text: text, now: now) {
                case .failure(let refusal): return .failure(.chat(refusal))
                case .success(let message): posted.append((message, room.voiceBridge))
                }
            }
            for (message, room) in posted {
                let readers = browsers(in: room)
                if !readers.isEmpty { out.append(.send(.chat(message), to: readers)) }
            }

        default:
            return .failure(.unknownType)
        }
        return .success(())
    }

    /// Everybody back to the main room, and the rooms closed.
    mutating func endBreakouts(now: Millis, into out: inout [MeetingEffect]) {
        for room in rooms.dropFirst() { close(room, into: &out) }
        breakouts = nil
        announceBreakouts(now: now, into: &out)
    }

    /// One room closes: its people go back to the main room, and its chat goes with it.
    mutating func close(_ room: MeetingRoom, into out: inout [MeetingEffect]) {
        for attendee in attendees(in: room.voiceBridge) {
            move(attendee.memberID, to: main.voiceBridge, prompt: "conf-breakout-returning", into: &out)
        }
        rooms.removeAll { $0.voiceBridge == room.voiceBridge }
        out.append(.closeRoom(voiceBridge: room.voiceBridge, meetingID: room.meetingID))
    }

    /// The managers see the rooms, who is where, and the time left; with free join everybody in the
    /// main room sees them too (to pick one), and everybody in a room learns of its new end.
    mutating func announceBreakouts(now: Millis, into out: inout [MeetingEffect]) {
        let view = BreakoutsView(
            active: breakouts != nil,
            rooms: rooms.dropFirst().map { room in
                .init(sequence: room.sequence, name: room.name, voiceBridge: room.voiceBridge,
                      members: attendees(in: room.voiceBridge).map(\.memberID))
            },
            freeJoin: breakouts?.freeJoin ?? false, endsAt: breakouts?.endsAt)
        var readers = browsers(with: .manageBreakouts)
        if breakouts == nil || breakouts?.freeJoin == true {
            readers += browsers(in: main.voiceBridge, without: .manageBreakouts)
        }
        if !readers.isEmpty { out.append(.send(.breakouts(view), to: readers)) }
        for room in rooms.dropFirst() {
            let inRoom = browsers(in: room.voiceBridge)
            if let info = breakoutInfo(room: room.voiceBridge), !inRoom.isEmpty { out.append(.send(.breakout(info), to: inRoom)) }
        }
    }
}
