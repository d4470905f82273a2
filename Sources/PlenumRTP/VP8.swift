/// The little of the VP8 RTP payload (RFC 7741) a forwarding unit reads: where a packet's VP8 data
/// starts and whether it begins a key frame (which a new subscriber needs first). Nothing is decoded.
public enum VP8 {
    /// The payload descriptor's length (RFC 7741 §4.2), or nil when it runs past the payload.
    public static func descriptorLength(_ payload: UnsafeRawBufferPointer) -> Int? {
        guard let first = payload.first else { return nil }
        var length = 1
        if first & 0x80 != 0 {  // X: extension byte
            guard payload.count > length else { return nil }
            let extensions = payload[length]
            length += 1
            if extensions & 0x80 != 0 {  // I: picture id, 7 or 15 bits (M)
                guard payload.count > length else { return nil }
                length += payload[length] & 0x80 != 0 ? 2 : 1
            }
            if extensions & 0x40 != 0 { length += 1 }  // L: TL0PICIDX
            if extensions & 0x30 != 0 { length += 1 }  // T or K: TID/Y/KEYIDX
        }
        return length <= payload.count ? length : nil
    }

    /// Whether the packet starts a partition 0 (S=1, PID=0) whose VP8 frame header has P=0 (RFC 7741
    /// §4.3, RFC 6386 §9.1): the first packet of a key frame.
    public static func isKeyFrameStart(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard let first = payload.first, first & 0x10 != 0, first & 0x07 == 0,
            let length = descriptorLength(payload), length < payload.count
        else { return false }
        return payload[length] & 0x01 == 0
    }
}
