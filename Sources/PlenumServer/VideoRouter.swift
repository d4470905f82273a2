import PlenumBridge
import PlenumRTP
import PlenumWebRTC

/// One published video (a browser's camera or shared screen): who receives it on which slot, and
/// when its publisher was last asked for a key frame. Loop-confined; a class so the per-packet path
/// reads it in place.
final class VideoPublication {
    /// The id browsers subscribe by: the member and the m-line it sends on.
    let id: String
    let member: MemberID
    let mid: String
    /// A shared screen (one per meeting, seen by everybody) rather than a camera.
    let isScreen: Bool
    unowned let publisher: WebRTCSession
    /// The publisher's SSRC, once its first packet came (it changes when the browser restarts the track).
    var ssrc: UInt32?
    var subscribers: [(session: WebRTCSession, browser: UInt64, mid: String)] = []
    var lastKeyFrameRequest: UInt64 = 0
    /// Its last packets, for the subscribers' NACKs.
    let cache = RTPPacketCache()
    /// What it may send, so one publisher cannot make the server send N times its flood.
    private var cap: RateCap
    /// Packets dropped over the cap, and whether any were since the last key frame.
    private(set) var overCap = 0
    private var brokenSinceKeyFrame = false

    init(member: MemberID, mid: String, publisher: WebRTCSession, isScreen: Bool = false) {
        id = "\(member)-\(mid)"
        self.member = member
        self.mid = mid
        self.isScreen = isScreen
        self.publisher = publisher
        cap = RateCap(bytesPerSecond: isScreen ? Self.screenCap : Self.cameraCap)
    }

    /// The client asks its encoder for at most 800 kbit/s (HD camera) and 2 Mbit/s (screen); these caps
    /// leave room for key frames and a browser's own overshoot, and stop a hostile or broken publisher.
    static let cameraCap = 2_000_000 / 8
    static let screenCap = 4_000_000 / 8

    /// A publisher's packet goes to every subscriber's slot (each rewrites and protects its own copy);
    /// false when it was over the publication's rate cap and dropped.
    @discardableResult
    func forward(_ packet: RTPPacket, _ datagram: UnsafeRawBufferPointer, startsKeyFrame: Bool, now: UInt64) -> Bool {
        guard cap.admit(datagram.count, now: now) else {
            overCap += 1
            brokenSinceKeyFrame = true
            return false
        }
        // What the cap dropped broke the subscribers' pictures: the publisher is asked for a key frame
        // as soon as it is under the cap again (not every subscriber's decoder asks for one itself).
        if startsKeyFrame {
            brokenSinceKeyFrame = false
        } else if brokenSinceKeyFrame {
            requestKeyFrame(now: now)
        }
        if ssrc != packet.ssrc {
            ssrc = packet.ssrc
            for subscriber in subscribers { subscriber.session.select(packet.ssrc, onSlot: subscriber.mid) }
        }
        // Nobody can NACK what was sent before they subscribed, so an unwatched camera costs no copy.
        if !subscribers.isEmpty, packet.payloadRange.upperBound <= datagram.count {
            cache.store(UnsafeRawBufferPointer(rebasing: datagram[..<packet.payloadRange.upperBound]), sequence: packet.sequenceNumber,
                        ssrc: packet.ssrc)
        }
        for subscriber in subscribers { subscriber.session.forward(packet, datagram, onSlot: subscriber.mid, startsKeyFrame: startsKeyFrame) }
        return true
    }

    /// Asks the publisher for a key frame, at most every `interval` milliseconds (PLI floods from
    /// subscribers, or many joining at once, reach it as one request).
    func requestKeyFrame(now: UInt64, interval: UInt64 = 300) {
        guard let ssrc, now >= lastKeyFrameRequest + interval else { return }
        lastKeyFrameRequest = now
        publisher.requestKeyFrame(of: ssrc)
    }
}

/// A token bucket of bytes (one second deep, so a key frame passes whole): refilled from the loop's
/// millisecond clock, no allocation, no time call per packet.
struct RateCap {
    let bytesPerSecond: Int
    private var tokens: Int
    private var refilledAt: UInt64?

    init(bytesPerSecond: Int) {
        self.bytesPerSecond = bytesPerSecond
        tokens = bytesPerSecond
    }

    mutating func admit(_ bytes: Int, now: UInt64) -> Bool {
        let last = refilledAt ?? now
        if now > last { tokens = min(bytesPerSecond, tokens + Int(min(now - last, 1000)) * bytesPerSecond / 1000) }
        refilledAt = max(last, now)
        guard tokens >= bytes else { return false }
        tokens -= bytes
        return true
    }
}
