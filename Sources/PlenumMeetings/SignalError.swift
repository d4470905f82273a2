/// Why the server refused a signalling request: a `code` the client translates (web/i18n.js, English
/// and German) and acts on, and an English `message` for logs and people reading the protocol. Before
/// (issue 12) the English text was all there was, and the client's control flow hung on it: a
/// waiting guest who typed a chat message was refused with "waiting for a moderator", which the client
/// took for a failed join, and left. Every code is listed in docs/signalling.md (a test checks both ways).
public struct SignalError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, CaseIterable, Sendable {
        // The message itself.
        case malformedMessage = "malformed-message"
        case messageTooLarge = "message-too-large"
        case textFramesOnly = "text-frames-only"
        case unknownType = "unknown-type"
        case missingFields = "missing-fields"
        case unsupportedVersion = "unsupported-version"
        // The session.
        case notJoined = "not-joined"
        case alreadyJoined = "already-joined"
        case waitingForModerator = "waiting-for-moderator"
        case sessionExpired = "session-expired"
        case notInRoom = "not-in-room"
        // Getting in.
        case tokenInvalid = "token-invalid"
        case tokenExpired = "token-expired"
        case wrongRoom = "wrong-room"
        case noSuchRoom = "no-such-room"
        case wrongPIN = "wrong-pin"
        case tooManyAttempts = "too-many-attempts"
        case roomFull = "room-full"
        case badOffer = "bad-offer"
        case echoTestsBusy = "echo-tests-busy"
        case meetingEnded = "meeting-ended"
        case meetingFull = "meeting-full"
        case removed
        case guestsNotAdmitted = "guests-not-admitted"
        // The connection, unasked (the session is over).
        case connectionFailed = "connection-failed"
        case connectionLost = "connection-lost"
        // What the role or the meeting's locks allow.
        case notAllowed = "not-allowed"
        case onlySelfUnmute = "only-self-unmute"
        case microphonesLocked = "microphones-locked"
        case publicChatLocked = "public-chat-locked"
        case privateChatLocked = "private-chat-locked"
        case camerasLocked = "cameras-locked"
        case cameraLimit = "camera-limit"
        case featureDisabled = "feature-disabled"
        case screenBusy = "screen-busy"
        case tooManyMessages = "too-many-messages"
        // What a request names.
        case noSuchParticipant = "no-such-participant"
        case noSuchGuest = "no-such-guest"
        case noSuchMessage = "no-such-message"
        case noSuchBreakoutRoom = "no-such-breakout-room"
        case noBreakoutRooms = "no-breakout-rooms"
        case breakoutsRunning = "breakouts-running"
        case badBreakoutPlan = "bad-breakout-plan"
        case breakoutsNotChoosable = "breakouts-not-choosable"
        case notAMeeting = "not-a-meeting"
        case nameRequired = "name-required"
        case emptyMessage = "empty-message"
        case messageTooLong = "message-too-long"
        // The control plane.
        case storeUnavailable = "store-unavailable"
    }

    public let code: Code
    /// English, for logs and readers; clients show their own translation of `code`.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    public static let malformedMessage = SignalError(.malformedMessage, "malformed message")
    public static let messageTooLarge = SignalError(.messageTooLarge, "message too large")
    public static let textFramesOnly = SignalError(.textFramesOnly, "text frames only")
    public static let unknownType = SignalError(.unknownType, "unknown message type")
    public static func missingFields(_ type: String) -> SignalError { SignalError(.missingFields, "\(type): missing fields") }
    public static let unsupportedVersion = SignalError(.unsupportedVersion, "unsupported protocol version")
    public static func notJoined(_ type: String) -> SignalError { SignalError(.notJoined, "\(type) needs a joined session") }
    public static let alreadyJoined = SignalError(.alreadyJoined, "already joined")
    public static let waitingForModerator = SignalError(.waitingForModerator, "waiting for a moderator")
    public static let sessionExpired = SignalError(.sessionExpired, "session expired")
    public static func notInRoom(_ room: String) -> SignalError { SignalError(.notInRoom, "not in room \(room)") }
    public static let wrongRoom = SignalError(.wrongRoom, "the token is for another room")
    public static let noSuchRoom = SignalError(.noSuchRoom, "no such room")
    public static let wrongPIN = SignalError(.wrongPIN, "wrong PIN")
    public static let roomFull = SignalError(.roomFull, "the room is full or locked")
    public static let badOffer = SignalError(.badOffer, "the offer cannot be answered")
    public static let echoTestsBusy = SignalError(.echoTestsBusy, "too many echo tests at once; try again shortly")
    public static let meetingEnded = SignalError(.meetingEnded, "the meeting has ended")
    public static let meetingFull = SignalError(.meetingFull, "the meeting is full")
    public static let removed = SignalError(.removed, "you were removed from this meeting")
    public static let guestsNotAdmitted = SignalError(.guestsNotAdmitted, "guests are not admitted to this meeting")
    public static func connectionFailed(_ why: String) -> SignalError { SignalError(.connectionFailed, why) }
    public static let connectionLost = SignalError(.connectionLost, "connection lost (no ICE consent for 30 s)")
    /// Refused by the role: "not allowed to …".
    public static func notAllowed(_ what: String) -> SignalError { SignalError(.notAllowed, "not allowed to \(what)") }
    public static let onlySelfUnmute = SignalError(.onlySelfUnmute, "only participants unmute themselves")
    public static let microphonesLocked = SignalError(.microphonesLocked, "microphones are locked")
    public static let publicChatLocked = SignalError(.publicChatLocked, "public chat is locked")
    public static let privateChatLocked = SignalError(.privateChatLocked, "private chat is locked")
    public static let camerasLocked = SignalError(.camerasLocked, "viewers' cameras are locked")
    public static let cameraLimit = SignalError(.cameraLimit, "no more cameras may be shared now")
    public static let screenBusy = SignalError(.screenBusy, "somebody else shares a screen in this meeting")
    public static func featureDisabled(_ feature: String) -> SignalError { SignalError(.featureDisabled, "\(feature): switched off in this meeting") }
    public static let tooManyMessages = SignalError(.tooManyMessages, "too many messages; wait a moment")
    public static let noSuchParticipant = SignalError(.noSuchParticipant, "no such participant")
    public static let noSuchGuest = SignalError(.noSuchGuest, "no such guest")
    public static let noSuchMessage = SignalError(.noSuchMessage, "no such message")
    public static let noSuchBreakoutRoom = SignalError(.noSuchBreakoutRoom, "no such breakout room")
    public static let noBreakoutRooms = SignalError(.noBreakoutRooms, "no breakout rooms are open")
    public static let breakoutsNotChoosable = SignalError(.breakoutsNotChoosable, "breakout rooms are not open to choose")
    public static let notAMeeting = SignalError(.notAMeeting, "this room is not a meeting")
    public static let nameRequired = SignalError(.nameRequired, "a name is needed")
    public static let emptyMessage = SignalError(.emptyMessage, "an empty message")

    public static let storeUnavailable = SignalError(.storeUnavailable, "the meeting store is unavailable; try again")

    public static let breakoutsRunning = SignalError(.breakoutsRunning, "breakout rooms are already open")

    /// A chat message the log does not take.
    public static func chat(_ refusal: ChatLog.Refusal) -> SignalError {
        switch refusal {
        case .empty: .emptyMessage
        case .tooLong: SignalError(.messageTooLong, refusal.description)
        }
    }
}
