/// The last packets of one published video stream, by sequence number, so a subscriber's NACK (RFC
/// 4585 §6.2.1) is answered from here instead of asking the publisher: the packet is sent again as it
/// was, in the subscriber's numbering (the answer negotiates no RTX, so a retransmission is the packet
/// itself, which RFC 4585 allows). Shared by all subscribers of the stream: one copy per publisher.
///
/// Fixed memory from `init` (`capacity` slots of `packetSize` bytes), nothing allocated per packet, a
/// slot found by `sequence % capacity` and checked against the number and SSRC it holds. Written by
/// hand: it is a ring of byte buffers, smaller than any dependency would be. Loop-confined.
public final class RTPPacketCache {
    public let capacity: Int
    public let packetSize: Int
    private let storage: UnsafeMutableRawBufferPointer
    private struct Entry {
        var sequence: UInt16 = 0
        var ssrc: UInt32 = 0
        var length = 0
    }
    private let entries: UnsafeMutableBufferPointer<Entry>

    /// 512 packets: about a second of a 2.5 Mbit/s screen, several seconds of a camera.
    public init(capacity: Int = 512, packetSize: Int = 1500) {
        self.capacity = max(1, capacity)
        self.packetSize = packetSize
        storage = .allocate(byteCount: self.capacity * packetSize, alignment: 16)
        entries = .allocate(capacity: self.capacity)
        entries.initialize(repeating: Entry())
    }

    deinit {
        storage.deallocate()
        entries.deallocate()
    }

    /// Keeps a packet (its plaintext RTP header and payload); one that does not fit is not kept.
    public func store(_ packet: UnsafeRawBufferPointer, sequence: UInt16, ssrc: UInt32) {
        guard packet.count <= packetSize else { return }
        let index = Int(sequence) % capacity
        UnsafeMutableRawBufferPointer(rebasing: storage[(index * packetSize)...]).copyMemory(from: packet)
        entries[index] = Entry(sequence: sequence, ssrc: ssrc, length: packet.count)
    }

    /// The packet `sequence` of `ssrc`, if it is still here; valid until the next `store`.
    public func packet(sequence: UInt16, ssrc: UInt32) -> UnsafeRawBufferPointer? {
        let index = Int(sequence) % capacity
        let entry = entries[index]
        guard entry.length > 0, entry.sequence == sequence, entry.ssrc == ssrc else { return nil }
        return UnsafeRawBufferPointer(rebasing: storage[(index * packetSize)..<(index * packetSize + entry.length)])
    }
}
