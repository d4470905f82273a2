import PlenumBridge
import Testing

@testable import PlenumServer

/// The outbox between the media loop and the browsers' sockets (issue 13), drained by hand: who hears
/// what, in which order, and what happens when the ring is full.
struct BrowserOutboxTests {
    /// A browser's socket: the texts the outbox yielded to it, and whether it was finished.
    final class Socket {
        let feed: BrowserOutbox.Feed
        private var iterator: AsyncStream<String>.Iterator
        init() {
            let (stream, feed) = AsyncStream<String>.makeStream()
            self.feed = feed
            iterator = stream.makeAsyncIterator()
        }
        /// Everything until the feed was finished.
        func all() async -> [String] {
            var texts: [String] = []
            while let text = await iterator.next() { texts.append(text) }
            return texts
        }
    }

    static func talking(_ id: Int, _ on: Bool) -> String { #"{"id":\#(id),"talking":\#(on),"type":"talking"}"# }

    @Test func aBrowserHearsItsAnswerThenItsRoomsNewsAndItsSocketClosesLast() async {
        let outbox = BrowserOutbox(capacity: 64)
        let a = Socket(), b = Socket()
        outbox.post(.sendFeed(a.feed, .text("waiting")))  // before it is attached
        outbox.post(.attach(1, room: "3001", feed: a.feed))
        outbox.post(.send(1, .encode { "answer" }))
        outbox.post(.attach(2, room: "3002", feed: b.feed))
        outbox.post(.news(room: "3001", .event(.talkingStarted(7))))
        outbox.post(.news(room: "3002", .event(.talkingStarted(8))))
        outbox.post(.move(2, room: "3001"))  // b joins a's room (a breakout room, or back)
        outbox.post(.news(room: "3001", .event(.talkingStopped(7))))
        outbox.post(.news(room: "3002", .event(.talkingStopped(8))))  // b is not there any more
        outbox.post(.sendAll([1, 2, 99], .text("chat")))
        outbox.post(.detach(1))
        outbox.post(.send(1, .text("after it left")))
        outbox.post(.detach(2))
        outbox.drain()
        #expect(await a.all() == ["waiting", "answer", Self.talking(7, true), Self.talking(7, false), "chat"])
        #expect(await b.all() == [Self.talking(8, true), Self.talking(7, false), "chat"])
        #expect(outbox.audience(of: "3001").isEmpty && outbox.overflows == 0)
    }

    /// The "see other viewers" lock: a restricted viewer hears news of the room's visible members (the
    /// moderators) and of itself only; a moderator hears everything; lifting the lock restores all news.
    @Test func restrictedViewersHearOnlyTheVisibleMembersAndThemselves() async {
        let outbox = BrowserOutbox(capacity: 64)
        let viewer = Socket(), moderator = Socket()
        outbox.post(.attach(1, room: "m", feed: viewer.feed, member: 10, restricted: true))
        outbox.post(.attach(2, room: "m", feed: moderator.feed, member: 20))
        outbox.post(.visible(room: "m", members: [20]))
        outbox.post(.news(room: "m", .event(.talkingStarted(30))))  // another viewer
        outbox.post(.news(room: "m", .event(.talkingStarted(20))))  // the moderator
        outbox.post(.news(room: "m", .event(.talkingStarted(10))))  // the viewer itself
        outbox.post(.news(room: "m", .connection(30, reconnecting: true)))
        outbox.post(.restrict(1, false))  // promoted
        outbox.post(.news(room: "m", .event(.talkingStopped(30))))
        outbox.post(.restrict(1, true))
        outbox.post(.visible(room: "m", members: nil))  // the lock is lifted
        outbox.post(.news(room: "m", .event(.memberLeft(30))))
        outbox.post(.detach(1))
        outbox.post(.detach(2))
        outbox.drain()
        let left30 = #"{"id":30,"type":"participant-left"}"#
        #expect(await viewer.all() == [Self.talking(20, true), Self.talking(10, true), Self.talking(30, false), left30])
        #expect(await moderator.all().count == 6, "a moderator hears everything")
    }

    @Test func aFullRingKeepsJoinsAndLeavesAndCoalescesTalkingPerMember() async {
        let outbox = BrowserOutbox(capacity: 4)
        let socket = Socket()
        outbox.post(.attach(1, room: "3001", feed: socket.feed))
        // Nobody drains: the ring fills after four items, the rest waits on the loop's side.
        for i in 0..<50 { outbox.post(.news(room: "3001", .event(i % 2 == 0 ? .talkingStarted(5) : .talkingStopped(5)))) }
        outbox.post(.news(room: "3001", .event(.memberLeft(5))))
        for i in 0..<50 { outbox.post(.news(room: "3001", .event(i % 2 == 0 ? .talkingStarted(6) : .talkingStopped(6)))) }
        outbox.post(.news(room: "3001", .event(.memberLeft(6))))
        #expect(outbox.overflows == 100 - 3 + 2)
        repeat {  // the consumer catches up; the loop pushes the rest each tick
            outbox.drain()
            outbox.flush()
        } while !outbox.isOverflowEmpty
        outbox.drain()
        outbox.post(.detach(1))
        outbox.drain()
        let texts = await socket.all()
        let left5 = #"{"id":5,"type":"participant-left"}"#, left6 = #"{"id":6,"type":"participant-left"}"#
        #expect(texts.contains(left5) && texts.contains(left6), "leaves are never dropped")
        // Member 5's first three toggles fit; its last state waited and is the last word before it left.
        let on5 = Self.talking(5, true), off5 = Self.talking(5, false)
        #expect(Array(texts.prefix(4)) == [on5, off5, on5, off5])
        #expect(texts.firstIndex(of: left5).map { texts[$0 - 1] } == Self.talking(5, false))
        #expect(texts.firstIndex(of: left6).map { texts[$0 - 1] } == Self.talking(6, false))
        #expect(texts.count == 7, "3 toggles fitted; the 97 that found the ring full became one per member")
    }

    @Test func itsThreadDeliversWhatTheLoopPosts() async {
        let outbox = BrowserOutbox()
        outbox.start()
        defer { outbox.stop() }
        let socket = Socket()
        outbox.post(.attach(1, room: "3001", feed: socket.feed))
        for i in 0..<1000 { outbox.post(.news(room: "3001", .event(i % 2 == 0 ? .talkingStarted(5) : .talkingStopped(5)))) }
        outbox.post(.detach(1))
        let texts = await socket.all()
        #expect(texts.count == 1000 || outbox.overflows > 0)
        #expect(texts.last == Self.talking(5, false))
    }
}
