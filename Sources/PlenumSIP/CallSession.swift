import CPlenumDTLS
import Foundation
import PlenumAudio
import PlenumBridge
import PlenumMedia
import PlenumSDP

/// One phone call: runs its dialplan actions in order, waiting where an action waits (a prompt, the
/// caller's digits), then lives in its room until either side hangs up. Loop-confined.
final class CallSession {
    let id: UInt64
    let source: String
    unowned let manager: SIPCallManager
    let leg: RTPLeg?
    let negotiation: Negotiation
    var offerDirection: AudioOffer.Direction
    var actions: [Dialplan.Action]
    var variables: [String: String]
    var displayName: String
    /// The caller's number with all but its last digits hidden (what other participants may see).
    let maskedCaller: String
    var established = false

    private(set) var conference: Conference?
    private(set) var member: Member?
    private var inRoom = false
    private var answered = false
    private var ended = false
    private var sdpVersion: UInt64 = 1
    private let sessionID = UInt64.random(in: 1...UInt64(Int64.max))
    private var next = 0
    private var digits: [Character] = []
    /// A fixed-length entry completes without `#`; a `#` typed right after it out of habit is not a command.
    private var swallowTerminator: (digit: Character, until: UInt64)?

    private enum Wait {
        case none
        case until(UInt64)
        case prompt
        case digits(Collecting)
        /// In the waiting room: the waiting prompt again at this tick, until a moderator decides.
        case admission(replayAt: UInt64)
        case hangingUp
    }
    private struct Collecting {
        var action: Dialplan.Action
        var attempt = 1
        var deadline: UInt64 = .max
        var digitsSeen = 0
        var promptStarted = false
    }
    private var wait = Wait.none

    init(id: UInt64, source: String, manager: SIPCallManager, leg: RTPLeg, negotiation: Negotiation, offerDirection: AudioOffer.Direction,
         actions: [Dialplan.Action], variables: [String: String], displayName: String, maskedCaller: String) {
        self.id = id
        self.source = source
        self.manager = manager
        self.leg = leg
        self.negotiation = negotiation
        self.offerDirection = offerDirection
        self.actions = actions
        self.variables = variables
        self.displayName = displayName
        self.maskedCaller = maskedCaller
        leg.onDigit = { [weak self] digit in self?.receive(digit: digit) }
    }

    // MARK: Events

    func receive(digit: Character) {
        manager.logger.debug("digit", metadata: ["call": "\(id)", "digit": "\(inRoom ? "•" : String(digit))"])
        if let swallow = swallowTerminator, digit == swallow.digit, manager.tickCount < swallow.until {
            swallowTerminator = nil
            return
        }
        if inRoom, let conference, let member {
            conference.dtmf(digit, from: member.id)
            return
        }
        if case .digits = wait, let member { conference?.stopPrompts(for: member.id) }
        digits.append(digit)
    }

    func reinvite(_ event: SIPEvent) {
        guard let offer = try? AudioOffer(parsing: event.body), let leg,
            case .success(let destination) = SIPCallManager.mediaDestination(of: offer)
        else {
            manager.agent?.respond(to: id, status: 488, phrase: "Not Acceptable Here")
            return
        }
        offerDirection = offer.direction
        leg.update(remote: destination)
        let onHold = offer.direction == .sendonly || offer.direction == .inactive
        leg.sending = !onHold && answered
        if let conference, let member { conference.setOnHold(member.id, onHold) }
        sdpVersion += 1
        manager.agent?.respond(to: id, status: 200, phrase: "OK", sdp: answerSDP())
    }

    /// The call is over (BYE, CANCEL or terminated): leave the room, free the lobby.
    func end() {
        guard !ended else { return }
        ended = true
        if let room = waitingFor {
            waitingFor = nil
            manager.admissionCancelled?(room, id)
        }
        leaveCurrentConference()
    }

    /// The bridge moved this call's member to another room (breakout rooms and back).
    func moved(to conference: Conference, room: String) {
        self.conference = conference
        variables["room"] = room
    }

    /// The room this call waits to be let into, if it waits.
    private(set) var waitingFor: String?

    /// A moderator's decision about a waiting caller.
    func decide(admit: Bool) {
        guard let room = waitingFor, case .admission = wait, !ended else { return }
        waitingFor = nil
        if let member { conference?.stopPrompts(for: member.id) }
        if admit {
            variables["admitted"] = room
            wait = .none
            step()
        } else {
            wait = .none
            refuse(prompt: "conf-denied", status: 403)
        }
    }

    /// Media seen so far (RTP and RTCP packets) and the tick it last grew.
    private var mediaSeen = 0
    private var lastMediaTick: UInt64 = 0

    /// Hangs up an answered call whose phone has gone silent on the network: no RTP or RTCP for the
    /// configured time, longer on hold (issue 11: abandoned calls must not live forever).
    func checkMedia() {
        guard answered, !ended, let leg else { return }
        let now = manager.tickCount
        let seen = leg.counters.received + leg.counters.rtcp
        if seen != mediaSeen || lastMediaTick == 0 {
            mediaSeen = seen
            lastMediaTick = now
            return
        }
        let onHold = offerDirection != .sendrecv
        let seconds = onHold ? manager.configuration.holdTimeoutSeconds : manager.configuration.mediaTimeoutSeconds
        guard seconds > 0, now - lastMediaTick >= UInt64(seconds) * 50 else { return }
        if case .hangingUp = wait { return }
        manager.logger.info("call hung up: no media", metadata: ["call": "\(id)", "seconds": "\(seconds)", "hold": "\(onHold)"])
        hangup()
    }

    func hangup() {
        guard !ended else { return }
        wait = .hangingUp
        manager.agent?.hangup(id)
    }

    // MARK: The dialplan interpreter

    /// Runs actions until one must wait; called after every tick.
    func step() {
        guard !ended else { return }
        switch wait {
        case .hangingUp:
            return
        case .until(let tick):
            guard manager.tickCount >= tick else { return }
            wait = .none
        case .prompt:
            guard let member, let conference, !conference.isPlayingPrompt(to: member.id) else { return }
            wait = .none
        case .admission(let replayAt):
            // Nothing of the meeting reaches the caller here: it is alone in its lobby with the prompt.
            guard let member, let conference else { return }
            if conference.isPlayingPrompt(to: member.id) { return }
            if manager.tickCount >= replayAt {
                conference.play("conf-waiting", to: member.id)
                wait = .admission(replayAt: manager.tickCount + 8 * 50)
            }
            return
        case .digits(var collecting):
            wait = .none  // collect sets the next wait when it re-prompts or gives up
            guard let outcome = collect(&collecting) else {
                wait = .digits(collecting)
                return
            }
            if !outcome { return }
        case .none:
            break
        }
        while case .none = wait, next < actions.count, !ended {
            let action = actions[next]
            next += 1
            perform(action)
        }
        if case .none = wait, next >= actions.count, !inRoom, !ended {
            hangup()  // the dialplan ended without putting the caller anywhere
        }
    }

    private func perform(_ action: Dialplan.Action) {
        switch action.action {
        case .answer:
            answer()
        case .ring:
            if !answered { manager.agent?.respond(to: id, status: 180, phrase: "Ringing") }
            wait = .until(manager.tickCount + UInt64(max(0, min(action.seconds ?? 2, 60)) * 50))
        case .play:
            answer()
            if let sound = action.sound, let member, conference?.play(sound, to: member.id) == true { wait = .prompt }
        case .collect:
            answer()
            digits.removeAll()  // keys pressed during an earlier prompt are not an answer to this one
            manager.logger.debug("collecting", metadata: ["call": "\(id)", "into": "\(action.into ?? "-")"])
            wait = .digits(Collecting(action: action))
        case .echo:
            answer()
            leaveCurrentConference()
            let language = manager.rooms.profiles["default"]?.language ?? "en"
            let echo = Conference(name: "echo-call-\(id)", profile: .echoTest(language: language), sounds: manager.rooms.sounds)
            manager.context.conferences[echo.name] = echo  // gone when the caller leaves it (it is empty then)
            inRoom = true
            enter(echo)
        case .setName:
            displayName = DisplayName.clean(Dialplan.expand(action.name ?? displayName, variables)) ?? displayName
            member?.name = displayName
        case .hangup:
            if answered {
                hangup()
            } else {
                wait = .hangingUp
                let status = action.status ?? 480
                manager.agent?.respond(to: id, status: status, phrase: Self.phrase(status))
            }
        case .join:
            let number = Dialplan.expand(action.room ?? "", variables)
            guard let room = manager.rooms.room(number) else {
                refuse(prompt: "conf-bad-conf-number", status: 404)
                return
            }
            let present = manager.context.conferences[room.number]?.members.count ?? 0
            if room.locked == true || present >= (room.maxParticipants ?? .max) {
                manager.logger.info("room refuses", metadata: [
                    "call": "\(id)", "room": "\(room.number)", "why": "\(room.locked == true ? "locked" : "full")",
                ])
                refuse(prompt: "conf-locked", status: 486)
                return
            }
            if let pin = room.pin, variables["pinAccepted"] != room.number {
                // Ask for the PIN first, then come back to this join.
                var ask = Dialplan.Action(.collect)
                ask.prompt = "conf-pin"
                ask.badPrompt = "conf-bad-pin"
                ask.into = "pin"
                ask.validate = "pin:" + pin + ":" + room.number
                ask.minDigits = pin.count
                ask.maxDigits = pin.count
                ask.terminator = "#"
                ask.timeoutSeconds = 10
                ask.maxAttempts = 3
                next -= 1
                actions.insert(ask, at: next)
                return
            }
            if variables["admitted"] != room.number, let admission = manager.admission {
                switch admission(room.number, id, displayName) {
                case .admit:
                    break
                case .deny:
                    refuse(prompt: "conf-denied", status: 403)
                    return
                case .wait:
                    // The waiting room: this join runs again once a moderator lets the caller in.
                    answer()
                    next -= 1
                    waitingFor = room.number
                    manager.logger.info("call waits for a moderator", metadata: ["call": "\(id)", "room": "\(room.number)"])
                    wait = .admission(replayAt: 0)
                    return
                }
            }
            join(room)
        }
    }

    /// Ends a call that cannot go where it asked: a final response before the answer, or the prompt
    /// and then a hang-up once answered.
    private func refuse(prompt: String, status: Int) {
        if answered {
            if let member, conference?.play(prompt, to: member.id) == true {
                actions.insert(Dialplan.Action(.hangup), at: next)
                wait = .prompt
            } else {
                hangup()
            }
        } else {
            wait = .hangingUp
            manager.agent?.respond(to: id, status: status, phrase: Self.phrase(status))
        }
    }

    /// Advances digit collection; nil while waiting, true when done (continue), false when it re-prompted or gave up.
    private func collect(_ c: inout Collecting) -> Bool? {
        guard let member, let conference else { return nil }
        let a = c.action
        if !c.promptStarted {
            c.promptStarted = true
            if let prompt = a.prompt { conference.play(prompt, to: member.id) }
        }
        let now = manager.tickCount
        let terminator = Character(a.terminator ?? "#")
        let maxDigits = a.maxDigits ?? 20
        let minDigits = a.minDigits ?? 1
        let complete = digits.contains(terminator) || digits.count >= maxDigits
        if !complete {
            // The timeout runs from the end of the prompt and restarts with each digit.
            if conference.isPlayingPrompt(to: member.id) { return nil }
            if c.deadline == .max || digits.count != c.digitsSeen {
                c.digitsSeen = digits.count
                c.deadline = now + UInt64(max(1, a.timeoutSeconds ?? 10) * 50)
            }
            guard now >= c.deadline else { return nil }
        }
        let entered = String(digits.prefix { $0 != terminator })
        if !digits.contains(terminator) { swallowTerminator = (terminator, now + 100) }
        digits.removeAll()
        manager.logger.debug("collected", metadata: ["call": "\(id)", "count": "\(entered.count)", "attempt": "\(c.attempt)"])
        if entered.count >= minDigits, validate(entered, a) {
            if let name = a.into { variables[name] = entered }
            return true
        }
        // Wrong or missing input. A wrong PIN counts against this room and this source (PINGuard);
        // once guessing is slowed down, the call ends at once.
        if let rule = a.validate, rule.hasPrefix("pin:"), let room = rule.split(separator: ":").last.map(String.init),
            manager.pinGuard.retryAfter(room: room, source: source, now: now) == nil
        {
            if let delay = manager.pinGuard.wrong(room: room, source: source, now: now) {
                manager.logger.warning("PIN guessing slowed down", metadata: [
                    "room": "\(room)", "source": "\(LogPrivacy.tag(source))", "seconds": "\(delay / 50)",
                ])
                c.attempt = a.maxAttempts ?? 3
            }
        }
        if c.attempt >= (a.maxAttempts ?? 3) {
            if let bad = a.badPrompt { conference.play(bad, to: member.id) }
            actions.insert(Dialplan.Action(.hangup), at: next)
            wait = .prompt
            return false
        }
        c.attempt += 1
        c.promptStarted = false
        c.deadline = .max
        c.digitsSeen = 0
        if let bad = a.badPrompt { conference.play(bad, to: member.id) }
        wait = .digits(c)
        return false
    }

    private func validate(_ entered: String, _ action: Dialplan.Action) -> Bool {
        guard let rule = action.validate else { return true }
        if rule == "room" { return manager.rooms.room(entered) != nil }
        if rule.hasPrefix("pin:") {
            let parts = rule.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count == 3 else { return false }
            // While guessing this room's PIN is slowed down for this source, no entry is even compared.
            if manager.pinGuard.retryAfter(room: parts[2], source: source, now: manager.tickCount) != nil { return false }
            // Compared in constant time: a PIN's digits do not leak through timing.
            let expected = Array(parts[1].utf8), given = Array(entered.utf8)
            let accepted = plenum_secrets_equal(expected, expected.count, given, given.count) == 1
            if accepted {
                variables["pinAccepted"] = parts[2]
                manager.pinGuard.succeeded(room: parts[2], source: source)
            }
            return accepted
        }
        return Dialplan.fullMatch(rule, entered) != nil
    }

    // MARK: Media

    private func answer() {
        guard !answered, let leg else { return }
        answered = true
        manager.agent?.respond(to: id, status: 200, phrase: "OK", sdp: answerSDP())
        leg.sending = offerDirection == .sendrecv || offerDirection == .recvonly
        // Until the caller is in a room, it is alone in a lobby of its own (prompts, digits).
        var profile = ConferenceProfile()
        profile.announceAlone = false
        profile.enterExitTones = false
        profile.language = manager.rooms.profiles["default"]?.language ?? "en"
        let lobby = Conference(name: "lobby-\(id)", profile: profile, sounds: manager.rooms.sounds)
        manager.context.conferences[lobby.name] = lobby
        enter(lobby)
    }

    private func join(_ room: RoomDirectory.Room) {
        answer()
        leaveCurrentConference()
        let conference = manager.rooms.conference(for: room.number)
        inRoom = true
        enter(conference)
        variables["room"] = room.number
    }

    private func enter(_ conference: Conference) {
        guard let leg else { return }
        let codec = negotiation.codec
        guard let member = try? conference.join(
            name: displayName, input: codec, output: codec, kind: .phone(maskedNumber: maskedCaller), sink: leg) else {
            hangup()
            return
        }
        leg.member = member
        self.member = member
        self.conference = conference
        if offerDirection == .sendonly || offerDirection == .inactive { conference.setOnHold(member.id, true) }
    }

    private func leaveCurrentConference() {
        guard let conference, let member else { return }
        if inRoom {
            let j = member.jitterStatistics
            let legCounters = leg?.counters ?? RTPLeg.Counters()
            manager.logger.info("call statistics", metadata: [
                "call": "\(id)", "received": "\(legCounters.received)", "sent": "\(legCounters.sent)",
                "rtcp_received": "\(legCounters.rtcp)", "rtcp_sent": "\(legCounters.reportsSent)",
                "played": "\(j.played)", "lost": "\(j.lost)", "late": "\(j.late)", "underruns": "\(j.underruns)",
                "dropped": "\(j.dropped)", "jitter_buffer_ms": "\(String(format: "%.1f", j.meanBufferedTicks * 20))",
            ])
        }
        conference.leave(member.id)
        leg?.member = nil
        self.member = nil
        self.conference = nil
        if conference.name.hasPrefix("lobby-") || conference.members.isEmpty {
            manager.context.conferences[conference.name] = nil
        }
    }

    private func answerSDP() -> String {
        negotiation.answer(
            address: manager.configuration.mediaAddress, port: leg?.socket.port ?? 0, sessionID: sessionID,
            version: sdpVersion, direction: offerDirection)
    }

    static func phrase(_ status: Int) -> String {
        switch status {
        case 403: "Forbidden"
        case 404: "Not Found"
        case 480: "Temporarily Unavailable"
        case 486: "Busy Here"
        case 488: "Not Acceptable Here"
        case 603: "Decline"
        default: "Call Refused"
        }
    }
}
