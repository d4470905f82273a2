/// One outgoing video stream of a forwarding unit (issue 15): a subscriber's receive slot, fed by one
/// publisher's stream at a time, seen by the subscriber as one continuous RTP stream (RFC 3550 §8.2:
/// one SSRC, sequence numbers and timestamps without jumps) however often its source changes — a
/// slot is reused when someone stops and someone else starts a camera, or (with simulcast) when the
/// layer changes.
///
/// Per packet: sequence and timestamp shift by offsets fixed at the source's first packet, so gaps
/// and reordering inside a source pass through unchanged (the subscriber's NACKs and jitter buffer
/// see the truth). A new source starts only at a key frame, since the decoder cannot use anything
/// before one; until then its packets are dropped (the caller asks the publisher for a key frame).
/// Sans-I/O and allocation-free; RFC 7667 §3.7 calls this a "switching RTP middlebox".
public struct RTPStreamRewriter: Sendable, Equatable {
    /// The SSRC the subscriber knows the stream by (announced in its answer).
    public let ssrc: UInt32
    /// The incoming SSRC now forwarded, nil before the first source.
    public private(set) var source: UInt32?
    /// A source was chosen whose key frame has not come yet.
    public private(set) var waitsForKeyFrame = false
    private var sequenceOffset: UInt16 = 0
    /// The outgoing sequence number the current source started at (its key frame).
    private var sourceFirst: UInt16 = 0
    private var timestampOffset: UInt32 = 0
    /// The highest sequence number sent and its timestamp (the next source continues after them).
    private var lastSequence: UInt16?
    private var lastTimestamp: UInt32 = 0
    /// The next source starts at a random point (RFC 3550 §5.1), like a stream of our own would.
    private var firstSequence: UInt16
    private var firstTimestamp: UInt32

    /// 90 kHz ticks between the last frame of one source and the first of the next: one frame at 30 fps.
    public static let switchGap: UInt32 = 3000

    public init(ssrc: UInt32, firstSequence: UInt16 = .random(in: 0...UInt16.max), firstTimestamp: UInt32 = .random(in: 0...UInt32.max)) {
        self.ssrc = ssrc
        self.firstSequence = firstSequence
        self.firstTimestamp = firstTimestamp
    }

    /// Forwards `source` from its next key frame on (a new camera in this slot, or the same one again).
    public mutating func select(_ source: UInt32) {
        guard source != self.source || waitsForKeyFrame else { return }
        self.source = source
        waitsForKeyFrame = true
    }

    /// Stops forwarding (the camera stopped): the next `select` continues the numbering.
    public mutating func clear() {
        source = nil
        waitsForKeyFrame = false
    }

    /// The incoming sequence number of the current source's packet sent as `outgoing`, for a
    /// subscriber's NACK: nil when that number was not sent from this source (before its key frame,
    /// from an earlier source, or not yet).
    public func incomingSequence(for outgoing: UInt16) -> UInt16? {
        guard source != nil, !waitsForKeyFrame, let last = lastSequence, outgoing &- sourceFirst <= last &- sourceFirst else { return nil }
        return outgoing &- sequenceOffset
    }

    /// Where a packet of the current source goes, without changing anything (a retransmission of
    /// one already sent): nil for other sources and before the key frame.
    public func resent(ssrc incoming: UInt32, sequence: UInt16, timestamp: UInt32) -> (sequence: UInt16, timestamp: UInt32)? {
        guard incoming == source, !waitsForKeyFrame, incomingSequence(for: sequence &+ sequenceOffset) != nil else { return nil }
        return (sequence &+ sequenceOffset, timestamp &+ timestampOffset)
    }

    /// The packet's new sequence number and timestamp, or nil when it is not forwarded (another
    /// source, or the chosen source before its key frame).
    public mutating func rewrite(ssrc incoming: UInt32, sequence: UInt16, timestamp: UInt32, startsKeyFrame: Bool)
        -> (sequence: UInt16, timestamp: UInt32)?
    {
        guard incoming == source else { return nil }
        if waitsForKeyFrame {
            guard startsKeyFrame else { return nil }
            waitsForKeyFrame = false
            let nextSequence = lastSequence.map { $0 &+ 1 } ?? firstSequence
            let nextTimestamp = lastSequence == nil ? firstTimestamp : lastTimestamp &+ Self.switchGap
            sequenceOffset = nextSequence &- sequence
            timestampOffset = nextTimestamp &- timestamp
            sourceFirst = nextSequence
        }
        let out = (sequence: sequence &+ sequenceOffset, timestamp: timestamp &+ timestampOffset)
        // "Newer" in RFC 3550's modular sense: a late packet does not move the point a switch continues from.
        if let last = lastSequence {
            let ahead = out.sequence &- last
            if ahead != 0, ahead < 0x8000 {
                lastSequence = out.sequence
                lastTimestamp = out.timestamp
            }
        } else {
            lastSequence = out.sequence
            lastTimestamp = out.timestamp
        }
        return out
    }
}
