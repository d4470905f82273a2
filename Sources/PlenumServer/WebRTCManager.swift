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
    private var watchedConferences: Set<String> = []
    private var clock: UInt64 = 0
    /// Milliseconds a detached browser keeps its place.
    public static let resumeWindow: UInt64 = 30_000

    final class Browser {
        let id: UInt64
        let session: WebRTCSession
        let room: String
        let member: Member
        let resumeSecret: String
        var feed: AsyncStream<String>.Continuation?
        /// The WebSocket that currently speaks for the browser (a stale one, still closing after a
        /// resume, must not detach or end it).
        var connection: UInt64
        var detachedAt: UInt64?
        init(id: UInt64, session: WebRTCSession, room: String, member: Member, feed: AsyncStream<String>.Continuation,
             connection: UInt64) {
            self.id = id
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
                browser.feed?.yield(Signal.error(failure))
                leave(browser.id, reason: "failure")
            } else if browser.session.ice.consentExpired(now: clock) {
                browser.feed?.yield(Signal.error("connection lost (no ICE consent for 30 s)"))
                leave(browser.id, reason: "no consent")
            } else if let detached = browser.detachedAt, clock > detached + Self.resumeWindow {
                leave(browser.id, reason: "not resumed")
            }
        }
    }

    public enum JoinError: Error, CustomStringConvertible {
        case noSuchRoom, roomFull, badOffer(String), noSuchSession
        public var description: String {
            switch self {
            case .noSuchRoom: "no such room"
            case .roomFull: "the room is full or locked"
            case .badOffer(let why): why
            case .noSuchSession: "session expired"
            }
        }
    }

    /// Whether `room` exists and `pin` opens it (for the join page's token).
    public func admits(room: String, pin: String?) -> Result<String, JoinError> {
        guard let sip = context.hook(SIPCallManager.self), let entry = sip.rooms.room(room) else { return .failure(.noSuchRoom) }
        if let expected = entry.pin, expected != pin { return .failure(.badOffer("wrong PIN")) }
        return .success(entry.name ?? room)
    }

    /// A browser's offer for `room` (already granted by its token): its session, its member, and our
    /// answer, which is queued into `feed` here, on the loop, so it precedes any event about the room
    /// (another browser joining right after must not overtake it).
    public func join(room: String, name: String, offerSDP: String, feed: AsyncStream<String>.Continuation, connection: UInt64)
        -> Result<(id: UInt64, memberID: MemberID), JoinError>
    {
        guard let sip = context.hook(SIPCallManager.self), let entry = sip.rooms.room(room) else { return .failure(.noSuchRoom) }
        let conference = sip.conference(for: room)
        if entry.locked == true || conference.members.count >= (entry.maxParticipants ?? .max) { return .failure(.roomFull) }
        let session: WebRTCSession
        do {
            let offer = try AudioOffer(parsing: offerSDP)
            session = try WebRTCSession(offer: offer, context: port.context, socket: port.sockets[0], now: clock)
        } catch {
            return .failure(.badOffer("\(error)"))
        }
        let displayName = String(name.trimmingCharacters(in: .whitespacesAndNewlines).prefix(64))
        guard let member = try? conference.join(
            name: displayName.isEmpty ? "Guest" : displayName, input: .opus, kind: .browser, sink: session.leg)
        else { return .failure(.badOffer("codec")) }
        session.leg.member = member
        port.add(session)
        let id = nextID
        nextID += 1
        let browser = Browser(id: id, session: session, room: room, member: member, feed: feed, connection: connection)
        sessions[id] = browser
        watch(conference)
        sendAnswer(browser)
        return .success((id, member.id))
    }

    private func sendAnswer(_ browser: Browser, restart: Bool = false) {
        let sdp = browser.session.answer(addresses: port.addresses, fingerprint: port.context.fingerprint, sessionID: browser.id)
        browser.feed?.yield(Signal.answer(
            sdp: sdp, memberID: browser.member.id, session: "\(browser.id).\(browser.resumeSecret)", restart: restart,
            participants: participants(of: browser.room)))
    }

    /// An ICE restart offer from the joined browser `id`: the answer goes into its feed.
    public func restart(_ id: UInt64, offerSDP: String) -> Result<Void, JoinError> {
        guard let browser = sessions[id] else { return .failure(.noSuchSession) }
        let previous = browser.session.ice.local.usernameFragment
        do {
            try browser.session.restartICE(offer: AudioOffer(parsing: offerSDP), now: clock)
        } catch {
            return .failure(.badOffer("\(error)"))
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
        -> Result<(id: UInt64, room: String), JoinError>
    {
        let parts = token.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let id = UInt64(parts[0]), let browser = sessions[id],
            Array(browser.resumeSecret.utf8).elementsEqualConstantTime(Array(parts[1].utf8))
        else { return .failure(.noSuchSession) }
        browser.feed?.finish()
        browser.feed = feed
        browser.connection = connection
        browser.detachedAt = nil
        switch restart(id, offerSDP: offerSDP) {
        case .success: return .success((id, browser.room))
        case .failure(let error): return .failure(error)
        }
    }

    public func setMuted(_ id: UInt64, _ muted: Bool) {
        guard let browser = sessions[id], let conference = context.conferences[browser.room] else { return }
        conference.setMuted(browser.member.id, muted)
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
    }

    /// The room's participants, for a newly joined browser.
    public func participants(of room: String) -> [Signal.Participant] {
        context.conferences[room]?.members.map(Signal.Participant.init) ?? []
    }

    /// Forwards a room's events to every browser in it (once per conference).
    private func watch(_ conference: Conference) {
        guard !watchedConferences.contains(conference.name) else { return }
        watchedConferences.insert(conference.name)
        let room = conference.name
        conference.observers.append { [weak self, weak conference] event in
            guard let self, let conference else { return }
            guard let message = Signal.event(event, in: conference) else { return }
            for browser in self.sessions.values where browser.room == room { browser.feed?.yield(message) }
        }
    }
}

extension Array where Element == UInt8 {
    /// Comparison whose time does not depend on where the arrays differ (for secrets).
    func elementsEqualConstantTime(_ other: [UInt8]) -> Bool {
        guard count == other.count else { return false }
        var difference: UInt8 = 0
        for i in indices { difference |= self[i] ^ other[i] }
        return difference == 0
    }
}
