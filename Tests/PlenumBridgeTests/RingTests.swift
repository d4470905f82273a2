import Foundation
import PlenumCore
import Testing

/// The loop's boundary queue (issue 13): order, fullness, and one producer and one consumer thread
/// at full speed losing nothing.
struct RingTests {
    @Test func itKeepsOrderRefusesWhenFullAndWrapsAround() {
        let ring = Ring<Int>(capacity: 3)
        #expect(ring.capacity == 4)
        var next = 0, expected = 0
        for _ in 0..<100 {  // many times around the four slots
            while ring.push(next) { next += 1 }
            #expect(ring.count == 4 && !ring.push(-1))
            for _ in 0..<3 {
                #expect(ring.pop() == expected)
                expected += 1
            }
        }
        while let value = ring.pop() {
            #expect(value == expected)
            expected += 1
        }
        #expect(expected == next && ring.isEmpty && ring.pop() == nil)
    }

    @Test func aProducerAndAConsumerThreadLoseNothing() async {
        let ring = Ring<Int>(capacity: 64)
        let total = 500_000
        let producer = Thread {
            var value = 0
            while value < total {
                if ring.push(value) { value += 1 }
            }
        }
        producer.start()
        var expected = 0
        var outOfOrder = 0
        while expected < total {
            guard let value = ring.pop() else { continue }
            if value != expected { outOfOrder += 1 }
            expected = value + 1
        }
        #expect(outOfOrder == 0 && ring.pop() == nil)
    }
}
