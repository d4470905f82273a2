import Foundation
import PlenumBridge

/// The signalling protocol's messages (docs/signalling.md): JSON text frames over a WebSocket.
public enum Signal {
    /// What a browser sends.
    public struct ClientMessage: Decodable, Sendable {
        public var type: String
        public var room: String?
        public var pin: String?
        public var name: String?
        public var sdp: String?
        public var muted: Bool?
    }

    public struct Participant: Codable, Sendable, Equatable {
        public var id: Int
        public var name: String
        public var muted: Bool
        public var talking: Bool
    }

    static func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func error(_ message: String) -> String { encode(["type": "error", "message": message]) }

    public static func answer(sdp: String, memberID: Int, participants: [Participant]) -> String {
        encode([
            "type": "answer", "sdp": sdp, "memberId": memberID,
            "participants": participants.map { ["id": $0.id, "name": $0.name, "muted": $0.muted, "talking": $0.talking] },
        ])
    }

    static func event(_ event: ConferenceEvent, in conference: Conference) -> String? {
        switch event {
        case .memberJoined(let id):
            let name = conference.member(id)?.name ?? ""
            return encode(["type": "participant-joined", "id": id, "name": name])
        case .memberLeft(let id): return encode(["type": "participant-left", "id": id])
        case .talkingStarted(let id): return encode(["type": "talking", "id": id, "talking": true])
        case .talkingStopped(let id): return encode(["type": "talking", "id": id, "talking": false])
        case .muted(let id, let muted): return encode(["type": "muted", "id": id, "muted": muted])
        case .handRaised(let id, let raised): return encode(["type": "hand", "id": id, "raised": raised])
        case .renamed(let id, let name): return encode(["type": "renamed", "id": id, "name": name])
        default: return nil
        }
    }
}
