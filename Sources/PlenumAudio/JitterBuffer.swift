/// An adaptive jitter buffer for one received RTP stream, sans-I/O: packets and ticks in, one decision
/// per 20 ms tick out. O(1) per packet and per tick, no allocation after `init`.
///
/// Why not speexdsp's jitter buffer: it scans a 200-entry array on every put and get and copies each
/// packet into a fresh malloc, which is fine for one stream but not for a bridge whose 10,000 listeners
/// all keep a buffer; and it has no notion of a stream that is stored but not played (a listener who
/// may start talking any moment).
///
/// Playout follows sequence numbers for order and RTP timestamps for time (RFC 3550 §5.1):
/// - a missing packet with later ones present is a loss: conceal (Opus FEC from the next packet);
/// - a timestamp gap with contiguous sequence numbers is DTX or a sender pause: comfort silence;
/// - nothing buffered at all is an underrun: conceal *without* advancing, so the late packet still
///   plays and the buffer has grown by one frame (adapting to jitter);
/// - when at least one spare frame stayed buffered through a whole observation window the buffer
///   drops one frame, preferring a quiet one (no latency creep under drift or after a jitter burst);
/// - a sequence number the stream spent on something else (an RFC 4733 telephone event sent instead
///   of audio) is a pause, not a loss: skipped, and what follows plays as after a sender's pause.
public struct JitterBuffer: ~Copyable {
    public struct Configuration: Sendable {
        /// Slots; a power of two. 64 × 20 ms holds over a second of audio; conference members use 32.
        public var capacity = 64
        /// Largest payload stored; larger ones are rejected.
        public var maxPayloadBytes = 640
        /// RTP units per 20 ms tick (960 for Opus, 160 for G.711).
        public var unitsPerTick = 960
        /// Ticks of spare buffering before one frame is dropped.
        public var shrinkWindowTicks = 50
        /// After the buffer had to grow, wait this long before shrinking again.
        public var shrinkHoldoffTicks = 250
        /// Underrun ticks held before the stream is declared paused.
        public var maxHoldTicks = 8
        /// A jump beyond this many RTP units or 1000 sequence numbers restarts the stream (new source).
        public var resyncUnits = 48_000 * 5
        public init(unitsPerTick: Int = 960, maxPayloadBytes: Int = 640) {
            self.unitsPerTick = unitsPerTick
            self.maxPayloadBytes = maxPayloadBytes
        }
    }

    public enum InsertOutcome: Equatable, Sendable {
        case stored, duplicate, late, rejected, restarted
    }

    /// What to play this tick.
    public enum Playout {
        /// A packet to decode; valid until the next call on the buffer.
        case packet(UnsafeRawBufferPointer)
        /// A lost packet: conceal it; `next` is the packet after it when already here (Opus FEC source).
        case lost(next: UnsafeRawBufferPointer?)
        /// Sender is silent (DTX or pause): comfort silence, no concealment needed.
        case silence
        /// Nothing arrived in time: conceal and keep waiting (the buffer grows by one frame).
        case underrun
        /// The stream has not started (or stopped): nothing to play.
        case idle
    }

    public struct Statistics: Sendable, Equatable {
        public var received = 0, duplicates = 0, late = 0, rejected = 0, restarts = 0
        public var played = 0, lost = 0, underruns = 0, dropped = 0, silentTicks = 0
        /// Sum over played ticks of the packets buffered ahead (for the mean playout delay).
        public var bufferedTicksSum = 0
        public init() {}

        /// Mean buffered audio while playing, in ticks (× 20 ms = the jitter buffer's delay).
        public var meanBufferedTicks: Double { played == 0 ? 0 : Double(bufferedTicksSum) / Double(played) }
    }

    private struct Slot {
        var sequence: Int64 = -1
        var timestamp: Int64 = 0
        var duration: Int32 = 0
        var length: Int32 = 0
        /// RFC 6464 level (0 loud ... 127 silent), 127 when unknown.
        var level: UInt8 = 127
        /// No audio: the sequence number went to a telephone event (see `insertPause`).
        var isPause = false
    }

    public let configuration: Configuration
    public private(set) var statistics = Statistics()
    private var slots: [Slot]
    private let payloads: UnsafeMutableRawBufferPointer
    private let mask: Int64

    private var started = false
    /// Extended sequence number of the next packet to play.
    private var nextSequence: Int64 = 0
    /// Extended RTP timestamp of the playout position.
    private var playoutTimestamp: Int64 = 0
    /// Highest extended sequence / timestamp received (for extending 16/32-bit values).
    private var highestSequence: Int64 = 0
    private var highestTimestamp: Int64 = 0
    private var heldTicks = 0
    private var windowTicks = 0
    private var windowMinimumSpare = Int.max
    private var holdoffTicks = 0
    private var growRequested = false

    public init(_ configuration: Configuration = Configuration()) {
        precondition(configuration.capacity > 0 && configuration.capacity & (configuration.capacity - 1) == 0)
        self.configuration = configuration
        slots = Array(repeating: Slot(), count: configuration.capacity)
        payloads = .allocate(byteCount: configuration.capacity * configuration.maxPayloadBytes, alignment: 16)
        mask = Int64(configuration.capacity - 1)
    }

    deinit { payloads.deallocate() }

    /// Packets of audio buffered ahead of the playout position (contiguous), in ticks.
    public var bufferedTicks: Int { contiguousPackets(limit: configuration.capacity) }

    public var isStarted: Bool { started }

    /// Stores a received packet. `duration` is its length in RTP units (from the codec).
    public mutating func insert(
        _ payload: UnsafeRawBufferPointer, sequence: UInt16, timestamp: UInt32, duration: Int, level: UInt8 = 127
    ) -> InsertOutcome {
        guard !payload.isEmpty, payload.count <= configuration.maxPayloadBytes, duration > 0,
            duration <= configuration.unitsPerTick * 6
        else {
            statistics.rejected += 1
            return .rejected
        }
        return store(payload, sequence: sequence, timestamp: timestamp, duration: duration, level: level, isPause: false)
    }

    /// Records that `sequence` carried no audio: the sender spent it on an RFC 4733 telephone event
    /// (which shares the audio's sequence numbers, RFC 4733 §2.1, and is sent instead of audio while a
    /// key is held). Without this the event's sequence numbers were losses to conceal and its silence
    /// an underrun that grew the buffer, for the rest of the call (issue 13).
    @discardableResult
    public mutating func insertPause(sequence: UInt16, timestamp: UInt32) -> InsertOutcome {
        guard started else { return .rejected }  // nothing to keep in step with yet
        return store(UnsafeRawBufferPointer(start: nil, count: 0), sequence: sequence, timestamp: timestamp, duration: 0,
                     level: 127, isPause: true)
    }

    private mutating func store(
        _ payload: UnsafeRawBufferPointer, sequence: UInt16, timestamp: UInt32, duration: Int, level: UInt8, isPause: Bool
    ) -> InsertOutcome {
        if !isPause { statistics.received += 1 }  // a pause is no audio received
        var outcome = InsertOutcome.stored
        var extendedSequence: Int64
        var extendedTimestamp: Int64
        if !started {
            extendedSequence = Int64(sequence)
            extendedTimestamp = Int64(timestamp)
            restart(sequence: extendedSequence, timestamp: extendedTimestamp)
        } else {
            extendedSequence = Self.extend(Int64(sequence), near: highestSequence, bits: 16)
            extendedTimestamp = Self.extend(Int64(timestamp), near: highestTimestamp, bits: 32)
            let sequenceJump = abs(extendedSequence - highestSequence)
            let timestampJump = abs(extendedTimestamp - highestTimestamp)
            if sequenceJump > 1000 || timestampJump > Int64(configuration.resyncUnits) {
                // A new source (SSRC change, restarted phone) or garbage: follow the new stream.
                extendedSequence = Int64(sequence)
                extendedTimestamp = Int64(timestamp)
                restart(sequence: extendedSequence, timestamp: extendedTimestamp)
                statistics.restarts += 1
                outcome = .restarted
            }
        }
        if extendedSequence < nextSequence {
            statistics.late += 1
            // Arrived after its turn: the buffer is shallower than the network's jitter. Grow.
            if nextSequence - extendedSequence <= 4 { growRequested = true }
            return .late
        }
        let index = Int(extendedSequence & mask)
        if slots[index].sequence == extendedSequence {
            statistics.duplicates += 1
            return .duplicate
        }
        if extendedSequence >= nextSequence + Int64(configuration.capacity) {
            // Not being played (a listener) or far behind: let the oldest packets go.
            nextSequence = extendedSequence - Int64(configuration.capacity) + 1
            playoutTimestamp = max(playoutTimestamp, oldestTimestamp(from: nextSequence) ?? extendedTimestamp)
        }
        slots[index] = Slot(
            sequence: extendedSequence, timestamp: extendedTimestamp, duration: Int32(duration),
            length: Int32(payload.count), level: level, isPause: isPause)
        if !payload.isEmpty {
            let offset = index * configuration.maxPayloadBytes
            UnsafeMutableRawBufferPointer(rebasing: payloads[offset..<(offset + payload.count)]).copyMemory(from: payload)
        }
        highestSequence = max(highestSequence, extendedSequence)
        highestTimestamp = max(highestTimestamp, extendedTimestamp)
        return outcome
    }

    /// Starts playing from `ticksBack` packets before the newest one: a listener who becomes a talker
    /// is heard from the onset of speech rather than from the moment detection fired.
    public mutating func startPlayout(ticksBack: Int) {
        guard started else { return }
        var sequence = highestSequence
        var remaining = ticksBack
        while remaining > 0, slots[Int((sequence - 1) & mask)].sequence == sequence - 1 {
            sequence -= 1
            remaining -= 1
        }
        nextSequence = sequence
        playoutTimestamp = slots[Int(sequence & mask)].sequence == sequence ? slots[Int(sequence & mask)].timestamp : highestTimestamp
        heldTicks = 0
        windowTicks = 0
        windowMinimumSpare = .max
        growRequested = false
    }

    /// Decides what plays in this tick and advances the playout position.
    public mutating func next() -> Playout {
        guard started else { return .idle }
        adaptLatency()
        if growRequested {
            growRequested = false
            holdoffTicks = configuration.shrinkHoldoffTicks
            statistics.underruns += 1
            return .underrun
        }
        // Sequence numbers spent on telephone events take no time of their own: skip them.
        while slots[Int(nextSequence & mask)].sequence == nextSequence, slots[Int(nextSequence & mask)].isPause {
            nextSequence += 1
            heldTicks = 0
        }
        let index = Int(nextSequence & mask)
        let slot = slots[index]
        if slot.sequence == nextSequence {
            if slot.timestamp > playoutTimestamp + Int64(configuration.unitsPerTick / 2) {
                // Contiguous sequence, later timestamp: the sender paused (DTX, RFC 7587 §3.1.3).
                if slot.timestamp - playoutTimestamp > Int64(configuration.resyncUnits) {
                    playoutTimestamp = slot.timestamp
                } else {
                    playoutTimestamp += Int64(configuration.unitsPerTick)
                    statistics.silentTicks += 1
                    return .silence
                }
            }
            heldTicks = 0
            statistics.bufferedTicksSum += contiguousPackets(limit: 8) - 1
            nextSequence += 1
            playoutTimestamp = slot.timestamp + Int64(slot.duration)
            statistics.played += 1
            return .packet(payload(at: index))
        }
        if let later = firstBufferedSequence(after: nextSequence) {
            // A hole with packets behind it: lost (or reordered beyond our depth).
            statistics.lost += 1
            heldTicks = 0
            nextSequence += 1
            playoutTimestamp += Int64(configuration.unitsPerTick)
            let nextIndex = Int(nextSequence & mask)
            return .lost(next: later == nextSequence && !slots[nextIndex].isPause ? payload(at: nextIndex) : nil)
        }
        // Nothing buffered.
        if heldTicks < configuration.maxHoldTicks, !lastPlayedWasSilence {
            heldTicks += 1
            statistics.underruns += 1
            holdoffTicks = configuration.shrinkHoldoffTicks
            return .underrun
        }
        // The sender went quiet (DTX without a closing gap yet, on hold, or gone).
        playoutTimestamp += Int64(configuration.unitsPerTick)
        statistics.silentTicks += 1
        return .silence
    }

    /// Forgets everything (the member left or changed codec).
    public mutating func reset() {
        started = false
        for i in slots.indices { slots[i].sequence = -1 }
    }

    // MARK: - Private

    private var lastPlayedWasSilence: Bool {
        let previous = slots[Int((nextSequence - 1) & mask)]
        return previous.sequence == nextSequence - 1 && previous.length <= 2
    }

    private mutating func restart(sequence: Int64, timestamp: Int64) {
        for i in slots.indices { slots[i].sequence = -1 }
        started = true
        nextSequence = sequence
        playoutTimestamp = timestamp
        highestSequence = sequence
        highestTimestamp = timestamp
        heldTicks = 0
        windowTicks = 0
        windowMinimumSpare = .max
        growRequested = false
    }

    /// Shrinks by one frame when a spare frame stayed buffered for a whole window.
    private mutating func adaptLatency() {
        if holdoffTicks > 0 {
            holdoffTicks -= 1
            return
        }
        let spare = contiguousPackets(limit: 4) - 1
        windowMinimumSpare = min(windowMinimumSpare, spare)
        windowTicks += 1
        guard windowTicks >= configuration.shrinkWindowTicks else { return }
        // Prefer dropping a quiet frame; after three windows, drop whatever is next.
        let index = Int(nextSequence & mask)
        let quiet = slots[index].level >= 60 || slots[index].length <= 2
        if windowMinimumSpare >= 1, quiet || windowTicks >= configuration.shrinkWindowTicks * 3 {
            statistics.dropped += 1
            playoutTimestamp = max(playoutTimestamp, slots[index].timestamp + Int64(slots[index].duration))
            nextSequence += 1
            windowTicks = 0
            windowMinimumSpare = .max
        } else if windowMinimumSpare < 1 {
            windowTicks = 0
            windowMinimumSpare = .max
        }
    }

    /// Audio packets buffered contiguously from the playout position (pauses take no time: not counted).
    private func contiguousPackets(limit: Int) -> Int {
        var count = 0
        var sequence = nextSequence
        while count < limit, slots[Int(sequence & mask)].sequence == sequence {
            if !slots[Int(sequence & mask)].isPause { count += 1 }
            sequence += 1
        }
        return count
    }

    private func firstBufferedSequence(after sequence: Int64) -> Int64? {
        guard highestSequence > sequence else { return nil }
        var candidate = sequence + 1
        while candidate <= highestSequence {
            if slots[Int(candidate & mask)].sequence == candidate { return candidate }
            candidate += 1
        }
        return nil
    }

    private func oldestTimestamp(from sequence: Int64) -> Int64? {
        var candidate = sequence
        while candidate <= highestSequence {
            let slot = slots[Int(candidate & mask)]
            if slot.sequence == candidate { return slot.timestamp }
            candidate += 1
        }
        return nil
    }

    private func payload(at index: Int) -> UnsafeRawBufferPointer {
        let offset = index * configuration.maxPayloadBytes
        return UnsafeRawBufferPointer(rebasing: payloads[offset..<(offset + Int(slots[index].length))])
    }

    /// Extends a wrapped counter to the 64-bit value closest to `reference` (RFC 3550 Appendix A.1).
    static func extend(_ value: Int64, near reference: Int64, bits: Int) -> Int64 {
        let cycle = Int64(1) << bits
        let half = cycle / 2
        var candidate = (reference & ~(cycle - 1)) | value
        if candidate - reference > half { candidate -= cycle } else if reference - candidate > half { candidate += cycle }
        return candidate
    }
}
