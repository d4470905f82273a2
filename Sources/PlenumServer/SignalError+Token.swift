import PlenumMeetings

extension SignalError {
    /// A token that does not verify.
    public static func token(_ refusal: AccessTokens.Refusal) -> SignalError {
        switch refusal {
        case .expired: SignalError(.tokenExpired, refusal.description)
        case .malformed, .badSignature: SignalError(.tokenInvalid, refusal.description)
        }
    }
}
