import PlenumCore

/// The participants' requests: each checked against the sender's role in this meeting, and every
/// member a request names must be of this meeting — most of them of the sender's own room.
extension MeetingMachine {
    mutating func perform(_ request: ParticipantRequest, by sender: Attendee, now: Millis, isNumberFree: (String) -> Bool,
                          into out: inout [MeetingEffect]) -> Result<Void, SignalError> {
        let role = sender.role
        /// A member of the sender's room: ids from other rooms and meetings are refused.
        func inRoom(_ memberID: Int) -> Attendee? {
            attendee(memberID).flatMap { $0.room == sender.room ? $0 : nil }
        }
        switch request {
        case .mute(let target, let muted):
            // The target first (as the protocol has always answered: an id that is not in the room is
            // "no such participant" for everybody), then the role.
            let memberID = target ?? sender.memberID
            guard inRoom(memberID) != nil else { return .failure(.noSuchParticipant) }
            if memberID == sender.memberID {
                if !muted {
                    guard role.may(.unmuteSelf) else { return .failure(.notAllowed("unmute")) }
                    if lock.disableMicrophone, !role.isModerator { return .failure(.microphonesLocked) }
                }
            } else {
                guard role.may(.muteOthers) else { return .failure(.notAllowed("mute others")) }
                if !muted, !role.may(.unmuteOthers) { return .failure(.onlySelfUnmute) }
            }
            out.append(.mute(memberID: memberID, muted: muted))

        case .muteAll(let muted):
            guard role.may(.muteOthers) else { return .failure(.notAllowed("mute others")) }
            if !muted, !role.may(.unmuteOthers) { return .failure(.onlySelfUnmute) }
            for other in attendees(in: sender.room) where other.memberID != sender.memberID && !other.role.isModerator {
                out.append(.mute(memberID: other.memberID, muted: muted))
            }

        case .remove(let target):
            guard role.may(.remove) else { return .failure(.notAllowed("remove participants")) }
            guard let other = inRoom(target), target != sender.memberID else { return .failure(.noSuchParticipant) }
            // A removed browser may not come back with its grant; a phone may call again (it has no grant).
            if other.kind == .browser {
                banned.insert(other.userID)
                out.append(.send(.removed, to: [target]))
            }
            attendees.removeAll { $0.memberID == target }
            if presenter == target { handOnPresenter(into: &out) }
            out.append(.disconnect(memberID: target))

        case .rename(let target, let name):
            guard role.may(.rename) else { return .failure(.notAllowed("rename participants")) }
            guard let clean = DisplayName.clean(name) else { return .failure(.nameRequired) }
            guard let index = attendees.firstIndex(where: { $0.memberID == target && $0.room == sender.room }) else {
                return .failure(.noSuchParticipant)
            }
            attendees[index].fullName = clean
            out.append(.rename(memberID: target, name: clean))

        case .setRole(let target, let moderator):
            guard role.may(.promote) else { return .failure(.notAllowed("change roles")) }
            guard kind == .meeting else { return .failure(.notAMeeting) }
            guard let index = attendees.firstIndex(where: { $0.memberID == target && $0.room == sender.room }) else {
                return .failure(.noSuchParticipant)
            }
            let newRole: Role = moderator ? roles.moderator : .viewer
            attendees[index].role = newRole
            if attendees[index].cameras > 0, !newRole.may(.shareCamera) || (lock.disableCamera && !newRole.isModerator) {
                out.append(.stopCameras(memberID: target, reason: .locked))
            }
            if attendees[index].kind == .browser { out.append(.send(.you(newRole), to: [target])) }
            out.append(.send(.role(memberID: target, role: newRole.name), to: browsers(in: sender.room)))
            // A new moderator sees the waiting room; a former one no longer does.
            if newRole.may(.admitGuests), attendees[index].kind == .browser { out.append(.send(.guests(guests), to: [target])) }

        case .endMeeting:
            guard role.may(.endMeeting) else { return .failure(.notAllowed("end the meeting")) }
            guard kind == .meeting else { return .failure(.notAMeeting) }
            end(.moderator, now: now, into: &out)

        case .hand(let target, let raised):
            let memberID = target ?? sender.memberID
            guard inRoom(memberID) != nil else { return .failure(.noSuchParticipant) }
            if memberID != sender.memberID {
                guard !raised, role.may(.muteOthers) else { return .failure(.notAllowed("lower others' hands")) }
            }
            out.append(.hand(memberID: memberID, raised: raised))

        case .lock(let microphone, let publicChat, let privateChat, let hideUserList, let camera, let hideViewersCameras):
            guard role.may(.lockSettings) else { return .failure(.notAllowed("change lock settings")) }
            guard kind == .meeting else { return .failure(.notAMeeting) }
            if let microphone { lock.disableMicrophone = microphone }
            if let publicChat { lock.disablePublicChat = publicChat }
            if let privateChat { lock.disablePrivateChat = privateChat }
            if let hideUserList { lock.hideUserList = hideUserList }
            if let camera { lock.disableCamera = camera }
            if let hideViewersCameras { lock.hideViewersCameras = hideViewersCameras }
            if lock.disableMicrophone {
                for other in attendees where !other.role.isModerator { out.append(.mute(memberID: other.memberID, muted: true)) }
            }
            if lock.disableCamera {
                for other in attendees where !other.role.isModerator && other.cameras > 0 {
                    out.append(.stopCameras(memberID: other.memberID, reason: .locked))
                }
            }
            out.append(.send(.lock(lock), to: browsers()))

        case .stopCamera(let target):
            guard role.may(.muteOthers) else { return .failure(.notAllowed("stop cameras")) }
            guard inRoom(target) != nil, target != sender.memberID else { return .failure(.noSuchParticipant) }
            out.append(.stopCameras(memberID: target, reason: .moderator))

        case .chat(let text, let to):
            guard settings.isEnabled(.chat) else { return .failure(.featureDisabled("chat")) }
            let locked = !role.isModerator
            if let to {
                guard role.may(.chatPrivately) else { return .failure(.notAllowed("chat privately")) }
                // Private messages go to browsers in the same room (a phone cannot read them).
                guard let recipient = inRoom(to), recipient.kind == .browser, to != sender.memberID else {
                    return .failure(.noSuchParticipant)
                }
                if locked, lock.disablePrivateChat, !recipient.role.isModerator { return .failure(.privateChatLocked) }
                // Viewers hidden from each other cannot reach one another (they are not in each other's lists).
                if locked, lock.hideUserList, !recipient.role.isModerator { return .failure(.noSuchParticipant) }
            } else {
                guard role.may(.chat) else { return .failure(.notAllowed("chat")) }
                if locked, lock.disablePublicChat { return .failure(.publicChatLocked) }
            }
            guard chatRate.allow(sender.memberID, now: Double(now) / 1000) else { return .failure(.tooManyMessages) }
            switch post(in: sender.room, from: sender, to: to, text: text, now: now) {
            case .failure(let refusal): return .failure(.chat(refusal))
            case .success(let message):
                let readers = to.map { [sender.memberID, $0].filter { attendee($0)?.kind == .browser } } ?? browsers(in: sender.room)
                out.append(.send(.chat(message), to: readers))
            }

        case .deleteChat(let messageID):
            guard role.may(.moderateChat) else { return .failure(.notAllowed("delete messages")) }
            guard let index = rooms.firstIndex(where: { $0.voiceBridge == sender.room }), rooms[index].chat.delete(messageID) != nil
            else { return .failure(.noSuchMessage) }
            out.append(.send(.chatDeleted(id: messageID), to: browsers(in: sender.room)))

        case .admit(let guest, let allow):
            guard role.may(.admitGuests) else { return .failure(.notAllowed("admit guests")) }
            guard kind == .meeting, decide(guest: guest, admit: allow, into: &out) else { return .failure(.noSuchGuest) }

        case .askForHelp:
            askForHelp(sender.memberID, into: &out)

        case .setPresenter(let target):
            guard role.may(.assignPresenter) else { return .failure(.notAllowed("choose the presenter")) }
            guard kind == .meeting else { return .failure(.notAMeeting) }
            // A phone has no screen to present from.
            guard let other = inRoom(target), other.kind == .browser else { return .failure(.noSuchParticipant) }
            setPresenter(target, into: &out)

        case .startBreakouts, .extendBreakouts, .endBreakouts, .visitBreakout, .messageBreakouts, .chooseBreakout:
            guard kind == .meeting else { return .failure(.notAMeeting) }
            guard settings.isEnabled(.breakoutRooms) else { return .failure(.featureDisabled("breakoutRooms")) }
            return performBreakout(request, by: sender, now: now, isNumberFree: isNumberFree, into: &out)
        }
        return .success(())
    }
}
