/// RFC 4733 telephone events (DTMF in RTP).
///
///      0                   1                   2                   3
///     |     event     |E|R| volume    |          duration             |
public struct TelephoneEvent: Equatable, Sendable {
    public var event: UInt8
    public var end: Bool
    public var volume: UInt8
    public var duration: UInt16

    public init(event: UInt8, end: Bool, volume: UInt8 = 10, duration: UInt16) {
        self.event = event
        self.end = end
        self.volume = volume
        self.duration = duration
    }

    public init?(parsing payload: UnsafeRawBufferPointer) {
        guard payload.count >= 4 else { return nil }
        event = payload[0]
        end = payload[1] & 0x80 != 0
        volume = payload[1] & 0x3F
        duration = UInt16(payload[2]) << 8 | UInt16(payload[3])
    }

    public func write(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        buffer[0] = event
        buffer[1] = (end ? 0x80 : 0) | (volume & 0x3F)
        buffer[2] = UInt8(duration >> 8)
        buffer[3] = UInt8(duration & 0xFF)
        return 4
    }

    /// The DTMF digit for events 0-15 (RFC 4733 §3.2): 0-9, *, #, A-D.
    public var digit: Character? {
        switch event {
        case 0...9: Character(String(event))
        case 10: "*"
        case 11: "#"
        case 12...15: Character(UnicodeScalar(UInt8(ascii: "A") + event - 12))
        default: nil
        }
    }

    public static func event(for digit: Character) -> UInt8? {
        switch digit {
        case "0"..."9": digit.wholeNumberValue.map(UInt8.init)
        case "*": 10
        case "#": 11
        case "A"..."D": digit.asciiValue.map { $0 - UInt8(ascii: "A") + 12 }
        default: nil
        }
    }
}

/// Turns a stream of RFC 4733 packets into digits, once each: an event is identified by its RTP
/// timestamp (§2.5.1.1), so the repeated updates and the three end packets report one digit. A digit is
/// reported at its first packet, so a caller's key press acts without waiting for the release.
public struct TelephoneEventReceiver: Sendable {
    private var lastTimestamp: UInt32?
    public init() {}

    public mutating func receive(_ payload: UnsafeRawBufferPointer, timestamp: UInt32) -> Character? {
        guard let event = TelephoneEvent(parsing: payload), let digit = event.digit else { return nil }
        guard timestamp != lastTimestamp else { return nil }
        lastTimestamp = timestamp
        return digit
    }
}
