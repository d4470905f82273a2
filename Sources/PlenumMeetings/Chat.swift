import Foundation

/// A room's chat (issue 6): public and private messages, kept in memory for the meeting's life and
/// gone when it ends (privacy by default: nothing is written anywhere). Sans-I/O; the server checks
/// roles and locks before it posts.
public struct ChatLog: Sendable, Equatable {
    public struct Message: Sendable, Equatable {
        public var id: Int
        public var from: Int
        public var fromName: String
        /// The recipient of a private message; nil for everybody.
        public var to: Int?
        public var text: String
        /// Milliseconds since 1970.
        public var time: Int64
    }

    public private(set) var messages: [Message] = []
    private var nextID = 1
    /// Oldest messages go first beyond this many (a long meeting's chat stays bounded).
    public static let capacity = 1000
    /// The longest message, in characters.
    public static let maxLength = 2000

    public init() {}

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case empty, tooLong
        public var description: String {
            switch self {
            case .empty: "an empty message"
            case .tooLong: "messages are at most \(ChatLog.maxLength) characters"
            }
        }
    }

    /// Cleans and stores a message: control characters go (line breaks stay), edges are trimmed.
    public mutating func post(from: Int, fromName: String, to: Int?, text: String, now: Millis) -> Result<Message, Refusal> {
        let cleaned = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 == "\n" || ($0.value >= 0x20 && $0.value != 0x7F) }))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !cleaned.isEmpty else { return .failure(.empty) }
        guard cleaned.count <= Self.maxLength else { return .failure(.tooLong) }
        let message = Message(id: nextID, from: from, fromName: fromName, to: to, text: cleaned,
                              time: now)
        nextID += 1
        messages.append(message)
        if messages.count > Self.capacity { messages.removeFirst(messages.count - Self.capacity) }
        return .success(message)
    }

    /// A moderator deletes a message; returns it if it existed.
    public mutating func delete(_ id: Int) -> Message? {
        guard let index = messages.firstIndex(where: { $0.id == id }) else { return nil }
        return messages.remove(at: index)
    }

    /// What `member` may read: public messages and private ones to or from it.
    public func visible(to member: Int) -> [Message] {
        messages.filter { $0.to == nil || $0.to == member || $0.from == member }
    }
}

