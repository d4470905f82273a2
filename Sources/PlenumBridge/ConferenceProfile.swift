import Foundation
import PlenumAudio

/// How a conference behaves: read from the server's configuration file (`config/plenum.json`,
/// `conferenceProfiles`), in the spirit of FreeSWITCH's conference.conf.xml profiles.
public struct ConferenceProfile: Codable, Sendable, Equatable {
    /// At most this many of the loudest talkers are decoded and mixed per tick.
    public var maxTalkers = 4
    /// RFC 6464 level (-dBov, smaller is louder) at or below which a frame counts as speech.
    public var talkThresholdLevel: UInt8 = 50
    /// Consecutive loud frames before a member counts as talking. 1 adds no latency: playout of a new
    /// talker starts at the frame that made it a talker, and the hangover below gives the hysteresis.
    /// Larger values ignore short noises but start playout that many frames back (more latency until
    /// the jitter buffer sheds the spare frames in the next pause).
    public var talkOnsetFrames = 1
    /// Consecutive quiet frames before a talker counts as silent again.
    public var talkHangoverFrames = 25
    /// Listeners with equal codec settings share one encode per tick (the bridge's main economy).
    /// Off only for benchmarking against per-member encoding, the FreeSWITCH/Janus way.
    public var shareListenerEncodes = true
    /// Opus encoder complexity (0-10). 9 is libopus's and the browsers' default; measured here, 5 costs
    /// about 0.4 PESQ-WB at 32 kbit/s while only the few private (talker) encoders pay for the difference.
    public var opusComplexity = 9
    /// Play enter/exit tones to the room.
    public var enterExitTones = true
    /// Tell a member who joins an empty room that they are alone.
    public var announceAlone = true
    /// Prompt language (a folder under `sounds/`).
    public var language = "en"
    /// Comfort noise while nobody talks, as an RFC 6464 level (-dBov; 70 is a faint hiss), so a silent
    /// room does not sound like a dropped call. Nil: digital silence. Costs nothing per member: it is
    /// part of the shared mix.
    public var comfortNoiseLevel: UInt8? = nil
    /// DTMF caller controls.
    public var callerControls = CallerControls.standard
    /// An echo test room when above 0: every member hears the room, itself included, this many 20 ms
    /// frames late (BigBlueButton's and FreeSWITCH's echo test; 50 is one second). The talk detection
    /// and the encoders are the real room's, so what comes back is what a meeting would hear.
    public var echoDelayFrames = 0

    public init() {}

    /// The profile of a private echo test (a browser's from the join screen, a phone's by the dialplan).
    public static func echoTest(language: String, delayFrames: Int = 50) -> ConferenceProfile {
        var profile = ConferenceProfile()
        profile.echoDelayFrames = delayFrames
        profile.enterExitTones = false
        profile.announceAlone = false
        profile.language = language
        return profile
    }

    public init(from decoder: Decoder) throws {
        // Every field is optional in the file; absent fields keep their defaults.
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ConferenceProfile()
        maxTalkers = try c.decodeIfPresent(Int.self, forKey: .maxTalkers) ?? d.maxTalkers
        talkThresholdLevel = try c.decodeIfPresent(UInt8.self, forKey: .talkThresholdLevel) ?? d.talkThresholdLevel
        talkOnsetFrames = try c.decodeIfPresent(Int.self, forKey: .talkOnsetFrames) ?? d.talkOnsetFrames
        talkHangoverFrames = try c.decodeIfPresent(Int.self, forKey: .talkHangoverFrames) ?? d.talkHangoverFrames
        shareListenerEncodes = try c.decodeIfPresent(Bool.self, forKey: .shareListenerEncodes) ?? d.shareListenerEncodes
        opusComplexity = try c.decodeIfPresent(Int.self, forKey: .opusComplexity) ?? d.opusComplexity
        enterExitTones = try c.decodeIfPresent(Bool.self, forKey: .enterExitTones) ?? d.enterExitTones
        announceAlone = try c.decodeIfPresent(Bool.self, forKey: .announceAlone) ?? d.announceAlone
        language = try c.decodeIfPresent(String.self, forKey: .language) ?? d.language
        comfortNoiseLevel = try c.decodeIfPresent(UInt8.self, forKey: .comfortNoiseLevel) ?? d.comfortNoiseLevel
        callerControls = try c.decodeIfPresent(CallerControls.self, forKey: .callerControls) ?? d.callerControls
        echoDelayFrames = try c.decodeIfPresent(Int.self, forKey: .echoDelayFrames) ?? d.echoDelayFrames
        guard (0...250).contains(echoDelayFrames) else {
            throw DecodingError.dataCorruptedError(forKey: .echoDelayFrames, in: c, debugDescription: "must be 0...250")
        }
        guard (1...64).contains(maxTalkers) else {
            throw DecodingError.dataCorruptedError(forKey: .maxTalkers, in: c, debugDescription: "must be 1...64")
        }
        guard (1...50).contains(talkOnsetFrames), (1...500).contains(talkHangoverFrames) else {
            throw DecodingError.dataCorruptedError(forKey: .talkOnsetFrames, in: c, debugDescription: "out of range")
        }
    }
}

/// What a DTMF digit does for the caller who pressed it (a per-profile digit map).
public enum CallerAction: String, Codable, Sendable, CaseIterable {
    case toggleMute, toggleDeaf, toggleHand, listenVolumeUp, listenVolumeDown, talkVolumeUp, talkVolumeDown
    case resetVolumes, hangup
    /// Asks the moderators for help (in a breakout room they are elsewhere).
    case askForHelp
}

public struct CallerControls: Codable, Sendable, Equatable {
    /// Digit ("0"-"9", "*", "#") to action.
    public var digits: [String: CallerAction]

    public init(digits: [String: CallerAction]) { self.digits = digits }

    /// FreeSWITCH-like defaults: 0 mute, * deaf, 8 hand, 1/3 listen volume, 4/6 talk volume, 5 reset, # leave.
    public static let standard = CallerControls(digits: [
        "0": .toggleMute, "*": .toggleDeaf, "8": .toggleHand, "1": .listenVolumeDown, "3": .listenVolumeUp,
        "4": .talkVolumeDown, "6": .talkVolumeUp, "5": .resetVolumes, "#": .hangup, "9": .askForHelp,
    ])

    public func action(for digit: Character) -> CallerAction? { digits[String(digit)] }
}
