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

    init(member: MemberID, mid: String, publisher: WebRTCSession, isScreen: Bool = false) {
        id = "\(member)-\(mid)"
        self.member = member
        self.mid = mid
        self.isScreen = isScreen
        self.publisher = publisher
    }

    /// A publisher's packet goes to every subscriber's slot (each rewrites and protects its own copy).
    func forward(_ packet: RTPPacket, _ datagram: UnsafeRawBufferPointer, startsKeyFrame: Bool) {
        if ssrc != packet.ssrc {
            ssrc = packet.ssrc
            for subscriber in subscribers { subscriber.session.select(packet.ssrc, onSlot: subscriber.mid) }
        }
        if packet.payloadRange.upperBound <= datagram.count {
            cache.store(UnsafeRawBufferPointer(rebasing: datagram[..<packet.payloadRange.upperBound]), sequence: packet.sequenceNumber,
                        ssrc: packet.ssrc)
        }
        for subscriber in subscribers { subscriber.session.forward(packet, datagram, onSlot: subscriber.mid, startsKeyFrame: startsKeyFrame) }
    }

    /// Asks the publisher for a key frame, at most every `interval` milliseconds (PLI floods from
    /// subscribers, or many joining at once, reach it as one request).
    func requestKeyFrame(now: UInt64, interval: UInt64 = 300) {
        guard let ssrc, now >= lastKeyFrameRequest + interval else { return }
        lastKeyFrameRequest = now
        publisher.requestKeyFrame(of: ssrc)
    }
}
