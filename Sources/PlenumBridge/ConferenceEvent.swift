/// What happens in a conference, for the control plane (participant lists, webhooks, legs).
public enum ConferenceEvent: Sendable, Equatable {
    case memberJoined(MemberID)
    case memberLeft(MemberID)
    case talkingStarted(MemberID)
    case talkingStopped(MemberID)
    case muted(MemberID, Bool)
    case deaf(MemberID, Bool)
    case handRaised(MemberID, Bool)
    /// A moderator (or the member) changed the display name.
    case renamed(MemberID, String)
    case gainChanged(MemberID, input: Int, output: Int)
    /// A prompt finished; `member` is nil for one played to the whole room.
    case promptFinished(member: MemberID?, name: String)
    /// The caller asked to leave (DTMF); the leg should hang up.
    case hangupRequested(MemberID)
    /// The member asked the moderators for help (DTMF 9, or the web client's button).
    case helpRequested(MemberID)
}
