import Foundation
import PlenumAudio
import PlenumBridge
import PlenumICE
import PlenumMedia
import PlenumRTP
import PlenumSDP
import PlenumWebRTC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A browser made of our own pieces (client side of ICE, DTLS and SRTP) on loopback, against the
/// server side through real UDP sockets: the whole media path without signalling. (The real-peer tests
/// with aiortc and Chromium come with the signalling.)
final class LoopbackBrowser {
    let socket: UDPSocket
    let identity: DTLSContext
    let ice = ICECredentials.random()
    let encoder = FrameEncoder(.opus)!
    let decoder = FrameDecoder(.opus)!
    var dtls: DTLSTransport?
    var srtp: (inbound: SRTPSession, outbound: SRTPSession)?
    var server: SocketAddress?
    var heard: [Int16] = []
    var sequence: UInt16 = 1
    var phase = 0

    init() throws {
        socket = try UDPSocket(address: "127.0.0.1", port: 0)
        identity = try DTLSContext()
    }

    var offer: String {
        """
        v=0\r
        o=- 1 1 IN IP4 127.0.0.1\r
        s=-\r
        t=0 0\r
        a=group:BUNDLE 0\r
        m=audio 9 UDP/TLS/RTP/SAVPF 111 126\r
        c=IN IP4 0.0.0.0\r
        a=ice-ufrag:\(ice.usernameFragment)\r
        a=ice-pwd:\(ice.password)\r
        a=fingerprint:sha-256 \(identity.fingerprint)\r
        a=setup:actpass\r
        a=mid:0\r
        a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
        a=sendrecv\r
        a=rtcp-mux\r
        a=rtpmap:111 opus/48000/2\r
        a=fmtp:111 minptime=10;useinbandfec=1\r
        a=rtpmap:126 telephone-event/8000\r

        """
    }

    func send(_ bytes: [UInt8]) {
        guard let server else { return }
        _ = bytes.withUnsafeBytes { socket.send($0, to: server) }
    }

    /// Everything waiting on the socket: STUN responses, DTLS, SRTP.
    func drain() -> [[UInt8]] {
        var out: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        var source = SocketAddress(ipv4: 0, port: 0)
        while let n = buffer.withUnsafeMutableBytes({ socket.receive(into: $0, from: &source) }) {
            out.append(Array(buffer[..<n]))
        }
        return out
    }

    /// One 20 ms Opus packet of a tone, with its RFC 6464 level in a one-byte header extension, SRTP-protected.
    func sendTone(_ frequency: Double) throws {
        guard let srtp else { return }
        var pcm = [Int16](repeating: 0, count: 960)
        for i in 0..<960 { pcm[i] = Int16(8000 * sin(2 * Double.pi * frequency * Double(phase + i) / 48_000)) }
        phase += 960
        var payload = [UInt8](repeating: 0, count: 1500)
        let n = pcm.withUnsafeBufferPointer { p in payload.withUnsafeMutableBytes { encoder.encode(p, into: $0) } }
        let level = pcm.withUnsafeBufferPointer { AudioLevel.of($0) }
        var packet: [UInt8] = [0x90, 111, UInt8(sequence >> 8), UInt8(sequence & 0xFF)]
        let ts = UInt32(sequence) * 960
        packet += [UInt8(ts >> 24), UInt8(ts >> 16 & 0xFF), UInt8(ts >> 8 & 0xFF), UInt8(ts & 0xFF), 0xAB, 0xCD, 0x00, 0x01]
        packet += [0xBE, 0xDE, 0x00, 0x01, 0x10, 0x80 | level, 0x00, 0x00]
        packet += payload[..<n]
        sequence &+= 1
        var buffer = packet + [UInt8](repeating: 0, count: SRTPSession.maxTrailerLength)
        let length = try buffer.withUnsafeMutableBytes { try srtp.outbound.protect($0, length: packet.count) }
        send(Array(buffer[..<length]))
    }

    func hear(_ datagram: [UInt8]) {
        guard let srtp, datagram.count > 12, PacketClass(classifying: datagram.withUnsafeBytes { $0 }) == .rtp else { return }
        var buffer = datagram
        guard let length = try? buffer.withUnsafeMutableBytes({ try srtp.inbound.unprotect($0, length: datagram.count) }),
            let packet = try? buffer.withUnsafeBytes({ try RTPPacket(parsing: UnsafeRawBufferPointer(rebasing: $0[..<length])) })
        else { return }
        var pcm = [Int16](repeating: 0, count: 5760)
        let n = buffer.withUnsafeBytes { raw in
            pcm.withUnsafeMutableBufferPointer { decoder.decode(UnsafeRawBufferPointer(rebasing: raw[packet.payloadRange]), into: $0) }
        }
        heard += pcm[..<n]
    }
}

final class Listener: MemberOutput {
    let decoder = FrameDecoder(.pcmu)!
    var heard: [Int16] = []
    func deliver(_ frame: EncodedFrame) {
        var pcm = [Int16](repeating: 0, count: 5760)
        let n = pcm.withUnsafeMutableBufferPointer { decoder.decode(frame.payload, into: $0) }
        heard += pcm[..<n]
    }
}

@Suite struct WebRTCLoopbackTests {
    @Test func iceDtlsSrtpAndAudioBothWays() throws {
        let context = try DTLSContext()
        let port = try WebRTCPort(address: "127.0.0.1", port: 0, context: context)
        var profile = ConferenceProfile()
        profile.announceAlone = false
        profile.enterExitTones = false
        let conference = Conference(name: "3001", profile: profile)

        let browser = try LoopbackBrowser()
        let offer = try AudioOffer(parsing: browser.offer)
        let session = try WebRTCSession(offer: offer, context: context, socket: port.sockets[0])
        port.add(session)
        let member = try conference.join(name: "browser", input: .opus, sink: session.leg)
        session.leg.member = member
        let answer = try AudioOffer(parsing: session.answer(addresses: port.addresses, fingerprint: context.fingerprint, sessionID: 7))
        #expect(answer.setup == "passive" && answer.transport == "UDP/TLS/RTP/SAVPF" && answer.rtcpMux)
        browser.server = SocketAddress(host: "127.0.0.1", port: answer.port)

        // A phone in the same room, sending 1 kHz as G.711 energy-detected audio.
        let phone = Listener()
        let phoneMember = try conference.join(name: "phone", input: .pcmu, sink: phone)
        let phoneEncoder = FrameEncoder(.pcmu)!
        var phonePhase = 0
        var phoneSequence: UInt16 = 0

        // ICE: a nominating check with the answer's credentials.
        browser.send(STUNMessage.bindingRequest(
            transactionID: (0..<12).map { _ in UInt8.random(in: 0...255) },
            username: "\(answer.iceUsernameFragment):\(browser.ice.usernameFragment)", password: answer.icePassword,
            priority: 2_130_706_431, tieBreaker: 42, useCandidate: true))
        port.drain(now: 0)
        let stunResponse = try #require(browser.drain().first)
        #expect(stunResponse.withUnsafeBytes { PacketClass(classifying: $0) } == .stun)
        #expect(session.ice.selected != nil)

        // DTLS: the browser is the client (a=setup:passive on our side).
        let dtls = try #require(DTLSTransport(context: browser.identity, isServer: false, expectedFingerprint: context.fingerprint))
        browser.dtls = dtls
        for datagram in dtls.start() { browser.send(datagram) }
        for _ in 0..<20 where !(session.established && dtls.state == .connected) {
            usleep(2000)
            port.drain(now: 0)
            usleep(2000)
            for datagram in browser.drain() {
                for reply in datagram.withUnsafeBytes({ dtls.receive($0) }) { browser.send(reply) }
            }
        }
        #expect(session.established && dtls.state == .connected)
        browser.srtp = try dtls.srtpSessions()

        // Two seconds of audio both ways.
        for _ in 0..<100 {
            try browser.sendTone(440)
            var pcm = [Int16](repeating: 0, count: 960)
            for i in 0..<960 { pcm[i] = Int16(8000 * sin(2 * Double.pi * 1000 * Double(phonePhase + i) / 48_000)) }
            phonePhase += 960
            var bytes = [UInt8](repeating: 0, count: 400)
            let n = pcm.withUnsafeBufferPointer { p in bytes.withUnsafeMutableBytes { phoneEncoder.encode(p, into: $0) } }
            _ = bytes.withUnsafeBytes {
                phoneMember.receive(UnsafeRawBufferPointer(rebasing: $0[..<n]), sequence: phoneSequence, timestamp: UInt32(phoneSequence) * 160)
            }
            phoneSequence &+= 1
            usleep(1000)
            port.drain(now: 0)
            conference.tick()
            usleep(1000)
            for datagram in browser.drain() { browser.hear(datagram) }
        }
        #expect(session.leg.counters.unauthenticated == 0 && session.leg.counters.received >= 95)
        #expect(member.isTalking, "the RFC 6464 level made the browser a talker")
        let browserHeard = Array(browser.heard.suffix(48_000))
        let phoneHeard = Array(phone.heard.suffix(48_000))
        #expect(browserHeard.count >= 40_000 && phoneHeard.count >= 40_000)
        #expect(Tone.relativePower(of: 1000, in: browserHeard[...], sampleRate: 48_000) > -6, "the browser hears the phone")
        #expect(Tone.relativePower(of: 440, in: browserHeard[...], sampleRate: 48_000) < -30, "and not itself")
        #expect(Tone.relativePower(of: 440, in: phoneHeard[...], sampleRate: 48_000) > -6, "the phone hears the browser")

        // Garbage and replays on the shared port change nothing.
        for junk: [UInt8] in [[0x00, 0x01, 0x00, 0x00], [22, 0xFE, 0xFD, 1, 2], [0x80, 111, 0, 1], Array(repeating: 0x80, count: 200)] {
            browser.send(junk)
        }
        port.drain(now: 0)
        #expect(session.established)
    }
}

@Suite struct ICERestartTests {
    /// A browser that changed networks: it restarts ICE with new credentials from a new address; the
    /// DTLS association and SRTP keys stay, and media moves to the new address.
    @Test func mediaMovesToTheNewAddressAfterAnICERestart() throws {
        let context = try DTLSContext()
        let port = try WebRTCPort(address: "127.0.0.1", port: 0, context: context)
        let browser = try LoopbackBrowser()
        let session = try WebRTCSession(offer: AudioOffer(parsing: browser.offer), context: context, socket: port.sockets[0])
        port.add(session)
        let conference = Conference(name: "r", profile: { var p = ConferenceProfile(); p.announceAlone = false; return p }())
        session.leg.member = try conference.join(name: "b", input: .opus, sink: session.leg)
        var answer = try AudioOffer(parsing: session.answer(addresses: port.addresses, fingerprint: context.fingerprint, sessionID: 1))
        browser.server = SocketAddress(host: "127.0.0.1", port: answer.port)
        func check(from socket: UDPSocket, credentials: ICECredentials, answer: AudioOffer) {
            let request = STUNMessage.bindingRequest(
                transactionID: (0..<12).map { _ in UInt8.random(in: 0...255) },
                username: "\(answer.iceUsernameFragment):\(credentials.usernameFragment)", password: answer.icePassword,
                priority: 1, tieBreaker: 1, useCandidate: true)
            _ = request.withUnsafeBytes { socket.send($0, to: port.addresses[0]) }
            usleep(2000)
            port.drain(now: 0)
        }
        check(from: browser.socket, credentials: browser.ice, answer: answer)
        let dtls = try #require(DTLSTransport(context: browser.identity, isServer: false, expectedFingerprint: context.fingerprint))
        for datagram in dtls.start() { browser.send(datagram) }
        for _ in 0..<20 where !(session.established && dtls.state == .connected) {
            usleep(2000)
            port.drain(now: 0)
            usleep(2000)
            for datagram in browser.drain() where datagram.first.map({ $0 >= 20 && $0 <= 63 }) == true {
                for reply in datagram.withUnsafeBytes({ dtls.receive($0) }) { browser.send(reply) }
            }
        }
        #expect(session.established)
        #expect(session.leg.remote == browser.socket.address)

        // The restart: new credentials in a new offer (same certificate), from a new socket.
        let moved = try UDPSocket(address: "127.0.0.1", port: 0)
        let fresh = ICECredentials.random()
        let restartOffer = browser.offer
            .replacingOccurrences(of: browser.ice.usernameFragment, with: fresh.usernameFragment)
            .replacingOccurrences(of: browser.ice.password, with: fresh.password)
        let previous = session.ice.local.usernameFragment
        try session.restartICE(offer: AudioOffer(parsing: restartOffer), now: 0)
        port.reindex(session, previousFragment: previous)
        answer = try AudioOffer(parsing: session.answer(addresses: port.addresses, fingerprint: context.fingerprint, sessionID: 1))
        #expect(answer.iceUsernameFragment != previous && answer.fingerprint.hasSuffix(context.fingerprint))
        let unroutable = port.unroutable
        check(from: moved, credentials: browser.ice, answer: answer.with(ufrag: previous, password: answer.icePassword))
        #expect(port.unroutable == unroutable + 1, "the old username no longer reaches the session")
        check(from: moved, credentials: fresh, answer: answer)
        #expect(session.leg.remote == moved.address, "media follows the new nomination")
        #expect(session.established, "DTLS and SRTP carry on")
        // A different certificate would need a new DTLS handshake: refused.
        let impostor = try DTLSContext()
        #expect(throws: WebRTCSession.SetupError.fingerprintChanged) {
            try session.restartICE(offer: AudioOffer(parsing: restartOffer.replacingOccurrences(
                of: browser.identity.fingerprint, with: impostor.fingerprint)), now: 0)
        }
    }
}

extension AudioOffer {
    fileprivate func with(ufrag: String, password: String) -> AudioOffer {
        var copy = self
        copy.iceUsernameFragment = ufrag
        copy.icePassword = password
        return copy
    }
}

@Suite struct AnswerDirectionTests {
    /// Browsers offer c=0.0.0.0 (ICE carries the addresses): that is no hold; a listen-only offer gets sendonly.
    @Test func theAnswerMirrorsTheOffersDirection() throws {
        let browser = try LoopbackBrowser()
        let context = try DTLSContext()
        let port = try WebRTCPort(address: "127.0.0.1", port: 0, context: context)
        for (offered, answered) in [("sendrecv", "sendrecv"), ("recvonly", "sendonly"), ("sendonly", "recvonly"), ("inactive", "inactive")] {
            let offer = try AudioOffer(parsing: browser.offer.replacingOccurrences(of: "a=sendrecv", with: "a=\(offered)"))
            let session = try WebRTCSession(offer: offer, context: context, socket: port.sockets[0])
            let answer = session.answer(addresses: port.addresses, fingerprint: context.fingerprint, sessionID: 1)
            #expect(answer.contains("a=\(answered)\r\n"), "\(offered) → \(answered)")
        }
    }
}

@Suite struct SocketAddressTests {
    @Test func parsesBothFamiliesAndPrintsThemAsSDPWrites() throws {
        let v4 = try #require(SocketAddress(host: "10.77.0.1", port: 40_000))
        #expect(v4.isIPv4 && v4.ipv4 == 0x0A4D_0001 && v4.host == "10.77.0.1" && v4.sdpAddressType == "IP4")
        #expect(v4.description == "10.77.0.1:40000")
        let v6 = try #require(SocketAddress(host: "[fd77::1]", port: 40_000))
        #expect(!v6.isIPv4 && v6.host == "fd77::1" && v6.sdpAddressType == "IP6" && v6.description == "[fd77::1]:40000")
        #expect(SocketAddress(host: "::ffff:10.77.0.1", port: 40_000) == v4, "an IPv4-mapped address is the IPv4 address")
        #expect(SocketAddress(host: "example.org", port: 1) == nil && SocketAddress(host: "10.0.0.256", port: 1) == nil)
        #expect(SocketAddress(v6.sockaddrIn6) == v6 && v4.sockaddrIn.map(SocketAddress.init) == v4 && v6.sockaddrIn == nil)
    }

    @Test func theSharedPortListensOnIPv4AndIPv6WithOnePortNumber() throws {
        let port = try WebRTCPort(addresses: ["127.0.0.1", "::1"], port: 0, context: DTLSContext())
        #expect(port.addresses.map(\.host) == ["127.0.0.1", "::1"])
        #expect(port.addresses[0].port == port.addresses[1].port)
        for (index, host) in ["127.0.0.1", "::1"].enumerated() {
            let client = try UDPSocket(address: host, port: 0)
            let probe: [UInt8] = [1, 2, 3]
            #expect(probe.withUnsafeBytes { client.send($0, to: port.addresses[index]) })
            usleep(2000)
            var source = SocketAddress(ipv4: 0, port: 0)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
            defer { buffer.deallocate() }
            #expect(port.sockets[index].receive(into: buffer, from: &source) == 3)
            #expect(source == client.address, "the source is the client's own address and family")
        }
    }
}
