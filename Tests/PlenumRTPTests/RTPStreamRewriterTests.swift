import Testing

@testable import PlenumRTP

/// A subscriber's video slot fed by changing sources (issue 15): one continuous stream for its decoder.
@Suite struct RTPStreamRewriterTests {
    @Test func aSourceStartsAtItsKeyFrameAndKeepsItsGapsAndOrder() {
        var slot = RTPStreamRewriter(ssrc: 0xCAFE, firstSequence: 100, firstTimestamp: 5000)
        #expect(slot.rewrite(ssrc: 1, sequence: 10, timestamp: 900, startsKeyFrame: true) == nil, "nothing selected yet")
        slot.select(1)
        #expect(slot.rewrite(ssrc: 1, sequence: 11, timestamp: 900, startsKeyFrame: false) == nil, "before its key frame")
        #expect(slot.rewrite(ssrc: 2, sequence: 12, timestamp: 900, startsKeyFrame: true) == nil, "another source")
        #expect(slot.rewrite(ssrc: 1, sequence: 20, timestamp: 3900, startsKeyFrame: true)! == (100, 5000))
        #expect(slot.rewrite(ssrc: 1, sequence: 21, timestamp: 3900, startsKeyFrame: false)! == (101, 5000))
        #expect(slot.rewrite(ssrc: 1, sequence: 24, timestamp: 6900, startsKeyFrame: false)! == (104, 8000), "a gap stays a gap")
        #expect(slot.rewrite(ssrc: 1, sequence: 23, timestamp: 6900, startsKeyFrame: false)! == (103, 8000), "late stays late")
    }

    @Test func anotherSourceContinuesTheNumberingAfterAKeyFrame() {
        var slot = RTPStreamRewriter(ssrc: 7, firstSequence: 65_534, firstTimestamp: UInt32.max - 1000)
        slot.select(1)
        _ = slot.rewrite(ssrc: 1, sequence: 500, timestamp: 1000, startsKeyFrame: true)
        #expect(slot.rewrite(ssrc: 1, sequence: 501, timestamp: 4000, startsKeyFrame: false)! == (65_535, UInt32.max &- 1000 &+ 3000))
        // The camera stops; somebody else's starts in the same slot.
        slot.clear()
        #expect(slot.rewrite(ssrc: 1, sequence: 502, timestamp: 7000, startsKeyFrame: false) == nil)
        slot.select(9)
        #expect(slot.waitsForKeyFrame)
        #expect(slot.rewrite(ssrc: 9, sequence: 40_000, timestamp: 123, startsKeyFrame: false) == nil)
        let first = slot.rewrite(ssrc: 9, sequence: 40_001, timestamp: 456, startsKeyFrame: true)!
        #expect(first.sequence == 0, "65,535 + 1 wraps to 0: no jump for the decoder")
        #expect(first.timestamp == UInt32.max &- 1000 &+ 3000 &+ RTPStreamRewriter.switchGap, "one frame after the last")
        #expect(slot.rewrite(ssrc: 9, sequence: 40_002, timestamp: 3456, startsKeyFrame: false)! == (1, first.timestamp &+ 3000))
        #expect(slot.rewrite(ssrc: 1, sequence: 503, timestamp: 7000, startsKeyFrame: true) == nil, "the old source is gone")
    }

    @Test func selectingTheSameSourceAgainChangesNothing() {
        var slot = RTPStreamRewriter(ssrc: 7, firstSequence: 0, firstTimestamp: 0)
        slot.select(1)
        _ = slot.rewrite(ssrc: 1, sequence: 10, timestamp: 0, startsKeyFrame: true)
        slot.select(1)
        #expect(!slot.waitsForKeyFrame)
        #expect(slot.rewrite(ssrc: 1, sequence: 11, timestamp: 3000, startsKeyFrame: false)! == (1, 3000))
    }

    /// A subscriber's NACK names the slot's numbers; the publisher's cache is keyed by its own. Only
    /// what the current source sent maps back, and a cached packet goes out numbered as before.
    @Test func aNackMapsBackToTheSourcesNumberingAndTheCacheAnswersIt() {
        var slot = RTPStreamRewriter(ssrc: 7, firstSequence: 65_530, firstTimestamp: 0)
        slot.select(1)
        for sequence in UInt16(1000)...1010 { _ = slot.rewrite(ssrc: 1, sequence: sequence, timestamp: 90, startsKeyFrame: sequence == 1000) }
        #expect(slot.incomingSequence(for: 65_530) == 1000 && slot.incomingSequence(for: 4) == 1010, "across the wrap")
        #expect(slot.incomingSequence(for: 5) == nil, "not sent yet")
        #expect(slot.incomingSequence(for: 65_529) == nil, "before the source's key frame")
        #expect(slot.resent(ssrc: 1, sequence: 1003, timestamp: 90)! == (65_533, 0))
        #expect(slot.resent(ssrc: 2, sequence: 1003, timestamp: 90) == nil, "another source")
        // The next source: the old one's numbers no longer map.
        slot.select(2)
        _ = slot.rewrite(ssrc: 2, sequence: 50, timestamp: 0, startsKeyFrame: true)
        #expect(slot.incomingSequence(for: 65_533) == nil && slot.incomingSequence(for: 5) == 50)

        let cache = RTPPacketCache(capacity: 4, packetSize: 16)
        let packet: [UInt8] = Array(repeating: 0xAB, count: 16)
        packet.withUnsafeBytes { cache.store($0, sequence: 10, ssrc: 1) }
        #expect(cache.packet(sequence: 10, ssrc: 1).map(Array.init) == packet)
        #expect(cache.packet(sequence: 10, ssrc: 2) == nil && cache.packet(sequence: 14, ssrc: 1) == nil, "another stream, another number")
        [UInt8](repeating: 1, count: 8).withUnsafeBytes { cache.store($0, sequence: 14, ssrc: 1) }
        #expect(cache.packet(sequence: 10, ssrc: 1) == nil, "overwritten by the ring")
        #expect(cache.packet(sequence: 14, ssrc: 1)?.count == 8)
        [UInt8](repeating: 1, count: 17).withUnsafeBytes { cache.store($0, sequence: 15, ssrc: 1) }
        #expect(cache.packet(sequence: 15, ssrc: 1) == nil, "too large to keep")
    }
}
