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
    /// Where everything for the browsers goes: encoded and delivered off the loop, in order.
    public let outbox: BrowserOutbox
    private let ownsOutbox: Bool
    let rooms: Rooms
    /// The meetings of this loop (attached by `MeetingManager.browsers`): every room has a machine there.
    weak var meetings: MeetingManager?
    let context: MediaLoopContext
    let logger: Logger
    private var sessions: [UInt64: Browser] = [:]
    private var nextID: UInt64 = 1
    private var clock: UInt64 = 0
    /// The browser of each member (messages from the meetings name members).
    private var byMember: [Int: UInt64] = [:]
    /// Milliseconds a detached browser keeps its place.
    public static let resumeWindow: UInt64 = 30_000
    /// Milliseconds without anything from a browser before the room sees it as reconnecting. Browsers
    /// send media or RTCP several times a second and a consent check every few seconds (RFC 7675).
    public static let silenceBeforeReconnecting: UInt64 = 5_000
    /// Echo tests at once on this loop, and how long one may run (a forgotten tab ends its own).
    public static let maxEchoTests = 64
    public static let echoTestDuration: UInt64 = 120_000
    private var echoTests = 0
    /// The visible members of each room under the "see other viewers" lock, as last told to the outbox.
    private var postedVisibility: [String: Set<MemberID>] = [:]
    /// The browsers of each room (joined, waiting for their answer, or testing the echo).
    private var byRoom: [String: Set<UInt64>] = [:]

    /// The browsers in `room`, without scanning the loop's other rooms.
    private func browsers(in room: String) -> [Browser] { byRoom[room].map { $0.compactMap { sessions[$0] } } ?? [] }

    /// Registers a browser, or moves it to another room, keeping `byRoom` true.
    private func place(_ browser: Browser, in room: String) {
        if sessions[browser.id] === browser, let old = byRoom[browser.room] {
            var rest = old
            rest.remove(browser.id)
            byRoom[browser.room] = rest.isEmpty ? nil : rest
        }
        sessions[browser.id] = browser
        browser.room = room
        byRoom[room, default: []].insert(browser.id)
    }

    /// Every published camera of this loop by its id (issue 15).
    private var publications: [String: VideoPublication] = [:] {
        didSet { watchPortForVideo(!publications.isEmpty) }
    }
    /// The port is read as packets arrive while any camera is published (video is forwarded when it
    /// comes, not at the next audio tick); with audio only it is read at the tick (see `init`).
    private var watchingPort = false

    private func watchPortForVideo(_ watch: Bool) {
        guard watch != watchingPort else { return }
        if watch {
            // Level-triggered: each wake reads the sockets empty (`drain`). A loop that cannot watch
            // (no epoll) still reads them at the tick.
            for socket in port.sockets { context.watch(socket.fd) { [unowned self] in self.port.drain(now: self.clock) } }
        } else {
            for socket in port.sockets { context.unwatch(socket.fd) }
        }
        watchingPort = watch
    }

    final class Browser {
        let id: UInt64
        let session: WebRTCSession
        /// The room it is in: its meeting's, or a breakout room's while it is there (changed only by
        /// the manager's `place`, which keeps the room index true).
        fileprivate(set) var room: String
        let member: Member
        let resumeSecret: String
        var feed: AsyncStream<String>.Continuation?
        /// Its meeting took it in and it got its answer: the room's news reach it from now on.
        var welcomed = false
        /// The outbox knows its feed and room (from its answer on; until then messages go to the feed).
        var attached = false
        /// Its role when it entered (its meeting's machine keeps the current one).
        let role: Role
        /// The WebSocket that currently speaks for the browser (a stale one, still closing after a
        /// resume, must not detach or end it).
        var connection: UInt64
        var detachedAt: UInt64?
        /// What was heard from it (media, RTCP, ICE checks) and when that last grew: a browser silent
        /// for `silenceBeforeReconnecting` is shown to the room as reconnecting.
        var heard = 0
        var lastHeard: UInt64 = 0
        var reconnecting = false
        /// The join screen's echo test: alone in a private room of its own, no meeting, no resume;
        /// ends at `endsAt`.
        var endsAt: UInt64?
        var isEchoTest: Bool { endsAt != nil }
        /// Under the meeting's "see other viewers" lock, a viewer sees only the moderators and itself.
        var restricted = false
        /// Its cameras by the m-line they come on, and what its receive slots carry (slot mid → camera).
        var publications: [String: VideoPublication] = [:]
        var subscriptions: [String: VideoPublication] = [:]
        /// Cameras a moderator or the lock stopped: their m-lines are not forwarded until an offer stops
        /// sending on them (the browser turns them off when told, and may start again later).
        var stoppedCameras: Set<String> = []
        /// The m-line its offer named as a shared screen (`renegotiate`'s `screen`).
        var screenMid: String?
        /// Its cameras now (its screen is not one: caps and getMeetingInfo count cameras).
        var cameraCount: Int { publications.values.reduce(0) { $0 + ($1.isScreen ? 0 : 1) } }
        var screen: VideoPublication? { publications.values.first(where: \.isScreen) }
        /// Packets its ended publications dropped over their rate caps.
        var videoOverCap = 0
        init(id: UInt64, session: WebRTCSession, room: String, member: Member, feed: AsyncStream<String>.Continuation,
             connection: UInt64, role: Role) {
            self.id = id
            self.role = role
            self.connection = connection
            self.session = session
            self.room = room
            self.member = member
            self.feed = feed
            resumeSecret = AccessTokens.randomText(18)
        }
    }

    /// `outbox` nil: one of its own, started here and stopped with the manager.
    public init(port: WebRTCPort, rooms: Rooms, context: MediaLoopContext, outbox: BrowserOutbox? = nil,
                logger: Logger = Logger(label: "plenum.webrtc")) {
        self.logger = logger
        self.port = port
        ownsOutbox = outbox == nil
        if let outbox {
            self.outbox = outbox
        } else {
            self.outbox = BrowserOutbox()
            self.outbox.start()
        }
        self.rooms = rooms
        self.context = context
        // Every conference's news go to the outbox — also a room's conference made again after the
        // last phone left it empty (issue 12: after Leave and Join in the same tab the list froze).
        for conference in context.conferences.values { watch(conference) }
        rooms.conferenceCreated.append { [weak self] conference in self?.watch(conference) }
        // The port is read at the tick, not on arrival (`MediaLoopContext.watch`): with audio only,
        // waking per packet measured 5–15 % more CPU at 500 browsers and nothing gained
        // (docs/performance.md). Video, which must be forwarded on arrival, will watch its sockets.
    }

    deinit {
        if ownsOutbox { outbox.stop() }
    }

    /// A message for one browser, behind everything sent to it before.
    private func send(_ browser: Browser, _ message: BrowserOutbox.Message) {
        if browser.attached {
            outbox.post(.send(browser.id, message))
        } else if let feed = browser.feed {
            outbox.post(.sendFeed(feed, message))
        }
    }

    /// The browser's feed ends (after what was sent to it); the outbox forgets it.
    private func closeFeed(_ browser: Browser) {
        if browser.attached {
            outbox.post(.detach(browser.id))
        } else if let feed = browser.feed {
            outbox.post(.finish(feed))
        }
        browser.attached = false
        browser.feed = nil
    }

    public func beforeTick() {
        clock &+= 20
        port.drain(now: clock)
    }

    public func afterTick() {
        outbox.flush()
        if !publications.isEmpty { requestMissingKeyFrames() }
        for browser in sessions.values {
            noteSilence(browser)
            browser.session.refillRetransmissions()
            if let failure = browser.session.failure {
                send(browser, .encode { Signal.error(.connectionFailed(failure)) })
                leave(browser.id, reason: "failure")
            } else if browser.session.ice.consentExpired(now: clock) {
                send(browser, .encode { Signal.error(.connectionLost) })
                leave(browser.id, reason: "no consent")
            } else if let detached = browser.detachedAt, clock > detached + Self.resumeWindow {
                leave(browser.id, reason: "not resumed")
            } else if let ends = browser.endsAt, clock > ends {
                leave(browser.id, reason: "echo test over")
            }
        }
    }

    /// A browser that went silent, or is heard again: the room is told (on changes only).
    private func noteSilence(_ browser: Browser) {
        let leg = browser.session.leg.counters, ice = browser.session.ice.counters
        let heard = leg.received &+ leg.rtcp &+ ice.requests &- ice.malformed &- ice.wrongUsername &- ice.badIntegrity
        if heard != browser.heard {
            browser.heard = heard
            browser.lastHeard = clock
        }
        let silent = browser.welcomed && clock > browser.lastHeard + Self.silenceBeforeReconnecting
        guard silent != browser.reconnecting else { return }
        browser.reconnecting = silent
        outbox.post(.news(room: browser.room, .connection(browser.member.id, reconnecting: silent)))
    }

    /// Whether `room` is a configured room and `pin` opens it (for the join page's token). A meeting's
    /// voice bridge is no such room: a meeting is entered only through its join URL, which applies its
    /// guest policy, its removals and its roles; answering for it would also tell who meets.
    public func admits(room: String, pin: String?) -> Result<String, SignalError> {
        guard !rooms.isMeetingRoom(room), let entry = rooms.room(room) else {
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
        guard let entry = rooms.room(room), let meetings else { return .failure(.noSuchRoom) }
        // A grant without a meeting (from the join page) enters configured rooms only.
        if grant.meeting == nil, rooms.isMeetingRoom(room) { return .failure(.noSuchRoom) }
        var role = Role.viewer
        let userID = grant.user ?? "browser-\(nextID)"
        let displayName = DisplayName.clean(grant.name ?? name) ?? "Guest"
        if let meetingID = grant.meeting {
            role = grant.role.flatMap { meetings.roles.role(named: $0) } ?? .viewer
            switch meetings.entry(meetingID: meetingID, instance: grant.instance, room: room, userID: userID, role: role) {
            case .refused(let refusal): return .failure(refusal)
            case .enter: break
            case .wait:
                guard !admitted else { break }
                meetings.wait(room: room, connection: connection, name: displayName, userID: userID) { [weak self] allow in
                    guard let self else { return }
                    guard allow else {
                        self.outbox.post(.sendFeed(feed, .encode { Signal.encode(ControlMessage.denied) }))
                        return
                    }
                    if case .failure(let error) = self.join(
                        grant: grant, name: name, offerSDP: offerSDP, feed: feed, connection: connection, admitted: true)
                    {
                        self.outbox.post(.sendFeed(feed, .encode { Signal.error(error, request: "join") }))
                    }
                }
                outbox.post(.sendFeed(feed, .encode { Signal.encode(ControlMessage.waiting) }))
                return .success(.waiting)
            }
        }
        let conference = rooms.conference(for: room)
        if entry.locked == true || conference.members.count >= (entry.maxParticipants ?? .max) { return .failure(.roomFull) }
        let session: WebRTCSession
        let offer: AudioOffer
        do {
            offer = try AudioOffer(parsing: offerSDP)
            session = try WebRTCSession(
                offer: offer, description: try SessionDescription(parsing: offerSDP), context: port.context, socket: port.sockets[0],
                now: clock)
        } catch {
            logger.notice("offer refused", metadata: ["room": "\(room)", "why": "\(error)"])
            return .failure(.badOffer)
        }
        guard let member = try? conference.join(name: displayName, input: .opus, kind: .browser, sink: session.leg) else {
            return .failure(.badOffer)
        }
        session.leg.member = member
        port.add(session)
        let id = nextID
        nextID += 1
        let browser = Browser(id: id, session: session, room: room, member: member, feed: feed, connection: connection, role: role)
        place(browser, in: room)
        byMember[member.id] = id
        wireVideo(browser)
        // The meeting's machine takes it in (once the store wrote it): muted on start or by the lock,
        // then welcomed with the answer. Refused, the browser leaves again and is told why.
        meetings.browserEntered(
            memberID: member.id, userID: userID, name: member.name, role: role, listenOnly: offer.direction == .recvonly, room: room
        ) { [weak self] result in
            guard case .failure(let error) = result, let self else { return }
            self.outbox.post(.sendFeed(feed, .encode { Signal.error(error, request: "join") }))
            self.leave(id, reason: "not taken in")
        }
        return .success(.joined(id: id, memberID: member.id))
    }

    /// The join screen's echo test (issue 14): the browser alone in a private room of its own that
    /// plays everything it sends back a second later, through the same ICE, DTLS-SRTP, jitter buffer,
    /// talk detection and encoder as a meeting. Whoever may enter the grant's room may test (a meeting
    /// that ended, or that removed this user, refuses); nobody else sees or hears the test, and it
    /// touches no meeting. At most `maxEchoTests` at once, each for `echoTestDuration`.
    public func echoTest(grant: AccessGrant, offerSDP: String, feed: AsyncStream<String>.Continuation,
                         connection: UInt64) -> Result<UInt64, SignalError>
    {
        guard rooms.room(grant.room) != nil, let meetings else { return .failure(.noSuchRoom) }
        if let meetingID = grant.meeting {
            let role = grant.role.flatMap { meetings.roles.role(named: $0) } ?? .viewer
            let userID = grant.user ?? "browser-\(nextID)"
            if case .refused(let refusal) = meetings.entry(
                meetingID: meetingID, instance: grant.instance, room: grant.room, userID: userID, role: role)
            {
                return .failure(refusal)
            }
        } else if rooms.isMeetingRoom(grant.room) {
            return .failure(.noSuchRoom)
        }
        guard echoTests < Self.maxEchoTests else { return .failure(.echoTestsBusy) }
        let session: WebRTCSession
        do {
            session = try WebRTCSession(
                offer: try AudioOffer(parsing: offerSDP), description: try SessionDescription(parsing: offerSDP), context: port.context,
                socket: port.sockets[0], now: clock)
        } catch {
            logger.notice("echo test offer refused", metadata: ["why": "\(error)"])
            return .failure(.badOffer)
        }
        let id = nextID
        nextID += 1
        let language = rooms.room(grant.room)?.language ?? rooms.profiles["default"]?.language ?? "en"
        let conference = Conference(name: "echo-\(id)", profile: .echoTest(language: language), sounds: rooms.sounds)
        guard let member = try? conference.join(name: "echo", input: .opus, kind: .browser, sink: session.leg) else {
            return .failure(.badOffer)
        }
        context.conferences[conference.name] = conference
        session.leg.member = member
        port.add(session)
        let browser = Browser(id: id, session: session, room: conference.name, member: member, feed: feed, connection: connection,
                              role: .viewer)
        browser.endsAt = clock + Self.echoTestDuration
        place(browser, in: conference.name)
        echoTests += 1
        let sdp = session.answer(addresses: port.addresses, fingerprint: port.context.fingerprint, sessionID: id)
        let seconds = Int(Self.echoTestDuration / 1000)
        send(browser, .encode { Signal.echoAnswer(sdp: sdp, seconds: seconds) })
        logger.info("echo test", metadata: ["tests": "\(echoTests)"])
        return .success(id)
    }

    /// The session a socket speaks for (a guest's socket learns it once a moderator let it in).
    public func session(forConnection connection: UInt64) -> (id: UInt64, room: String)? {
        sessions.values.first { $0.connection == connection }.map { ($0.id, $0.room) }
    }

    /// The meeting took the member in: its browser gets the answer, with the meeting's state.
    func welcome(_ memberID: Int) {
        guard let browser = byMember[memberID].flatMap({ sessions[$0] }) else { return }
        browser.welcomed = true
        browser.lastHeard = clock  // silence counts from here
        sendAnswer(browser)
        holdDisallowedCameras(browser)
        syncVideo(browser)
        let cameras = cameras(in: browser.room, for: browser)
        if !cameras.isEmpty { send(browser, .encode { Signal.cameras(cameras) }) }
    }

    // MARK: Video (issue 15): a selective forwarding unit beside the mixer

    /// The session's video reaches its cameras' subscribers, and its slots' key frame requests the
    /// cameras they carry. Packets are forwarded as they are read from the port, without decoding.
    private func wireVideo(_ browser: Browser) {
        browser.session.onVideo = { [weak self, unowned browser] mid, packet, datagram, keyFrame in
            guard let self, let publication = browser.publications[mid] else { return }
            if !publication.forward(packet, datagram, startsKeyFrame: keyFrame, now: self.clock), publication.overCap == 1 {
                self.logger.notice("video over its rate cap: dropped", metadata: [
                    "room": "\(browser.room)", "member": "\(browser.member.id)", "kind": "\(publication.isScreen ? "screen" : "camera")",
                ])
            }
        }
        // A subscriber's NACK is answered from the publisher's cache.
        browser.session.onLostPacket = { [unowned browser] mid, sequence in
            let publication = browser.subscriptions[mid]
            let original = browser.session.incomingSequence(onSlot: mid, for: sequence)
            let cached = original.flatMap { original in publication?.ssrc.flatMap { publication?.cache.packet(sequence: original, ssrc: $0) } }
            browser.session.retransmit(cached, onSlot: mid)
        }
        browser.session.onKeyFrameRequest = { [weak self, unowned browser] mid in
            guard let self else { return }
            browser.subscriptions[mid]?.requestKeyFrame(now: self.clock)
        }
    }

    /// A browser's offer says what it publishes and its subscriptions what it receives: the
    /// publications and the slots follow, and the room hears of cameras that started or stopped.
    /// What a browser may publish was checked when its offer came (`renegotiate`); a camera the
    /// moderator or the lock stopped stays off here whatever the browser sends.
    private func syncVideo(_ browser: Browser) {
        guard browser.welcomed else { return }
        var changed = false
        let machine = meetings?.machine(room: browser.room)
        let role = machine?.attendee(browser.member.id)?.role ?? browser.role
        var published: Set<String> = []
        if role.may(.shareCamera) {
            for case .receiveVideo(let video) in browser.session.sections where !browser.stoppedCameras.contains(video.mid) {
                published.insert(video.mid)
            }
        }
        for (mid, publication) in browser.publications where !published.contains(mid) || publication.isScreen != (mid == browser.screenMid) {
            browser.videoOverCap += publication.overCap
            unpublish(publication)
            browser.publications[mid] = nil
            changed = true
        }
        for mid in published where browser.publications[mid] == nil {
            let publication = VideoPublication(member: browser.member.id, mid: mid, publisher: browser.session,
                                               isScreen: mid == browser.screenMid)
            browser.publications[mid] = publication
            publications[publication.id] = publication
            changed = true
        }
        syncSlots(browser, machine: machine)
        if changed {
            announceCameras(in: browser.room)
            meetings?.camerasChanged(memberID: browser.member.id, count: browser.cameraCount, room: browser.room)
        }
    }

    /// The slots: each carries the camera it names, if that camera is in the browser's room and the
    /// meeting lets the browser see it (viewers' cameras may be for the moderators only).
    private func syncSlots(_ browser: Browser, machine: MeetingMachine?) {
        var carried: [String: VideoPublication] = [:]
        for case .sendVideo(let slot) in browser.session.sections {
            guard let stream = slot.stream, let publication = publications[stream], publication.publisher !== browser.session,
                byMember[publication.member].flatMap({ sessions[$0] })?.room == browser.room,
                publication.isScreen || machine?.sees(camera: publication.member, viewer: browser.member.id) ?? true
            else { continue }
            carried[slot.mid] = publication
        }
        for (mid, publication) in browser.subscriptions where carried[mid] !== publication {
            publication.subscribers.removeAll { $0.browser == browser.id && $0.mid == mid }
            browser.session.select(nil, onSlot: mid)
            browser.subscriptions[mid] = nil
        }
        for (mid, publication) in carried where browser.subscriptions[mid] == nil {
            publication.subscribers.append((browser.session, browser.id, mid))
            browser.subscriptions[mid] = publication
            if let ssrc = publication.ssrc { browser.session.select(ssrc, onSlot: mid) }
            publication.requestKeyFrame(now: clock, interval: 0)  // the new subscriber starts at a key frame
        }
        browser.session.keepStreams(carried: Set(browser.subscriptions.keys))
    }

    /// A camera stops: its subscribers' slots go quiet (their browsers free them on the next `cameras`).
    private func unpublish(_ publication: VideoPublication) {
        for subscriber in publication.subscribers {
            subscriber.session.select(nil, onSlot: subscriber.mid)
            sessions[subscriber.browser]?.subscriptions[subscriber.mid] = nil
        }
        publication.subscribers.removeAll()
        publications[publication.id] = nil
    }

    /// The cameras of `room` that `viewer` may see (all of them when nil).
    private func cameras(in room: String, for viewer: Browser? = nil) -> [Signal.Camera] {
        let machine = viewer == nil ? nil : meetings?.machine(room: room)
        return browsers(in: room).flatMap { browser in
            browser.publications.values.compactMap { publication in
                if let viewer, let machine, !publication.isScreen, !machine.sees(camera: publication.member, viewer: viewer.member.id) {
                    return nil
                }
                return Signal.Camera(id: publication.id, member: publication.member, kind: publication.isScreen ? "screen" : "camera")
            }
        }.sorted { $0.id < $1.id }
    }

    /// The room hears its cameras: one list for everybody, or, while viewers' cameras are for the
    /// moderators only, each browser its own.
    private func announceCameras(in room: String) {
        let audience = browsers(in: room).filter(\.attached)
        guard !audience.isEmpty else { return }
        if meetings?.machine(room: room)?.lock.hideViewersCameras == true {
            for browser in audience {
                let list = cameras(in: room, for: browser)
                send(browser, .encode { Signal.cameras(list) })
            }
        } else {
            let list = cameras(in: room)
            outbox.post(.sendAll(audience.map(\.id), .encode { Signal.cameras(list) }))
        }
    }

    /// The lock or a role changed in `room`: what each browser may see is applied again.
    private func refreshCameras(_ room: String) {
        guard !publications.isEmpty else { return }
        let machine = meetings?.machine(room: room)
        for browser in browsers(in: room) where browser.welcomed { syncSlots(browser, machine: machine) }
        announceCameras(in: room)
    }

    /// A moderator stopped a member's cameras, or locked the viewers' cameras: they stop now, and the
    /// browser is told to turn them off (its m-lines stay off until its offer stops sending on them).
    func stopCameras(memberID: Int, reason: CameraStop) {
        guard let browser = byMember[memberID].flatMap({ sessions[$0] }), browser.cameraCount > 0 else { return }
        browser.stoppedCameras.formUnion(browser.publications.values.filter { !$0.isScreen }.map(\.mid))
        syncVideo(browser)
        send(browser, .encode { Signal.cameraStopped(reason: reason) })
    }

    /// The presenter changed: a screen shared by somebody who may no longer share one stops.
    private func refreshScreens(_ room: String) {
        guard let machine = meetings?.machine(room: room) else { return }
        for browser in browsers(in: room) {
            guard let screen = browser.screen, case .failure = machine.mayShareScreen(browser.member.id) else { continue }
            browser.stoppedCameras.insert(screen.mid)
            syncVideo(browser)
            send(browser, .encode { Signal.screenStopped(reason: "presenter") })
        }
    }

    /// The screen shared in `machine`'s meeting now, by somebody else than `browser`.
    private func screenOfOthers(_ browser: Browser, in machine: MeetingMachine) -> VideoPublication? {
        for room in machine.rooms {
            for other in browsers(in: room.voiceBridge) where other !== browser {
                if let screen = other.screen { return screen }
            }
        }
        return nil
    }

    /// The cameras published in `machine`'s meeting (all its rooms) by others than `browser`.
    private func camerasOfOthers(_ browser: Browser, in machine: MeetingMachine) -> Int {
        machine.rooms.reduce(0) { count, room in
            count + browsers(in: room.voiceBridge).reduce(0) { $0 + ($1 === browser ? 0 : $1.cameraCount) }
        }
    }

    /// A joining browser's offer may already send cameras: those the meeting does not allow it now are
    /// held (not forwarded), as if stopped, and the browser is told to turn them off.
    private func holdDisallowedCameras(_ browser: Browser) {
        var sending: [String] = []
        for case .receiveVideo(let video) in browser.session.sections { sending.append(video.mid) }
        guard !sending.isEmpty, let machine = meetings?.machine(room: browser.room) else { return }
        let allowed = (try? machine.cameraAllowance(browser.member.id, othersInMeeting: camerasOfOthers(browser, in: machine)).get()) ?? 0
        let held = sending.dropFirst(allowed)
        guard !held.isEmpty else { return }
        browser.stoppedCameras.formUnion(held)
        send(browser, .encode { Signal.cameraStopped(reason: .locked) })
    }

    /// A new offer on a joined session (`renegotiate`): cameras started or stopped, receive slots
    /// added, reused or freed. Answered with `renegotiated`. An offer that starts more cameras than
    /// the meeting allows the sender is refused whole, and nothing changes (the browser rolls back).
    public func renegotiate(_ id: UInt64, offerSDP: String, subscriptions: [String: String?], screen: String? = nil)
        -> Result<Void, SignalError>
    {
        guard let browser = sessions[id], browser.welcomed, !browser.isEchoTest else { return .failure(.notJoined("renegotiate")) }
        let offer: SessionDescription
        do {
            offer = try SessionDescription(parsing: offerSDP)
        } catch {
            logger.notice("renegotiation refused", metadata: ["room": "\(browser.room)", "why": "\(error)"])
            return .failure(.badOffer)
        }
        // Stopped cameras the offer no longer sends on may start again later.
        let sending = WebRTCSession.publishedVideo(in: offer)
        let stillStopped = browser.stoppedCameras.intersection(sending)
        let wanted = sending.filter { !stillStopped.contains($0) }
        let screen = screen.flatMap { wanted.contains($0) ? $0 : nil }
        let cameras = wanted.filter { $0 != screen }
        let machine = meetings?.machine(room: browser.room)
        if let screen, browser.publications[screen]?.isScreen != true {
            // One screen at a time in a meeting, shared by its presenter or a moderator.
            if let machine {
                if case .failure(let refusal) = machine.mayShareScreen(browser.member.id) { return .failure(refusal) }
                if screenOfOthers(browser, in: machine) != nil { return .failure(.screenBusy) }
            }
        }
        if cameras.contains(where: { browser.publications[$0] == nil || browser.publications[$0]?.isScreen == true }), let machine {
            switch machine.cameraAllowance(browser.member.id, othersInMeeting: camerasOfOthers(browser, in: machine)) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let allowed) where cameras.count > allowed: return .failure(.cameraLimit)
            case .success: break
            }
        }
        do {
            try browser.session.renegotiate(offer, subscriptions: subscriptions)
        } catch {
            logger.notice("renegotiation refused", metadata: ["room": "\(browser.room)", "why": "\(error)"])
            return .failure(.badOffer)
        }
        browser.stoppedCameras = stillStopped
        browser.screenMid = screen
        syncVideo(browser)
        let sdp = browser.session.answer(addresses: port.addresses, fingerprint: port.context.fingerprint, sessionID: browser.id)
        send(browser, .encode { Signal.renegotiated(sdp: sdp) })
        return .success(())
    }

    /// Publishers whose new subscribers still wait for a key frame are asked again, once a second.
    private func requestMissingKeyFrames() {
        for publication in publications.values
        where publication.subscribers.contains(where: { $0.session.waitsForKeyFrame(onSlot: $0.mid) }) {
            publication.requestKeyFrame(now: clock, interval: 1000)
        }
    }

    /// A browser goes: its cameras stop and its slots leave the cameras they carried.
    private func dropVideo(_ browser: Browser) {
        for publication in browser.publications.values { unpublish(publication) }
        let had = !browser.publications.isEmpty
        browser.publications.removeAll()
        for (mid, publication) in browser.subscriptions {
            publication.subscribers.removeAll { $0.browser == browser.id && $0.mid == mid }
        }
        browser.subscriptions.removeAll()
        browser.stoppedCameras.removeAll()
        if had {
            announceCameras(in: browser.room)
            meetings?.camerasChanged(memberID: browser.member.id, count: 0, room: browser.room)
        }
    }

    private func sendAnswer(_ browser: Browser, restart: Bool = false) {
        let sdp = browser.session.answer(addresses: port.addresses, fingerprint: port.context.fingerprint, sessionID: browser.id)
        let machine = meetings?.machine(room: browser.room)
        let isMeeting = machine?.kind == .meeting
        // What the answer says is taken now, on the loop; the JSON is written by the outbox's thread.
        let memberID = browser.member.id, session = "\(browser.id).\(browser.resumeSecret)"
        let role = machine?.attendee(browser.member.id)?.role ?? browser.role
        let roomName = machine?.room(browser.room)?.name ?? rooms.room(browser.room)?.name ?? browser.room
        let welcome = isMeeting ? machine?.welcomeText ?? "" : ""
        let hidden = hiddenViewers(in: browser.room)
        browser.restricted = hidden != nil && !role.isModerator
        let participants = participants(of: browser.room, for: browser, visible: hidden?.visible)
        let chat = machine?.chat(visibleTo: browser.member.id) ?? []
        let lock = isMeeting ? machine?.lock : nil, presenter = machine?.presenter
        let logoutURL = isMeeting ? machine?.settings.logoutURL : nil
        let disabled = (machine?.settings.disabledFeatures ?? []).map(\.rawValue).sorted()
        if !browser.attached, let feed = browser.feed {
            // From here on the room's news reach it, after this answer.
            outbox.post(.attach(browser.id, room: browser.room, feed: feed, member: browser.member.id, restricted: browser.restricted))
            browser.attached = true
        } else {
            outbox.post(.restrict(browser.id, browser.restricted))
        }
        refreshVisibility(browser.room)
        send(browser, .encode {
            Signal.answer(
                sdp: sdp, memberID: memberID, session: session, restart: restart, role: role, roomName: roomName,
                welcome: welcome, participants: participants, chat: chat, lock: lock, presenter: presenter,
                logoutURL: logoutURL, disabledFeatures: disabled)
        })
    }

    /// Sends a meeting's message to the browsers of these members (phones have no screen); it is
    /// encoded once, off the loop.
    func deliver(_ message: ControlMessage, to members: [Int]) {
        let browsers = members.compactMap { byMember[$0].flatMap { sessions[$0] } }
        let encoded = BrowserOutbox.Message.encode { Signal.encode(message) }
        if browsers.count == 1, let browser = browsers.first { return send(browser, encoded) }
        let attached = browsers.filter(\.attached).map(\.id)
        if !attached.isEmpty { outbox.post(.sendAll(attached, encoded)) }
        for browser in browsers where !browser.attached { send(browser, encoded) }
        switch message {
        case .lock, .role, .you:
            for room in Set(browsers.map(\.room)) {
                refreshVisibility(room)
                refreshCameras(room)
            }
        case .presenter:
            for room in Set(browsers.map(\.room)) { refreshScreens(room) }
        default:
            break
        }
    }

    /// Whether `room`'s meeting hides viewers from each other, and who stays visible there (its moderators).
    private func hiddenViewers(in room: String) -> (machine: MeetingMachine, visible: Set<MemberID>)? {
        guard let machine = meetings?.machine(room: room), machine.kind == .meeting, machine.lock.hideUserList else { return nil }
        let members = context.conferences[room]?.members ?? []
        return (machine, Set(members.lazy.filter { machine.attendee($0.id)?.role.isModerator == true }.map(\.id)))
    }

    /// Applies the "see other viewers" lock of `room`: the outbox learns who stays visible and who is
    /// restricted, and a browser whose view changed (the lock was toggled, a role changed) gets the list
    /// anew. Nothing happens while the lock is off and was off.
    private func refreshVisibility(_ room: String) {
        let hidden = hiddenViewers(in: room)
        let visible = hidden?.visible
        let visibleChanged = postedVisibility[room] != visible
        if visibleChanged {
            postedVisibility[room] = visible
            outbox.post(.visible(room: room, members: visible))
        }
        var everybody: [Signal.Participant]?
        for browser in browsers(in: room) where browser.attached {
            let role = hidden?.machine.attendee(browser.member.id)?.role ?? browser.role
            let restricted = hidden != nil && !role.isModerator
            guard restricted != browser.restricted || (restricted && visibleChanged) else { continue }
            if restricted != browser.restricted {
                browser.restricted = restricted
                outbox.post(.restrict(browser.id, restricted))
            }
            if everybody == nil { everybody = participants(of: room) }
            let list = Self.visible(everybody ?? [], to: browser, visible: visible)
            send(browser, .encode { Signal.participants(list) })
        }
    }

    /// The participants `browser` may see: everybody, or when restricted the visible ones and itself.
    private func participants(of room: String, for browser: Browser, visible: Set<MemberID>?) -> [Signal.Participant] {
        Self.visible(participants(of: room), to: browser, visible: visible)
    }

    private static func visible(_ participants: [Signal.Participant], to browser: Browser, visible: Set<MemberID>?) -> [Signal.Participant] {
        guard browser.restricted, let visible else { return participants }
        return participants.filter { visible.contains($0.id) || $0.id == browser.member.id }
    }

    func hasBrowser(memberID: Int) -> Bool { byMember[memberID] != nil }

    /// A moderator removed the member: its browser leaves (it was told).
    func disconnect(memberID: Int, reason: String) {
        if let id = byMember[memberID] { leave(id, reason: reason) }
    }

    /// An ICE restart offer from the joined browser `id`: the answer goes into its feed.
    public func restart(_ id: UInt64, offerSDP: String) -> Result<Void, SignalError> {
        guard let browser = sessions[id] else { return .failure(.sessionExpired) }
        guard !browser.isEchoTest else { return .failure(.notJoined("restart")) }
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
        if browser.isEchoTest { return leave(id, reason: "echo test closed") }
        closeFeed(browser)
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
        closeFeed(browser)
        browser.feed = feed
        browser.connection = connection
        browser.detachedAt = nil
        switch restart(id, offerSDP: offerSDP) {
        case .success: return .success((id, browser.room))
        case .failure(let error): return .failure(error)
        }
    }

    /// A request about the meeting from browser `id`: its meeting's machine decides under its role.
    public func perform(_ id: UInt64, _ request: ParticipantRequest, reply: @escaping MeetingOwner.Reply) {
        guard let browser = sessions[id], let meetings else {
            return reply(.failure(.sessionExpired))
        }
        guard !browser.isEchoTest else { return reply(.failure(.notJoined("request"))) }
        meetings.request(request, from: browser.member.id, room: browser.room, reply: reply)
    }

    /// The bridge moved a browser's member to another room (a breakout room, or back): the browser
    /// hears that room now and sees its participants and chat; its connection stays as it was.
    func moved(memberID: Int, to room: String, breakout: BreakoutInfo?, chat: [ChatLog.Message]) {
        guard let browser = byMember[memberID].flatMap({ sessions[$0] }) else { return }
        // Video does not cross rooms: its cameras lose their subscribers there, its slots go quiet.
        dropVideo(browser)
        place(browser, in: room)
        if browser.attached { outbox.post(.move(browser.id, room: room)) }
        refreshVisibility(room)
        let visible = hiddenViewers(in: room)?.visible
        let roomName = rooms.room(room)?.name ?? room, participants = participants(of: room, for: browser, visible: visible)
        send(browser, .encode {
            Signal.moved(room: room, roomName: roomName, participants: participants, chat: chat, breakout: breakout)
        })
        // Its cameras go on in the new room; it sees that room's.
        syncVideo(browser)
        let cameras = cameras(in: room, for: browser)
        send(browser, .encode { Signal.cameras(cameras) })
    }

    /// A room closed (its meeting ended, or a breakout room): the browsers still in it leave (they
    /// were told why).
    func closeRoom(_ room: String) {
        for browser in browsers(in: room) { leave(browser.id, reason: "meeting ended") }
        if postedVisibility.removeValue(forKey: room) != nil { outbox.post(.visible(room: room, members: nil)) }
    }

    /// `leave` from the browser's WebSocket `connection` (a stale socket cannot end the participant).
    public func leave(_ id: UInt64, connection: UInt64) {
        guard sessions[id]?.connection == connection else { return }
        leave(id)
    }

    public func leave(_ id: UInt64, reason: String = "left") {
        guard let browser = sessions.removeValue(forKey: id) else { return }
        if var rest = byRoom[browser.room] {
            rest.remove(id)
            byRoom[browser.room] = rest.isEmpty ? nil : rest
        }
        let leg = browser.session.leg.counters
        let ice = browser.session.ice.counters
        logger.info("browser left", metadata: [
            "room": "\(browser.room)", "member": "\(browser.member.id)", "reason": "\(reason)", "received": "\(leg.received)",
            "sent": "\(leg.sent)", "unauthenticated": "\(leg.unauthenticated)", "rtcp": "\(leg.rtcp)",
            "ice_bad_integrity": "\(ice.badIntegrity)", "lost": "\(browser.member.jitterStatistics.lost)",
            "video_received": "\(browser.session.videoCounters.packets)", "video_keyframes": "\(browser.session.videoCounters.keyFrames)",
            "video_nacked": "\(browser.session.videoCounters.nacked)", "video_retransmitted": "\(browser.session.videoCounters.retransmitted)", "video_nack_missed": "\(browser.session.videoCounters.missed)",
            "video_over_cap": "\(browser.videoOverCap + browser.publications.values.reduce(0) { $0 + $1.overCap })",
        ])
        port.remove(browser.session)
        dropVideo(browser)
        byMember[browser.member.id] = nil
        closeFeed(browser)  // first: it is not told of its own leaving
        context.conferences[browser.room]?.leave(browser.member.id)
        if browser.isEchoTest {
            context.conferences[browser.room] = nil  // the test's room goes with it
            echoTests -= 1
        }
    }

    /// The room's participants, for a newly joined browser (with their roles in a meeting).
    public func participants(of room: String) -> [Signal.Participant] {
        let machine = meetings?.machine(room: room)
        return context.conferences[room]?.members.map { member in
            var participant = Signal.Participant(member)
            if let role = machine?.attendee(member.id)?.role { participant.role = role.name }
            participant.reconnecting = byMember[member.id].flatMap { sessions[$0] }?.reconnecting ?? false
            return participant
        } ?? []
    }

    /// Posts a room's news to the outbox, which forwards them to every browser in it (once per
    /// conference). On the loop this is one ring slot per event: no JSON, no fan-out, no allocation
    /// for talking news (`check-allocations.sh` runs with this observer attached). A room nobody
    /// watches from a browser costs the outbox's thread a pop per event, nothing more.
    private func watch(_ conference: Conference) {
        let room = conference.name
        conference.observers.append { [weak self, weak conference] event in
            guard let self, let conference else { return }
            switch event {
            case .memberJoined(let id):
                guard let member = conference.member(id) else { return }
                self.outbox.post(.news(room: room, .joined(Signal.Participant(member))))
            case .memberLeft, .talkingStarted, .talkingStopped, .muted, .handRaised, .renamed:
                self.outbox.post(.news(room: room, .event(event)))
            default:
                break
            }
        }
    }
}


