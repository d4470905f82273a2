import PlenumAudio

extension Conference {
    /// Room for one packet of any configuration (L16 at 48 kHz with a 40 ms packet time is the largest).
    static let maxPacketBytes = 8192

    /// One 20 ms mixer tick:
    /// 1. talker detection for every member (RFC 6464 level or G.711 energy without decoding; others decode);
    /// 2. the loudest `maxTalkers` talkers are decoded and summed (Int32) with the room's prompts;
    /// 3. each mixed talker (and each member with a private prompt or a volume change) gets its own
    ///    mix-minus, encoded by a private encoder that continues the shared stream's state;
    /// 4. everyone else hears the full mix, encoded once per output configuration and delivered as is.
    /// Allocation-free in the steady state (arrays keep their capacity).
    public func tick() {
        tickCount &+= 1
        // An empty room (a meeting created, nobody in it yet) has nothing to mix or send: 10,000 of
        // them once took the whole media loop (issue 11, `scripts/bench-floods.sh meetings`).
        if members.isEmpty, roomPrompts.isEmpty { return }
        detectTalkers()
        mixTalkers()
        deliver()
    }

    private func detectTalkers() {
        candidates.removeAll(keepingCapacity: true)
        for member in members where !member.flags.onHold {
            var level = member.pendingLevel
            member.pendingLevel = AudioLevel.silence
            if member.decodesEveryTick {
                member.pullFrame()
                if let input = member.input { level = AudioLevel.of(UnsafeBufferPointer(input.frame)) }
            }
            if member.detector.update(level: level) {
                emit(member.detector.isTalking ? .talkingStarted(member.id) : .talkingStopped(member.id))
            }
            if member.detector.isTalking, !member.flags.muted { candidates.append(member) }
        }
    }

    private func mixTalkers() {
        // Loudest first; candidates are few (people talking at once), so a plain sort is cheap.
        if candidates.count > profile.maxTalkers {
            candidates.sort { $0.detector.loudness > $1.detector.loudness }
        }
        talkers.removeAll(keepingCapacity: true)
        for member in members { member.mixedThisTick = false }
        for member in candidates.prefix(profile.maxTalkers) {
            member.mixedThisTick = true
            talkers.append(member)
        }
        fullMix.update(repeating: 0)
        for talker in talkers {
            if !talker.decodesEveryTick {
                if !talker.mixedLastTick {
                    // Heard from the onset that made them a talker, not from the frame detection fired.
                    talker.jitter.startPlayout(ticksBack: profile.talkOnsetFrames - 1)
                }
                talker.pullFrame()
            }
            guard let frame = talker.input?.frame else { continue }
            for i in 0..<fullMix.count { fullMix[i] &+= Int32(frame[i]) }
        }
        if !echoLine.isEmpty { delayForEcho() }
        if talkers.isEmpty, roomPrompts.isEmpty, !comfortNoise.isEmpty {
            for i in 0..<fullMix.count {
                fullMix[i] = Int32(comfortNoise[comfortNoisePosition])
                comfortNoisePosition = comfortNoisePosition + 1 == comfortNoise.count ? 0 : comfortNoisePosition + 1
            }
        }
        var index = 0
        while index < roomPrompts.count {
            roomPrompts[index].mix(into: fullMix)
            if roomPrompts[index].isFinished {
                emit(.promptFinished(member: nil, name: roomPrompts[index].sound.name))
                roomPrompts.remove(at: index)
            } else {
                index += 1
            }
        }
        for i in 0..<fullMix.count { fullMix16[i] = AudioFormat.saturate(fullMix[i]) }
    }

    /// An echo room: the talkers' mix goes into the delay line and the mix of `echoDelayFrames` ago
    /// comes out (prompts and comfort noise, added after, are not delayed).
    private func delayForEcho() {
        let slot = echoPosition * fullMix.count
        for i in 0..<fullMix.count {
            let delayed = echoLine[slot + i]
            echoLine[slot + i] = fullMix[i]
            fullMix[i] = delayed
        }
        echoPosition = echoPosition + 1 == profile.echoDelayFrames ? 0 : echoPosition + 1
    }

    private func deliver() {
        // Private mixes first: a member moving from its group's encoder copies that encoder's state
        // before the group encodes this tick.
        for member in members where !member.flags.deaf && !member.flags.onHold {
            if needsPrivateMix(member) {
                deliverPrivate(member)
            } else if let encoder = member.privateEncoder {
                if let group = groups[member.outputCodec] { group.idleEncoders.append(encoder) }
                member.privateEncoder = nil
            }
        }
        for member in members where !member.flags.deaf && !member.flags.onHold && member.privateEncoder == nil {
            deliverShared(member)
        }
        for member in members { member.mixedLastTick = member.mixedThisTick }
    }

    private func needsPrivateMix(_ member: Member) -> Bool {
        // In an echo room talkers hear themselves (the shared mix), so they need no mix-minus.
        (member.mixedThisTick && echoLine.isEmpty) || !member.prompts.isEmpty || member.outputGainSteps != 0 || !profile.shareListenerEncodes
    }

    private func deliverPrivate(_ member: Member) {
        for i in 0..<privateMix.count { privateMix[i] = fullMix[i] }
        if member.mixedThisTick, echoLine.isEmpty, let own = member.input?.frame {
            for i in 0..<privateMix.count { privateMix[i] &-= Int32(own[i]) }
        }
        if !member.prompts.isEmpty {
            member.prompts[0].mix(into: privateMix)
            if member.prompts[0].isFinished {
                emit(.promptFinished(member: member.id, name: member.prompts[0].sound.name))
                member.prompts.removeFirst()
            }
        }
        if member.outputGainSteps != 0 {
            let gain = Gain.factor(steps: member.outputGainSteps)
            for i in 0..<privateMix.count { privateMix16[i] = Int16(clamping: Int32(Float(privateMix[i]) * gain)) }
        } else {
            for i in 0..<privateMix.count { privateMix16[i] = AudioFormat.saturate(privateMix[i]) }
        }
        if member.privateEncoder == nil {
            let group = groups[member.outputCodec]
            let encoder = group?.idleEncoders.popLast()
                ?? FrameEncoder(member.outputCodec, complexity: Int32(profile.opusComplexity))
            if let encoder, let group {
                encoder.copyState(from: group.encoder, lastInput: UnsafeBufferPointer(group.lastInput))
            }
            member.privateEncoder = encoder
        }
        guard let encoder = member.privateEncoder else { return }
        let length = encoder.encode(UnsafeBufferPointer(privateMix16), into: packetScratch)
        guard length > 0 else { return }
        member.counters.deliveredFrames += 1
        member.output.deliver(EncodedFrame(
            payload: UnsafeRawBufferPointer(rebasing: packetScratch[..<length]), codec: member.outputCodec,
            tick: tickCount, isShared: false))
    }

    private func deliverShared(_ member: Member) {
        guard let group = groups[member.outputCodec] else { return }
        if group.encodedTick != tickCount {
            group.encodedTick = tickCount
            group.payloadLength = group.encoder.encode(UnsafeBufferPointer(fullMix16), into: group.payload)
            _ = group.lastInput.update(fromContentsOf: fullMix16)
        }
        guard group.payloadLength > 0 else { return }
        member.counters.deliveredFrames += 1
        member.output.deliver(EncodedFrame(
            payload: UnsafeRawBufferPointer(rebasing: group.payload[..<group.payloadLength]), codec: member.outputCodec,
            tick: tickCount, isShared: true))
    }
}
