import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PlenumBridge
import PlenumMeetings
import PlenumWebRTC
import Testing

@testable import PlenumServer

/// The WebSocket protocol in process (issue 12): one socket's session against a real media loop with
/// rooms, meetings and a WebRTC port on loopback, fed what a careless or hostile client sends —
/// malformed, unknown, oversize, out-of-order and replayed messages. Each gets its error code, and the
/// session stays usable.
@Suite(.serialized) struct SignallingSessionTests {
    final class Server: Sendable {
        let loop = MediaLoop(name: "session-tests")
        let tokens = AccessTokens(secret: Array("a secret of thirty-two bytes!!!!".utf8))

        init() throws {
            let identity = try DTLSContext()
            let loop = self.loop
            loop.start()
            loop.execute { context in
                let rooms = Rooms(RoomDirectory([.init(number: "3001", name: "Lobby")]), sounds: nil, profiles: [:], context: context)
                context.add(rooms)
                let meetings = MeetingManager(roles: RoleBook(), reservedNumbers: ["3001"], rooms: rooms, context: context, loop: loop)
                if let port = try? WebRTCPort(address: "127.0.0.1", port: 0, context: identity) {
                    let browsers = WebRTCManager(port: port, rooms: rooms, context: context)
                    context.add(browsers)
                    meetings.browsers = browsers
                }
                context.add(meetings)
            }
        }

        /// A meeting made as the API makes it; its grant's instance.
        func createMeeting(_ id: String, voiceBridge: String) async -> String? {
            let settings = try? BigBlueButtonAPI.createSettings(
                APIRequest(call: "create", rawQuery: "name=\(id)&meetingID=\(id)&voiceBridge=\(voiceBridge)"), freeVoiceBridge: { voiceBridge }
            ).get()
            guard let settings else { return nil }
            let created = await loop.run(replying: { (context, reply: @escaping @Sendable (MeetingSnapshot?) -> Void) in
                context.hook(MeetingManager.self)?.create(settings) { result in
                    switch result {
                    case .success(.created(let s)), .success(.existing(let s)): reply(s)
                    case .failure: reply(nil)
                    }
                }
            })
            return created?.instance
        }

        func end(_ id: String) async {
            let _: Bool = await loop.run(replying: { context, reply in
                context.hook(MeetingManager.self)?.end(id, reason: .api) { _ in reply(true) }
            })
        }

        func token(room: String, meeting: String? = nil, instance: String? = nil, role: String? = nil) -> String {
            tokens.issue(AccessGrant(room: room, expires: Int(Date().timeIntervalSince1970) + 60, meeting: meeting, instance: instance,
                                     user: meeting.map { _ in "user-1" }, role: role, name: "Tester"))
        }
    }

    /// A client's side of one socket: what it sends goes through the session, what the server says
    /// comes out of the feed.
    struct Client {
        var session: SignallingSession
        var replies: AsyncStream<String>.Iterator

        init(_ server: Server) {
            let (stream, feed) = AsyncStream<String>.makeStream()
            session = SignallingSession(tokens: server.tokens, loop: server.loop, logger: Logger(label: "test"), feed: feed)
            replies = stream.makeAsyncIterator()
        }

        /// Sends `text` and returns the next message of `type` (skipping the room's news).
        mutating func send(_ text: String, expect type: String) async -> [String: Any] {
            _ = await session.handle(text)
            while let next = await replies.next() {
                guard let object = (try? JSONSerialization.jsonObject(with: Data(next.utf8))) as? [String: Any] else { continue }
                if object["type"] as? String == type { return object }
            }
            return [:]
        }

        mutating func refusal(_ text: String) async -> String? { await send(text, expect: "error")["code"] as? String }
    }

    static let offer = """
        v=0\r
        o=- 1 1 IN IP4 127.0.0.1\r
        s=-\r
        t=0 0\r
        a=group:BUNDLE 0\r
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r
        c=IN IP4 0.0.0.0\r
        a=ice-ufrag:abcd\r
        a=ice-pwd:abcdefghijklmnopqrstuvwx\r
        a=fingerprint:sha-256 \((0..<32).map { _ in "AB" }.joined(separator: ":"))\r
        a=setup:actpass\r
        a=mid:0\r
        a=sendrecv\r
        a=rtcp-mux\r
        a=rtpmap:111 opus/48000/2\r

        """

    static func join(_ token: String, sdp: String = offer, extra: String = "") -> String {
        let body = try? JSONSerialization.data(withJSONObject: ["type": "join", "token": token, "sdp": sdp])
        let text = body.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return extra.isEmpty ? text : String(text.dropLast()) + ", " + extra + "}"
    }

    @Test func badMessagesAreRefusedWithTheirCodesAndTheSessionStaysUsable() async throws {
        let server = try Server()
        var client = Client(server)
        #expect(await client.refusal("not json") == "malformed-message")
        #expect(await client.refusal(#"{"type": "fly"}"#) == "unknown-type")
        #expect(await client.refusal(#"{"type": "mute"}"#) == "missing-fields")
        #expect(await client.refusal(String(repeating: " ", count: SignallingServer.maxMessageSize + 1)) == "message-too-large")
        // Out of order: requests before a join.
        #expect(await client.refusal(#"{"type": "mute", "muted": true}"#) == "not-joined")
        #expect(await client.refusal(#"{"type": "restart", "sdp": "v=0"}"#) == "not-joined")
        // Getting in.
        #expect(await client.refusal(Self.join("garbage")) == "token-invalid")
        #expect(await client.refusal(Self.join(server.token(room: "3001"), extra: #""version": 2"#)) == "unsupported-version")
        #expect(await client.refusal(Self.join(server.token(room: "3001"), sdp: "v=0")) == "bad-offer")
        #expect(await client.refusal(Self.join(server.token(room: "9999"))) == "no-such-room")
        let named = #"{"type": "join", "room": "3002", "token": "\#(server.token(room: "3001"))", "sdp": "v=0"}"#
        #expect(await client.refusal(named) == "wrong-room")
        // After all that, the same socket joins.
        let answer = await client.send(Self.join(server.token(room: "3001")), expect: "answer")
        #expect(answer["roomName"] as? String == "Lobby" && answer["role"] as? String == "viewer")
        // Replayed: a second join, a resume of a session with a wrong secret.
        #expect(await client.refusal(Self.join(server.token(room: "3001"))) == "already-joined")
        var other = Client(server)
        let memberID = answer["memberId"] as? Int ?? 0
        #expect(await other.refusal(#"{"type": "resume", "session": "\#(memberID).wrong", "sdp": "v=0"}"#) == "session-expired")
        // Requests of a viewer in a configured room, and one naming another room.
        #expect(await client.refusal(#"{"type": "lock", "microphone": true}"#) == "not-allowed")
        #expect(await client.refusal(#"{"type": "mute", "muted": true, "room": "3002"}"#) == "not-in-room")
        let chat = await client.send(#"{"type": "chat", "text": "hello"}"#, expect: "chat")
        #expect(chat["text"] as? String == "hello" && chat["from"] as? Int == memberID)
        server.loop.stop()
    }

    @Test func aMeetingsGrantDoesNotOutliveItsMeeting() async throws {
        let server = try Server()
        let instance = try #require(await server.createMeeting("class", voiceBridge: "75000"))
        var client = Client(server)
        let grant = server.token(room: "75000", meeting: "class", instance: instance, role: "moderator")
        let answer = await client.send(Self.join(grant), expect: "answer")
        #expect(answer["role"] as? String == "moderator")
        await server.end("class")
        var told = false
        while let next = await client.replies.next() {
            if next.contains(#""type":"meeting-ended""#) { told = true; break }
        }
        #expect(told, "told why")
        #expect(await client.replies.next() == nil, "the session ended with it (its socket closes)")
        // The same ID and number again: the old grant does not open the new meeting.
        _ = try #require(await server.createMeeting("class", voiceBridge: "75000"))
        var again = Client(server)
        #expect(await again.refusal(Self.join(grant)) == "meeting-ended")
        #expect(await again.refusal(Self.join(server.token(room: "75000"))) == "no-such-room", "no way in without the meeting's grant")
        server.loop.stop()
    }
}

/// The BigBlueButton API's routes in process (HummingbirdTesting's router mode) against a real media
/// loop: checksums, create, join without redirect, the meeting as the API shows it, end.
@Suite struct BigBlueButtonRoutesTests {
    static let secret = "routes-secret"

    static func signed(_ call: String, _ query: String) -> String {
        let checksum = "checksum=\(ChecksumAlgorithm.sha256.hexDigest(call + query + secret))"
        return "/bigbluebutton/api/\(call)?" + (query.isEmpty ? checksum : "\(query)&\(checksum)")
    }

    @Test func aMeetingIsCreatedJoinedShownAndEndedThroughTheRoutes() async throws {
        let server = try SignallingSessionTests.Server()
        let router = Router(context: PlenumRequestContext.self)
        BigBlueButtonRoutes.add(to: router, api: APISettings(secret: Self.secret), tokens: server.tokens, loop: server.loop,
                                publicURL: "https://meet.example.org/")
        let app = Application(router: router)
        try await app.test(.router) { client in
            func get(_ uri: String) async throws -> String {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
            #expect(try await get("/bigbluebutton/api/create?name=x&meetingID=c1&checksum=00").contains("checksumError"))
            let created = try await get(Self.signed("create", "name=Class&meetingID=c1&voiceBridge=76000&moderatorPW=mp&attendeePW=ap"))
            #expect(created.contains("<returncode>SUCCESS</returncode>") && created.contains("<voiceBridge>76000</voiceBridge>"))
            let again = try await get(Self.signed("create", "name=Class&meetingID=c1&voiceBridge=76000&moderatorPW=mp&attendeePW=ap"))
            #expect(again.contains("duplicateWarning"), "create is idempotent")
            let taken = try await get(Self.signed("create", "name=Other&meetingID=c2&voiceBridge=76000"))
            #expect(taken.contains("nonUniqueVoiceBridge"))
            let joined = try await get(Self.signed("join", "fullName=Ann&meetingID=c1&role=MODERATOR&redirect=false"))
            #expect(joined.contains("https://meet.example.org/?token="))
            let info = try await get(Self.signed("getMeetingInfo", "meetingID=c1"))
            #expect(info.contains("<meetingName>Class</meetingName>") && info.contains("<participantCount>0</participantCount>"))
            #expect(try await get(Self.signed("end", "meetingID=c1&password=wrong")).contains("FAILED"))
            #expect(try await get(Self.signed("end", "meetingID=c1&password=mp")).contains("SUCCESS"))
            #expect(try await get(Self.signed("getMeetingInfo", "meetingID=c1")).contains("notFound"), "nothing of it remains")
            #expect(try await get(Self.signed("getMeetings", "")).contains("noMeetings"))
        }
        server.loop.stop()
    }
}
