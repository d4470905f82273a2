import Dispatch
import Foundation
import Logging
import PlenumBridge
import PlenumCore
import Synchronization

/// What a media loop tells its browsers, encoded and delivered off the loop (issue 13).
///
/// The loop only posts typed items into a bounded `Ring`; the outbox's own thread encodes each item
/// to JSON once and yields it to the WebSocket feeds of the browsers it concerns. So a talker
/// toggling in a room of 500 browsers costs the mixer tick one ring slot, not 500 yields and a JSON
/// encoding. Everything the loop sends to a browser takes this one path, which keeps each browser's
/// messages in the order the loop produced them (an answer before the room's news, an error before
/// the socket closes).
///
/// Who hears what is the consumer's state: browsers are `attach`ed to a room with their feed when
/// welcomed, `move`d between rooms and `detach`ed when they go. Under a meeting's "see other viewers"
/// lock a room has a set of `visible` members (its moderators), and its `restrict`ed browsers (its
/// viewers) hear news only of those and of themselves; without it nothing is checked per browser.
///
/// When the ring is full (the thread cannot keep up), items wait in a loop-side overflow list that is
/// pushed again before anything newer: talking news coalesce there per member, everything else
/// (joins, leaves, answers, errors) is kept. Overflows are counted and logged sparsely.
public final class BrowserOutbox: @unchecked Sendable {
    public typealias Feed = AsyncStream<String>.Continuation

    /// News about a room's conference, for every browser attached to that room.
    public enum News: Sendable, Equatable {
        case event(ConferenceEvent)
        /// A member joined: its state as the loop saw it (the consumer cannot read the conference).
        case joined(Signal.Participant)
        /// A browser went silent (nothing heard for a few seconds), or was heard again.
        case connection(MemberID, reconnecting: Bool)

        /// The member the news is about.
        var subject: MemberID? {
            switch self {
            case .joined(let participant): participant.id
            case .connection(let id, _): id
            case .event(let event): event.subject
            }
        }
    }

    /// A message for named browsers: already encoded, or encoded by the outbox's thread.
    public enum Message: Sendable {
        case text(String)
        case encode(@Sendable () -> String)

        var text: String {
            switch self {
            case .text(let text): text
            case .encode(let make): make()
            }
        }
    }

    enum Item: Sendable {
        /// The browser hears `room` through `feed` from now on (a previous feed of it is finished).
        case attach(UInt64, room: String, feed: Feed, member: MemberID = 0, restricted: Bool = false)
        case move(UInt64, room: String)
        /// The browser goes: its feed is finished after everything sent to it before.
        case detach(UInt64)
        case news(room: String, News)
        case send(UInt64, Message)
        case sendAll([UInt64], Message)
        /// For a browser that is not attached (waiting room, refused join): straight into its feed.
        case sendFeed(Feed, Message)
        case finish(Feed)
        /// The members whose news restricted browsers of `room` hear (nil: the lock is off, all news for all).
        case visible(room: String, members: Set<MemberID>?)
        /// The browser hears only the visible members of its room (and itself), or everybody.
        case restrict(UInt64, Bool)
    }

    private let ring: Ring<Item>
    private let logger: Logger
    private let asleep = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)

    // Producer side: the media loop only.
    private var overflow: [Item] = []
    /// Items that found the ring full (the loop's count; read it on the loop).
    public private(set) var overflows = 0
    /// Nothing waits on the loop's side for room in the ring.
    var isOverflowEmpty: Bool { overflow.isEmpty }

    // Consumer side: the outbox's thread only (or a test calling `drain`).
    private struct Listener {
        var room: String
        let feed: Feed
        let member: MemberID
        var restricted: Bool
    }
    private var feeds: [UInt64: Listener] = [:]
    private var audiences: [String: Set<UInt64>] = [:]
    private var visibleMembers: [String: Set<MemberID>] = [:]

    public init(capacity: Int = 8192, logger: Logger = Logger(label: "plenum.outbox")) {
        ring = Ring(capacity: capacity)
        self.logger = logger
        overflow.reserveCapacity(256)
    }

    /// Starts the thread that delivers; without it (in tests) `drain` delivers.
    /// Returns once the thread runs (so what it sets up for itself is done before any tick).
    public func start() {
        let running = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in run(started: running) }
        thread.name = "plenum-outbox"
        thread.start()
        running.wait()
    }

    /// Ends the thread after it delivered what was posted.
    public func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        wake.signal()
    }

    // MARK: Producer (the media loop)

    func post(_ item: Item) {
        if !overflow.isEmpty { pushOverflow() }
        if overflow.isEmpty, ring.push(item) {
            wakeConsumer()
            return
        }
        overflows += 1
        if overflows & (overflows - 1) == 0 {
            logger.notice("browser outbox full: news wait on the loop", metadata: ["overflows": "\(overflows)"])
        }
        if case .news(let room, .event(let event)) = item, let member = event.talkingMember,
            let index = overflow.firstIndex(where: { $0.isTalking(of: member, in: room) })
        {
            overflow[index] = item  // only the latest talking state of a member matters
        } else {
            overflow.append(item)
        }
    }

    /// Pushes what waited for room in the ring (the loop calls it every tick).
    func flush() {
        if !overflow.isEmpty { pushOverflow() }
    }

    private func pushOverflow() {
        var pushed = 0
        while pushed < overflow.count, ring.push(overflow[pushed]) { pushed += 1 }
        if pushed > 0 {
            overflow.removeFirst(pushed)
            wakeConsumer()
        }
    }

    private func wakeConsumer() {
        if asleep.exchange(false, ordering: .sequentiallyConsistent) { wake.signal() }
    }

    // MARK: Consumer (the outbox's thread)

    private func run(started: DispatchSemaphore) {
        started.signal()
        while !stopped.load(ordering: .sequentiallyConsistent) {
            drain()
            // Announce the sleep, then look again: a producer that pushed before it saw the flag
            // does not signal (see `wakeConsumer`), so what it pushed is found here.
            _ = asleep.exchange(true, ordering: .sequentiallyConsistent)
            if !ring.isEmpty {
                if asleep.exchange(false, ordering: .sequentiallyConsistent) { continue }
                // A producer took the flag and signals: consume that signal.
            }
            wake.wait()
        }
        drain()
    }

    /// Delivers everything posted so far.
    func drain() {
        while let item = ring.pop() { deliver(item) }
    }

    private func deliver(_ item: Item) {
        switch item {
        case .attach(let id, let room, let feed, let member, let restricted):
            if let previous = feeds[id] {
                audiences[previous.room]?.remove(id)
                previous.feed.finish()
            }
            feeds[id] = Listener(room: room, feed: feed, member: member, restricted: restricted)
            audiences[room, default: []].insert(id)
        case .move(let id, let room):
            guard feeds[id] != nil, let previous = feeds[id]?.room else { return }
            audiences[previous]?.remove(id)
            if audiences[previous]?.isEmpty == true { audiences[previous] = nil }
            feeds[id]?.room = room
            audiences[room, default: []].insert(id)
        case .detach(let id):
            guard let entry = feeds.removeValue(forKey: id) else { return }
            audiences[entry.room]?.remove(id)
            if audiences[entry.room]?.isEmpty == true { audiences[entry.room] = nil }
            entry.feed.finish()
        case .news(let room, let news):
            // Nobody listening, nothing encoded.
            guard let audience = audiences[room], !audience.isEmpty, let text = Signal.news(news) else { return }
            if let visible = visibleMembers[room], let subject = news.subject, !visible.contains(subject) {
                for id in audience {
                    guard let listener = feeds[id], !listener.restricted || listener.member == subject else { continue }
                    listener.feed.yield(text)
                }
            } else {
                for id in audience { feeds[id]?.feed.yield(text) }
            }
        case .send(let id, let message):
            guard let feed = feeds[id]?.feed else { return }
            feed.yield(message.text)
        case .sendAll(let ids, let message):
            let recipients = ids.compactMap { feeds[$0]?.feed }
            guard !recipients.isEmpty else { return }
            let text = message.text
            for feed in recipients { feed.yield(text) }
        case .sendFeed(let feed, let message):
            feed.yield(message.text)
        case .finish(let feed):
            feed.finish()
        case .visible(let room, let members):
            visibleMembers[room] = members
        case .restrict(let id, let restricted):
            feeds[id]?.restricted = restricted
        }
    }

    /// The browsers attached to `room` (for tests, from the consumer's side).
    func audience(of room: String) -> Set<UInt64> { audiences[room] ?? [] }
}

extension ConferenceEvent {
    /// The member an event is about.
    var subject: MemberID? {
        switch self {
        case .memberJoined(let id), .memberLeft(let id), .talkingStarted(let id), .talkingStopped(let id),
            .muted(let id, _), .deaf(let id, _), .handRaised(let id, _), .renamed(let id, _), .gainChanged(let id, _, _),
            .hangupRequested(let id), .helpRequested(let id):
            id
        case .promptFinished(let member, _): member
        }
    }

    /// The member whose talking state this is, for talking news.
    var talkingMember: MemberID? {
        switch self {
        case .talkingStarted(let id), .talkingStopped(let id): id
        default: nil
        }
    }
}

extension BrowserOutbox.Item {
    fileprivate func isTalking(of member: MemberID, in room: String) -> Bool {
        guard case .news(let itemRoom, .event(let event)) = self else { return false }
        return itemRoom == room && event.talkingMember == member
    }
}
