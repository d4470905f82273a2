import Synchronization

/// A bounded single-producer, single-consumer queue: the boundary between a media loop and the
/// threads that do its slow work (issue 13). `push` and `pop` never allocate, lock or wait, so the
/// mixer tick can hand news over at any rate without being held up by whoever reads them.
///
/// Written here because neither the standard library, Synchronization nor SwiftNIO has a lock-free
/// bounded queue between two threads (NIO's `CircularBuffer` is single-threaded). It is Lamport's
/// ring: the producer owns `tail`, the consumer owns `head`, each publishes its index with release
/// ordering and reads the other's with acquire ordering, so a slot is only ever touched by one side.
///
/// Contract: exactly one thread calls `push` (the producer) and exactly one calls `pop` at a time
/// (the consumer). That is why it is `@unchecked Sendable`.
public final class Ring<Element>: @unchecked Sendable {
    public let capacity: Int
    private let mask: Int
    private let slots: UnsafeMutablePointer<Element?>
    /// The next slot to read; written by the consumer only.
    private let head = Atomic<Int>(0)
    /// The next slot to write; written by the producer only.
    private let tail = Atomic<Int>(0)

    /// A ring holding at least `capacity` elements (rounded up to a power of two).
    public init(capacity: Int) {
        var size = 1
        while size < max(2, capacity) { size <<= 1 }
        self.capacity = size
        mask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: nil, count: size)
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// Producer: appends `element`, or returns false when the ring is full (nothing changed).
    @discardableResult
    public func push(_ element: Element) -> Bool {
        let t = tail.load(ordering: .relaxed)
        guard t &- head.load(ordering: .acquiring) < capacity else { return false }
        slots[t & mask] = element
        tail.store(t &+ 1, ordering: .releasing)
        return true
    }

    /// Consumer: takes the oldest element, or nil when the ring is empty.
    public func pop() -> Element? {
        let h = head.load(ordering: .relaxed)
        guard h != tail.load(ordering: .acquiring) else { return nil }
        let element = slots[h & mask].take()
        head.store(h &+ 1, ordering: .releasing)
        return element
    }

    /// How many elements wait; exact for either side about its own index, a snapshot otherwise.
    public var count: Int { tail.load(ordering: .acquiring) &- head.load(ordering: .acquiring) }
    public var isEmpty: Bool { count == 0 }
}
