import Synchronization
import Foundation
import Logging
import PlenumAudio
@_exported import PlenumCore

/// An audio conference: members, the 20 ms mixer tick, prompts and caller controls.
///
/// Confined to one media loop (or, in tests, one thread): no locks inside. The tick is in
/// `Conference+Tick.swift`; this file holds membership and control.
public final class Conference {
    public let name: String
    public let profile: ConferenceProfile
    let sounds: SoundLibrary?
    let logger: Logger
    /// Whether a member may unmute itself (the control plane's roles and lock settings); nil allows all.
    public var mayUnmute: ((Member) -> Bool)?
    /// Loop-local observers (call logic on the same media loop), called synchronously for each event.
    public var observers: [(ConferenceEvent) -> Void] = []

    public internal(set) var members: [Member] = []
    var membersByID: [MemberID: Int] = [:]
    /// Member ids are unique in the whole process, not per room: an id from another room (or meeting)
    /// never names somebody here, so messages about it are refused instead of hitting a namesake.
    private static let memberIDs = Atomic<Int>(1)
    /// One shared encoder per distinct output configuration (see `EncoderGroup`).
    var groups: [CodecConfiguration: EncoderGroup] = [:]
    var roomPrompts: [SoundPlayer] = []
    public internal(set) var tickCount: UInt64 = 0

    // Mixer scratch, allocated once per conference.
    let fullMix: UnsafeMutableBufferPointer<Int32>
    let fullMix16: UnsafeMutableBufferPointer<Int16>
    let privateMix: UnsafeMutableBufferPointer<Int32>
    let privateMix16: UnsafeMutableBufferPointer<Int16>
    let packetScratch: UnsafeMutableRawBufferPointer
    var talkers: [Member] = []
    var candidates: [Member] = []
    /// One second of comfort noise at the profile's level, looped; empty when the profile has none.
    let comfortNoise: [Int16]
    var comfortNoisePosition = 0
    /// An echo room's delay line (`echoDelayFrames` mixes, oldest at `echoPosition`); empty otherwise.
    let echoLine: UnsafeMutableBufferPointer<Int32>
    var echoPosition = 0

    public init(name: String, profile: ConferenceProfile = ConferenceProfile(), sounds: SoundLibrary? = nil,
                logger: Logger = Logger(label: "plenum.conference")) {
        self.name = name
        self.profile = profile
        self.sounds = sounds
        var logger = logger
        logger[metadataKey: "conference"] = "\(name)"
        self.logger = logger
        let n = AudioFormat.frameSamples
        fullMix = .allocate(capacity: n)
        fullMix.initialize(repeating: 0)
        fullMix16 = .allocate(capacity: n)
        fullMix16.initialize(repeating: 0)
        privateMix = .allocate(capacity: n)
        privateMix.initialize(repeating: 0)
        privateMix16 = .allocate(capacity: n)
        privateMix16.initialize(repeating: 0)
        packetScratch = .allocate(byteCount: Conference.maxPacketBytes, alignment: 16)
        comfortNoise = profile.comfortNoiseLevel.map { ComfortNoise.make(level: $0) } ?? []
        echoLine = .allocate(capacity: max(0, profile.echoDelayFrames) * n)
        echoLine.initialize(repeating: 0)
        talkers.reserveCapacity(profile.maxTalkers)
        candidates.reserveCapacity(64)
    }

    deinit {
        fullMix.deallocate()
        fullMix16.deallocate()
        privateMix.deallocate()
        privateMix16.deallocate()
        packetScratch.deallocate()
        echoLine.deallocate()
    }

    /// Hands an event to the loop-local observers. (A stream of 4,096 buffered events that only tests
    /// read went, issue 13: it cost a yield per event inside the tick.)
    func emit(_ event: ConferenceEvent) {
        for observer in observers { observer(event) }
    }

    public enum JoinError: Error, Equatable { case unsupportedCodec(CodecKind) }

    /// Adds a member whose leg sends `input` and wants `output`; returns it for the leg to feed.
    @discardableResult
    public func join(name: String, input: CodecConfiguration, output: CodecConfiguration? = nil,
                     flags: MemberFlags = MemberFlags(), kind: Member.Kind = .other, sink: MemberOutput) throws -> Member {
        let output = output ?? input
        guard input.isValid else { throw JoinError.unsupportedCodec(input.kind) }
        try ensureGroup(for: output)
        let id = Self.memberIDs.wrappingAdd(1, ordering: .relaxed).oldValue
        let member = Member(id: id, name: DisplayName.clean(name) ?? "Guest", input: input, output: output, flags: flags,
                            profile: profile, sink: sink)
        member.kind = kind
        adopt(member)
        return member
    }

    private func ensureGroup(for output: CodecConfiguration) throws {
        guard output.isValid else { throw JoinError.unsupportedCodec(output.kind) }
        if groups[output] == nil {
            guard let group = EncoderGroup(output, complexity: Int32(profile.opusComplexity)) else {
                throw JoinError.unsupportedCodec(output.kind)
            }
            groups[output] = group
        }
    }

    /// Takes in a member (new, or moved from another room); its group must exist.
    private func adopt(_ member: Member) {
        groups[member.outputCodec]?.memberCount += 1
        membersByID[member.id] = members.count
        members.append(member)
        emit(.memberJoined(member.id))
        if members.count == 1, profile.announceAlone {
            play("conf-alone", to: member.id)
        } else if profile.enterExitTones, let tone = sounds?.tone("enter") {
            roomPrompts.append(SoundPlayer(sound: tone))
        }
    }

    public func leave(_ id: MemberID) { _ = detach(id) }

    private func detach(_ id: MemberID) -> Member? {
        guard let index = membersByID[id] else { return nil }
        let member = members[index]
        members.remove(at: index)
        membersByID = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($1.id, $0) })
        if let group = groups[member.outputCodec] {
            if let encoder = member.privateEncoder { group.idleEncoders.append(encoder) }
            group.memberCount -= 1
            if group.memberCount == 0 { groups[member.outputCodec] = nil }
        }
        member.privateEncoder = nil
        emit(.memberLeft(id))
        if profile.enterExitTones, !members.isEmpty, let tone = sounds?.tone("exit") {
            roomPrompts.append(SoundPlayer(sound: tone))
        }
        return member
    }

    /// Moves a member to another conference on the same media loop (a breakout room and back): the
    /// same member, id, jitter buffer and leg, so the caller's stream stays continuous (its leg keeps
    /// its RTP sequence, timestamps, SSRC and SRTP); only the room it hears and is heard in changes.
    public func transfer(_ id: MemberID, to destination: Conference) throws {
        guard destination !== self, let member = member(id) else { return }
        try destination.ensureGroup(for: member.outputCodec)
        guard let moved = detach(id) else { return }
        destination.adopt(moved)
    }

    public func member(_ id: MemberID) -> Member? { membersByID[id].map { members[$0] } }

    // MARK: Control

    public func setMuted(_ id: MemberID, _ muted: Bool, announce: Bool = false) {
        guard let member = member(id), member.flags.muted != muted else { return }
        member.flags.muted = muted
        emit(.muted(id, muted))
        if announce { play(muted ? "conf-muted" : "conf-unmuted", to: id) }
    }

    public func setDeaf(_ id: MemberID, _ deaf: Bool, announce: Bool = false) {
        guard let member = member(id), member.flags.deaf != deaf else { return }
        member.flags.deaf = deaf
        emit(.deaf(id, deaf))
        if announce { play(deaf ? "conf-deaf" : "conf-undeaf", to: id) }
    }

    public func setOnHold(_ id: MemberID, _ onHold: Bool) {
        guard let member = member(id) else { return }
        member.flags.onHold = onHold
        if onHold { member.jitter.reset() }
    }

    /// Renames a member (a moderator naming a phone caller, say); the control plane decides who may.
    public func rename(_ id: MemberID, to name: String) {
        guard let trimmed = DisplayName.clean(name), let member = member(id), member.name != trimmed else { return }
        member.name = trimmed
        emit(.renamed(id, trimmed))
    }

    public func setHandRaised(_ id: MemberID, _ raised: Bool) {
        guard let member = member(id), member.flags.handRaised != raised else { return }
        member.flags.handRaised = raised
        emit(.handRaised(id, raised))
    }

    public func setGains(_ id: MemberID, inputSteps: Int? = nil, outputSteps: Int? = nil) {
        guard let member = member(id) else { return }
        if let inputSteps { member.inputGainSteps = max(-4, min(4, inputSteps)) }
        if let outputSteps { member.outputGainSteps = max(-4, min(4, outputSteps)) }
        emit(.gainChanged(id, input: member.inputGainSteps, output: member.outputGainSteps))
    }

    /// Plays a prompt (FreeSWITCH name, in the profile's language) or tone to one member, or to the
    /// whole room when `member` is nil. Returns false when the sound does not exist.
    @discardableResult
    public func play(_ name: String, to id: MemberID? = nil) -> Bool {
        guard let sound = sounds?.prompt(name, language: profile.language) ?? sounds?.tone(name) else {
            logger.debug("no such sound", metadata: ["sound": "\(name)"])
            return false
        }
        play(sound, to: id)
        return true
    }

    /// Stops the prompts queued for a member (a caller typing digits interrupts the prompt: barge-in).
    public func stopPrompts(for id: MemberID) {
        member(id)?.prompts.removeAll()
    }

    /// Whether a member still has prompts playing or queued.
    public func isPlayingPrompt(to id: MemberID) -> Bool {
        member(id).map { !$0.prompts.isEmpty } ?? false
    }

    public func play(_ sound: Sound, to id: MemberID? = nil) {
        if let id {
            member(id)?.prompts.append(SoundPlayer(sound: sound))
        } else {
            roomPrompts.append(SoundPlayer(sound: sound))
        }
    }

    /// Asks the member's leg to hang up (a moderator removed it, or the meeting ended).
    public func requestHangup(_ id: MemberID) {
        guard member(id) != nil else { return }
        emit(.hangupRequested(id))
    }

    /// The member asks the moderators for help; `announce` tells it so (a phone hears it was heard).
    public func requestHelp(_ id: MemberID, announce: Bool = false) {
        guard member(id) != nil else { return }
        emit(.helpRequested(id))
        if announce { play("conf-help-requested", to: id) }
    }

    /// A DTMF digit from a member's leg (RFC 4733 or SIP INFO), mapped by the profile's caller controls.
    public func dtmf(_ digit: Character, from id: MemberID) {
        guard let member = member(id), let action = profile.callerControls.action(for: digit) else { return }
        switch action {
        case .toggleMute:
            if member.flags.muted, let mayUnmute, !mayUnmute(member) {
                play("conf-mic-locked", to: id)  // the moderator's lock: phones obey it like browsers
            } else {
                setMuted(id, !member.flags.muted, announce: true)
            }
        case .toggleDeaf: setDeaf(id, !member.flags.deaf, announce: true)
        case .toggleHand:
            setHandRaised(id, !member.flags.handRaised)
            play(member.flags.handRaised ? "conf-hand-raised" : "conf-hand-lowered", to: id)
        case .listenVolumeUp, .listenVolumeDown:
            setGains(id, outputSteps: member.outputGainSteps + (action == .listenVolumeUp ? 1 : -1))
            play(action == .listenVolumeUp ? "conf-volume-up" : "conf-volume-down", to: id)
        case .talkVolumeUp, .talkVolumeDown:
            setGains(id, inputSteps: member.inputGainSteps + (action == .talkVolumeUp ? 1 : -1))
            play(action == .talkVolumeUp ? "conf-volume-up" : "conf-volume-down", to: id)
        case .resetVolumes: setGains(id, inputSteps: 0, outputSteps: 0)
        case .hangup: emit(.hangupRequested(id))
        case .askForHelp: requestHelp(id, announce: true)
        }
    }
}

enum ComfortNoise {
    /// Gently low-passed white noise (a deterministic generator) whose RMS matches the RFC 6464 level.
    static func make(level: UInt8) -> [Int16] {
        var state: UInt32 = 0x2545_F491
        var smoothed = 0.0
        var raw = [Double](repeating: 0, count: AudioFormat.sampleRate)
        for i in raw.indices {
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            smoothed = 0.7 * smoothed + 0.3 * (Double(state) / Double(UInt32.max) * 2 - 1)
            raw[i] = smoothed
        }
        let rms = (raw.reduce(0) { $0 + $1 * $1 } / Double(raw.count)).squareRoot()
        let target = 32767 * pow(10, -Double(min(level, 127)) / 20)
        return raw.map { Int16(clamping: Int(($0 / rms * target).rounded())) }
    }
}

/// The listeners' shared encoder for one output configuration, and this tick's encoded frame.
final class EncoderGroup {
    let encoder: FrameEncoder
    var memberCount = 0
    /// The frame encoded last (a member moving to a private encoder primes its resampler with it).
    let lastInput: UnsafeMutableBufferPointer<Int16>
    let payload: UnsafeMutableRawBufferPointer
    var payloadLength = 0
    var encodedTick: UInt64 = .max
    /// Idle private encoders of this configuration, reused when a listener starts talking. Here, in
    /// a class reached by the dictionary's getter, not in a `[CodecConfiguration: [FrameEncoder]]`
    /// mutated through its subscript: that subscript's `_modify` coroutine heap-allocated its frame on
    /// every talker change (found by `check-allocations.sh` once a talker toggled, issue 13).
    var idleEncoders: [FrameEncoder] = []

    init?(_ configuration: CodecConfiguration, complexity: Int32) {
        guard let encoder = FrameEncoder(configuration, complexity: complexity) else { return nil }
        self.encoder = encoder
        lastInput = .allocate(capacity: AudioFormat.frameSamples)
        lastInput.initialize(repeating: 0)
        payload = .allocate(byteCount: Conference.maxPacketBytes, alignment: 16)
        idleEncoders.reserveCapacity(16)
    }

    deinit {
        lastInput.deallocate()
        payload.deallocate()
    }
}
