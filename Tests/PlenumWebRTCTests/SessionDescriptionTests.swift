import Foundation
import PlenumMedia
import PlenumRTP
import PlenumSDP
import Testing

@testable import PlenumWebRTC

/// The whole-offer SDP model and the answer with a section per m-line (issue 15), on offers Chromium
/// 156 wrote (`Offers/`): audio, a camera, a receive-only video slot; three simulcast layers.
@Suite struct SessionDescriptionTests {
    static let offers = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Offers")
    static func offer(_ name: String) throws -> String {
        try String(contentsOf: offers.appendingPathComponent(name), encoding: .utf8)
    }

    /// A session for `offer` on a loopback socket.
    static func session(answering offer: String) throws -> (WebRTCSession, DTLSContext, UDPSocket) {
        let context = try DTLSContext()
        let socket = try UDPSocket(address: "127.0.0.1", port: 0)
        let session = try WebRTCSession(
            offer: try AudioOffer(parsing: offer), description: try SessionDescription(parsing: offer), context: context, socket: socket)
        return (session, context, socket)
    }

    @Test func readsEveryMediaDescriptionOfABrowsersOffer() throws {
        let offer = try SessionDescription(parsing: try Self.offer("chromium-156-audio-camera-recvonly.sdp"))
        #expect(offer.bundle == ["0", "1", "2"])
        #expect(offer.media.map(\.kind) == ["audio", "video", "video"])
        #expect(offer.media.map(\.mid) == ["0", "1", "2"])
        #expect(offer.media.map(\.direction) == [.sendrecv, .sendrecv, .recvonly])
        let audio = offer.media[0], camera = offer.media[1]
        #expect(audio.codecs.first?.name == "opus" && audio.codecs.first?.payloadType == 111 && audio.codecs.first?.channels == 2)
        #expect(audio.extensions["urn:ietf:params:rtp-hdrext:ssrc-audio-level"] == 1)
        let vp8 = try #require(camera.codecs.first)
        #expect(vp8.name == "VP8" && vp8.payloadType == 96 && vp8.clockRate == 90_000)
        #expect(vp8.feedback == ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"])
        #expect(camera.codecs.count == camera.formats.count, "all \(camera.formats.count) formats, not the first 16")
        #expect(camera.codecs.first { $0.payloadType == 97 }?.associatedPayloadType == 96)
        #expect(camera.codecs.first { $0.payloadType == 102 }.map { SessionDescription.Codec.parameter("packetization-mode", in: $0.parameters) } == "1")
        #expect(camera.ssrcs == [1_651_525_229, 3_779_273_888])
        #expect(camera.retransmissionGroups.map(\.repair) == [3_779_273_888])
        #expect(camera.extensions["urn:ietf:params:rtp-hdrext:sdes:mid"] == 4)
        #expect(offer.value("ice-ufrag", of: camera) == "hPKs")
    }

    @Test func readsSimulcastLayers() throws {
        let offer = try SessionDescription(parsing: try Self.offer("chromium-156-simulcast.sdp"))
        let video = try #require(offer.media.first)
        #expect(video.direction == .sendonly && video.sendRIDs == ["q", "h", "f"])
        #expect(video.value("simulcast") == "send q;h;f")
        #expect(video.extensions["urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"] == 10)
    }

    @Test func refusesWhatIsNotSDP() {
        for text in ["", "hello", "v=0\r\nm=audio x RTP/AVP 0\r\n", "v=0\r\nm=audio 9 RTP/\u{e4} 0\r\n"] {
            #expect(throws: SessionDescription.ParseError.self) { try SessionDescription(parsing: text) }
        }
    }

    @Test func answersEveryMLineAndReceivesTheCamera() throws {
        let text = try Self.offer("chromium-156-audio-camera-recvonly.sdp")
        let (session, context, socket) = try Self.session(answering: text)
        guard case .receiveVideo(let camera) = session.sections[1] else {
            Issue.record("the camera is not received: \(session.sections)")
            return
        }
        #expect(session.sections[0] == .audio(mid: "0"))
        #expect(camera.mid == "1" && camera.codec.payloadType == 96 && camera.ssrcs == [1_651_525_229])
        #expect(camera.repairSSRCs == [3_779_273_888] && camera.midExtension == 4)
        guard case .sendVideo(let slot) = session.sections[2] else {
            Issue.record("the receive-only m-line is no slot: \(session.sections[2])")
            return
        }
        #expect(slot.mid == "2" && slot.payloadType == 96 && slot.stream == nil)

        let answer = try SessionDescription(parsing: session.answer(addresses: [socket.address], fingerprint: context.fingerprint, sessionID: 1))
        #expect(answer.media.count == 3, "one answer m-line per offered one (RFC 8829 §5.3.1)")
        #expect(answer.bundle == ["0", "1", "2"])
        #expect(answer.media.map(\.port) == [socket.address.port, socket.address.port, socket.address.port])
        #expect(answer.media.map(\.mid) == ["0", "1", "2"])
        #expect(answer.media[2].direction == .inactive, "a free slot, kept for the next camera")
        #expect(answer.media[1].direction == .recvonly && answer.media[1].codecs.map(\.name) == ["VP8"])
        #expect(answer.media[1].codecs.first?.feedback == ["nack pli", "ccm fir"])
        #expect(answer.media[1].extensions == ["urn:ietf:params:rtp-hdrext:sdes:mid": 4])
        #expect(answer.media[0].codecs.first?.name == "opus" && answer.media[0].direction == .sendrecv)
        #expect(answer.value("ice-lite") != nil)
    }

    /// `renegotiate`: a slot gets a camera (sendonly, its SSRC and msid announced) and keeps its SSRC;
    /// an inactive m-line (a stopped camera) and a data channel are rejected; fewer m-lines are refused.
    @Test func aRenegotiationFillsASlotAndKeepsItsSSRC() throws {
        let text = try Self.offer("chromium-156-audio-camera-recvonly.sdp")
        let (session, context, socket) = try Self.session(answering: text)
        guard case .sendVideo(let before) = session.sections[2] else {
            Issue.record("no slot")
            return
        }
        // The camera stops (inactive) and a data channel is added.
        let camera = try #require(text.range(of: "a=mid:1\r\n"))
        var again = text.replacingOccurrences(of: "a=sendrecv\r\n", with: "a=inactive\r\n", range: camera.upperBound..<text.endIndex)
        again += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:3\r\n"
        try session.renegotiate(try SessionDescription(parsing: again), subscriptions: ["2": "7-1"])
        guard case .sendVideo(let after) = session.sections[2] else {
            Issue.record("the slot went")
            return
        }
        #expect(after.ssrc == before.ssrc && after.stream == "7-1")
        #expect(session.sections[1] == .rejected(kind: "video", mid: "1", transport: "UDP/TLS/RTP/SAVPF", format: "96"))
        #expect(session.sections[3] == .rejected(kind: "application", mid: "3", transport: "UDP/DTLS/SCTP", format: "webrtc-datachannel"))
        let answer = try SessionDescription(parsing: session.answer(addresses: [socket.address], fingerprint: context.fingerprint, sessionID: 1))
        #expect(answer.bundle == ["0", "2"], "rejected m-lines leave the BUNDLE group")
        #expect(answer.media.map(\.port) == [socket.address.port, 0, socket.address.port, 0])
        #expect(answer.media[2].direction == .sendonly && answer.media[2].ssrcs == [before.ssrc])
        #expect(answer.media[2].msid == "7-1 7-1-video")
        #expect(answer.media[2].extensions.isEmpty, "forwarded packets carry no header extensions")
        // A slot not named keeps its camera; fewer m-lines than before are refused.
        try session.renegotiate(try SessionDescription(parsing: again), subscriptions: [:])
        if case .sendVideo(let kept) = session.sections[2] { #expect(kept.stream == "7-1") }
        #expect(throws: WebRTCSession.SetupError.self) { try session.renegotiate(try SessionDescription(parsing: text), subscriptions: [:]) }
    }

    @Test func directionsAnswerAsRFC3264Says() {
        typealias D = SessionDescription.Direction
        #expect(D.sendrecv.answer(weSend: false, weReceive: true) == .recvonly)
        #expect(D.sendonly.answer(weSend: true, weReceive: true) == .recvonly)
        #expect(D.recvonly.answer(weSend: true, weReceive: true) == .sendonly)
        #expect(D.recvonly.answer(weSend: false, weReceive: true) == .inactive)
    }

    /// RFC 7741's payload descriptor: key frames found without decoding, truncated descriptors refused.
    @Test func vp8KeyFramesAreFoundInThePayloadDescriptor() {
        func keyFrame(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { VP8.isKeyFrameStart($0) } }
        #expect(keyFrame([0x10, 0x00]), "S=1, PID=0, then P=0")
        #expect(!keyFrame([0x10, 0x01]), "P=1: an inter frame")
        #expect(!keyFrame([0x00, 0x00]), "not the start of a partition")
        #expect(keyFrame([0x90, 0x80, 0x81, 0x23, 0x10]), "X, I with a 15-bit picture id")
        #expect(keyFrame([0x90, 0xE0, 0x05, 0x07, 0x40, 0x9C]), "X, I, L, T: four descriptor bytes, then P=0")
        #expect(!keyFrame([0x90, 0x80, 0x81]), "a descriptor that runs past the payload")
        #expect([UInt8]().withUnsafeBytes { VP8.descriptorLength($0) } == nil)
    }
}
