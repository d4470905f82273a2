import Foundation
import Logging
import PlenumBridge
import PlenumICE
import PlenumMedia
import PlenumSDP
import PlenumSIP
import PlenumWebRTC

/// The browsers of one media loop: their sessions on the shared WebRTC port and the event feeds of
/// their WebSockets. Loop-confined; the signalling server reaches it through `MediaLoop.execute`.
public final class WebRTCManager: MediaLoopHook {
    public let port: WebRTCPort
    let context: MediaLoopContext
    let logger: Logger
    private var sessions: [UInt64: Browser] = [:]
    private var nextID: UInt64 = 1
    private var watchedConferences: Set<String> = []
    private var clock: UInt64 = 0

    final class Browser {
        let id: UInt64
        let session: WebRTCSession
        let room: String
        let member: Member
        let feed: AsyncStream<String>.Continuation
        init(id: UInt64, session: WebRTCSession, room: String, member: Member, feed: AsyncStream<String>.Continuation) {
            self.id = id
            self.session = session
            self.room = room
            self.member = member
            self.feed = feed
        }
    }

    public init(port: WebRTCPort, context: MediaLoopContext,
                logger: Logger = Logger(label: "plenum.webrtc")) {
        self.logger = logger
        self.port = port
        self.context = context
    }

    public func beforeTick() {
        clock &+= 20
        port.drain(now: clock)
    }

    public func afterTick() {
        for browser in sessions.values where browser.session.ice.consentExpired(now: clock) || browser.session.failure != nil {
            browser.feed.yield(Signal.error(browser.session.failure ?? "connection lost (no ICE consent for 30 s)"))
            leave(browser.id)
        }
    }

    public enum JoinError: Error, CustomStringConvertible {
        case noSuchRoom, wrongPIN, roomFull, badOffer(String)
        public var description: String {
            switch self {
            case .noSuchRoom: "no such room"
            case .wrongPIN: "wrong PIN"
            case .roomFull: "the room is full or locked"
            case .badOffer(let why): why
            }
        }
    }

    /// A browser's offer for `room`: its session, its member, and our answer.
    public func join(room: String, pin: String?, name: String, offerSDP: String, feed: AsyncStream<String>.Continuation)
        -> Result<(id: UInt64, memberID: MemberID, answer: String), JoinError>
    {
        guard let sip = context.hook(SIPCallManager.self), let entry = sip.rooms.room(room) else { return .failure(.noSuchRoom) }
        if let expected = entry.pin, expected != pin { return .failure(.wrongPIN) }
        let conference = sip.conference(for: room)
        if entry.locked == true || conference.members.count >= (entry.maxParticipants ?? .max) { return .failure(.roomFull) }
        let offer: AudioOffer
        let session: WebRTCSession
        do {
            offer = try AudioOffer(parsing: offerSDP)
            session = try WebRTCSession(offer: offer, context: port.context, socket: port.sockets[0])
        } catch {
            return .failure(.badOffer("\(error)"))
        }
        let displayName = String(name.trimmingCharacters(in: .whitespacesAndNewlines).prefix(64))
        guard let member = try? conference.join(name: displayName.isEmpty ? "Guest" : displayName, input: .opus, sink: session.leg)
        else { return .failure(.badOffer("codec")) }
        session.leg.member = member
        port.add(session)
        let id = nextID
        nextID += 1
        sessions[id] = Browser(id: id, session: session, room: room, member: member, feed: feed)
        watch(conference)
        let answer = session.answer(addresses: port.addresses, fingerprint: port.context.fingerprint, sessionID: id)
        // Queued here, on the loop, so the answer precedes any event about the room in this feed (another
        // browser joining right after must not overtake it).
        feed.yield(Signal.answer(sdp: answer, memberID: member.id, participants: participants(of: room)))
        return .success((id, member.id, answer))
    }

    public func setMuted(_ id: UInt64, _ muted: Bool) {
        guard let browser = sessions[id], let conference = context.conferences[browser.room] else { return }
        conference.setMuted(browser.member.id, muted)
    }

    public func leave(_ id: UInt64) {
        guard let browser = sessions.removeValue(forKey: id) else { return }
        let leg = browser.session.leg.counters
        let ice = browser.session.ice.counters
        logger.info("browser left", metadata: [
            "room": "\(browser.room)", "member": "\(browser.member.id)", "received": "\(leg.received)", "sent": "\(leg.sent)",
            "unauthenticated": "\(leg.unauthenticated)", "rtcp": "\(leg.rtcp)", "ice_bad_integrity": "\(ice.badIntegrity)",
            "lost": "\(browser.member.jitterStatistics.lost)",
        ])
        port.remove(browser.session)
        context.conferences[browser.room]?.leave(browser.member.id)
        browser.feed.finish()
    }

    /// The room's participants, for a newly joined browser.
    public func participants(of room: String) -> [Signal.Participant] {
        context.conferences[room]?.members.map {
            Signal.Participant(id: $0.id, name: $0.name, muted: $0.flags.muted, talking: $0.isTalking)
        } ?? []
    }

    /// Forwards a room's events to every browser in it (once per conference).
    private func watch(_ conference: Conference) {
        guard !watchedConferences.contains(conference.name) else { return }
        watchedConferences.insert(conference.name)
        let room = conference.name
        conference.observers.append { [weak self, weak conference] event in
            guard let self, let conference else { return }
            guard let message = Signal.event(event, in: conference) else { return }
            for browser in self.sessions.values where browser.room == room { browser.feed.yield(message) }
        }
    }
}
