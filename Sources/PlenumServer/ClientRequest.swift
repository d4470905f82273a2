import Foundation
import PlenumMeetings

/// What a browser may send, one `Decodable` type per message (docs/signalling.md, "Client → server"),
/// found by its `type` in one dispatch table. Replaces a single struct of twenty optional fields whose
/// meaning depended on the type (issue 12): a message now either decodes into exactly what its type
/// needs or is refused with `missing-fields` (a field it needs is absent) or `malformed-message`.
/// Sans-I/O: `decode` is all the session and the fuzzer call.
public enum ClientRequest: Sendable {
    case join(Join)
    /// The join screen's echo test: a private room that plays the browser's voice back (no meeting).
    case echo(Join)
    case resume(Resume)
    case restart(Restart)
    /// A new offer on the joined session: a camera started or stopped, a receive slot added or reused.
    case renegotiate(Renegotiate)
    case leave
    /// A request about the meeting, decided by its `MeetingMachine` under the sender's role.
    case action(ParticipantRequest)

    public struct Join: Decodable, Sendable {
        /// The protocol version the client speaks (absent: 1).
        public var version: Int?
        public var token: String
        public var sdp: String
        public var name: String?
    }

    public struct Resume: Decodable, Sendable {
        /// The session handle from the answer.
        public var session: String
        public var sdp: String
    }

    public struct Restart: Decodable, Sendable {
        public var sdp: String
    }

    public struct Renegotiate: Decodable, Sendable {
        public var sdp: String
        /// Receive slot (mid) → the camera it should carry (an id from `cameras`), or null for none.
        public var subscriptions: [String: String?]?
        /// The mid of the video m-line that carries a shared screen (absent: none).
        public var screen: String?
    }

    public var isLeave: Bool {
        if case .leave = self { true } else { false }
    }

    /// What every message has: its type, and optionally the room it is about (must be the sender's).
    struct Envelope: Decodable {
        var type: String
        var room: String?
    }

    /// The message types and how each decodes. Its keys are the protocol's client messages; a test
    /// checks them against docs/signalling.md.
    static let table: [String: @Sendable (Data, JSONDecoder) throws -> ClientRequest] = [
        "join": { .join(try $1.decode(Join.self, from: $0)) },
        "echo": { .echo(try $1.decode(Join.self, from: $0)) },
        "resume": { .resume(try $1.decode(Resume.self, from: $0)) },
        "restart": { .restart(try $1.decode(Restart.self, from: $0)) },
        "renegotiate": { .renegotiate(try $1.decode(Renegotiate.self, from: $0)) },
        "leave": { _, _ in .leave },
        "mute": { data, decoder in
            struct Mute: Decodable { var muted: Bool; var id: Int? }
            let m = try decoder.decode(Mute.self, from: data)
            return .action(.mute(target: m.id, muted: m.muted))
        },
        "mute-all": { data, decoder in
            struct MuteAll: Decodable { var muted: Bool? }
            return .action(.muteAll(muted: try decoder.decode(MuteAll.self, from: data).muted ?? true))
        },
        "remove": { data, decoder in .action(.remove(target: try decoder.decode(Target.self, from: data).id)) },
        "rename": { data, decoder in
            struct Rename: Decodable { var id: Int; var name: String }
            let r = try decoder.decode(Rename.self, from: data)
            return .action(.rename(target: r.id, name: r.name))
        },
        "promote": { data, decoder in .action(.setRole(target: try decoder.decode(Target.self, from: data).id, moderator: true)) },
        "demote": { data, decoder in .action(.setRole(target: try decoder.decode(Target.self, from: data).id, moderator: false)) },
        "end-meeting": { _, _ in .action(.endMeeting) },
        "stop-camera": { data, decoder in .action(.stopCamera(target: try decoder.decode(Target.self, from: data).id)) },
        "hand": { data, decoder in
            struct Hand: Decodable { var raised: Bool; var id: Int? }
            let h = try decoder.decode(Hand.self, from: data)
            return .action(.hand(target: h.id, raised: h.raised))
        },
        "lock": { data, decoder in
            struct Lock: Decodable {
                var microphone: Bool?, publicChat: Bool?, privateChat: Bool?, hideViewers: Bool?, camera: Bool?, viewersCameras: Bool?
            }
            let l = try decoder.decode(Lock.self, from: data)
            return .action(.lock(microphone: l.microphone, publicChat: l.publicChat, privateChat: l.privateChat,
                                 hideUserList: l.hideViewers, camera: l.camera, hideViewersCameras: l.viewersCameras))
        },
        "chat": { data, decoder in
            struct Chat: Decodable { var text: String; var to: Int? }
            let c = try decoder.decode(Chat.self, from: data)
            return .action(.chat(text: c.text, to: c.to))
        },
        "chat-delete": { data, decoder in
            struct Delete: Decodable { var messageId: Int }
            return .action(.deleteChat(messageID: try decoder.decode(Delete.self, from: data).messageId))
        },
        "admit": { data, decoder in
            struct Admit: Decodable { var guest: Int; var allow: Bool }
            let a = try decoder.decode(Admit.self, from: data)
            return .action(.admit(guest: a.guest, allow: a.allow))
        },
        "breakouts-start": { data, decoder in
            struct Plan: Decodable { var name: String?; var members: [Int]? }
            struct Start: Decodable { var rooms: [Plan]; var seconds: Int; var freeJoin: Bool? }
            let s = try decoder.decode(Start.self, from: data)
            return .action(.startBreakouts(
                rooms: s.rooms.map { BreakoutPlan(name: $0.name ?? "", members: $0.members ?? []) },
                seconds: s.seconds, freeJoin: s.freeJoin ?? false))
        },
        "breakouts-extend": { data, decoder in .action(.extendBreakouts(seconds: try decoder.decode(Seconds.self, from: data).seconds)) },
        "breakouts-end": { _, _ in .action(.endBreakouts) },
        "breakouts-visit": { data, decoder in .action(.visitBreakout(sequence: try decoder.decode(Sequence.self, from: data).sequence)) },
        "breakouts-choose": { data, decoder in .action(.chooseBreakout(sequence: try decoder.decode(Sequence.self, from: data).sequence)) },
        "breakouts-message": { data, decoder in
            struct Message: Decodable { var text: String }
            return .action(.messageBreakouts(text: try decoder.decode(Message.self, from: data).text))
        },
        "help": { _, _ in .action(.askForHelp) },
        "presenter": { data, decoder in .action(.setPresenter(target: try decoder.decode(Target.self, from: data).id)) },
    ]

    private struct Target: Decodable { var id: Int }
    private struct Seconds: Decodable { var seconds: Int }
    private struct Sequence: Decodable { var sequence: Int }

    /// The message types a client may send.
    public static var types: Set<String> { Set(table.keys) }

    /// A decoded message: its type, the room it names (if any) and what it asks for.
    public struct Decoded: Sendable {
        public var type: String
        public var room: String?
        public var request: ClientRequest
    }

    /// Why a frame was refused, with its type when that much was readable.
    public struct Refusal: Error, Sendable {
        public var error: SignalError
        public var type: String?
    }

    /// Decodes one text frame. The refusal says why, for the error reply.
    public static func decode(_ data: Data) -> Result<Decoded, Refusal> {
        let decoder = JSONDecoder()
        guard let envelope = try? decoder.decode(Envelope.self, from: data) else { return .failure(Refusal(error: .malformedMessage)) }
        guard let decode = table[envelope.type] else { return .failure(Refusal(error: .unknownType, type: envelope.type)) }
        do {
            return .success(Decoded(type: envelope.type, room: envelope.room, request: try decode(data, decoder)))
        } catch DecodingError.keyNotFound(let key, _) {
            return .failure(Refusal(error: SignalError(.missingFields, "\(envelope.type) needs \(key.stringValue)"), type: envelope.type))
        } catch DecodingError.valueNotFound(_, let context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            return .failure(Refusal(error: SignalError(.missingFields, "\(envelope.type) needs \(field)"), type: envelope.type))
        } catch {
            return .failure(Refusal(error: .malformedMessage, type: envelope.type))
        }
    }
}
