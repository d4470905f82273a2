import PlenumBridge
import PlenumMedia
import PlenumSDP
import Testing

@testable import PlenumSIP

/// Issue 11, RTP reflection: an offer decides nothing about where media goes but a numeric unicast
/// hint, and a latching leg sends only to where media came from.
@Suite struct MediaDestinationTests {
    static func offer(address: String, port: String = "30000") -> String {
        "v=0\r\no=- 1 1 IN IP4 10.77.0.2\r\ns=-\r\nc=IN IP4 \(address)\r\nt=0 0\r\nm=audio \(port) RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    }

    @Test func refusesAddressesThatReachNobodyOrMany() throws {
        for address in ["255.255.255.255", "224.0.0.1", "239.255.255.250", "phone.invalid-host.example"] {
            let offer = try AudioOffer(parsing: Self.offer(address: address))
            #expect(throws: SIPCallManager.RefusedDestination.self) { try SIPCallManager.mediaDestination(of: offer).get() }
        }
        let unicast = try AudioOffer(parsing: Self.offer(address: "10.77.0.2"))
        #expect(try SIPCallManager.mediaDestination(of: unicast).get() == SocketAddress(host: "10.77.0.2", port: 30000))
        // The old hold form names no destination at all.
        let hold = try AudioOffer(parsing: Self.offer(address: "0.0.0.0"))
        #expect(try SIPCallManager.mediaDestination(of: hold).get() == nil)
    }

    @Test func refusesPortsOutOfRange() {
        for port in ["65536", "99999999999"] {
            #expect(throws: AudioOffer.ParseError.self) { try AudioOffer(parsing: Self.offer(address: "10.77.0.2", port: port)) }
        }
    }

    /// Found by fuzzing: sofia's SDP parser never returns for a non-ASCII byte after a "/" in the
    /// m= line's transport; such an offer (from a phone or a browser) is refused before it gets there.
    @Test func aMalformedMediaLineIsRefusedNotParsedForever() {
        for line in ["m=audio 9 RTP/\u{E4} 0", "m=audio 8 UDP/TLS/RTP)/SAVPF 111 0", "m=audio 9 X/Y \"", "m=audio 9  RTP/AVP 0",
                     "m=audio 9 RTP//AVP 0", "m=audio x RTP/AVP 0", "m=audio 9 RTP/AVP", "\rm=audio 9 X/Y \"", " m=audio 9 X/Y \""] {
            #expect(throws: AudioOffer.ParseError.self, "\(line)") {
                try AudioOffer(parsing: "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n\(line)\r\n")
            }
        }
        // Text fields may be UTF-8 (RFC 8866 §5.3) and still parse.
        #expect(throws: Never.self) {
            try AudioOffer(parsing: "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=Müller\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n")
        }
    }

    @Test func unicastClassification() throws {
        let cases: [(String, Bool)] = [
            ("10.0.0.1", true), ("0.0.0.0", false), ("224.0.0.1", false), ("255.255.255.255", false),
            ("2001:db8::1", true), ("::", false), ("ff02::1", false),
        ]
        for (host, unicast) in cases {
            #expect(try #require(SocketAddress(host: host, port: 4000)).isUnicastDestination == unicast, "\(host)")
        }
        #expect(try #require(SocketAddress(host: "10.0.0.1", port: 0)).isUnicastDestination == false)
    }

    /// Records what a leg sends: a local socket stands in for the SDP's address and another for the
    /// real source of the caller's media.
    @Test func aLatchingLegSendsOnlyToWhereMediaCameFrom() throws {
        let server = try UDPSocket(address: "127.0.0.1", port: 0)
        let named = try UDPSocket(address: "127.0.0.1", port: 0)
        let caller = try UDPSocket(address: "127.0.0.1", port: 0)
        let leg = RTPLeg(socket: server, codecs: .init(payloadType: 0, codec: .pcmu), remote: named.address)
        let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: 160, alignment: 8)
        defer { payload.deallocate() }
        payload.initializeMemory(as: UInt8.self, repeating: 0xFF)
        let frame = EncodedFrame(payload: UnsafeRawBufferPointer(payload), codec: .pcmu, tick: 1, isShared: true)
        leg.deliver(frame)
        #expect(leg.counters.sent == 0, "nothing goes to the SDP's address before media arrives")
        // The caller sends one PCMU packet from its own socket.
        var packet = [UInt8](repeating: 0xFF, count: 12 + 160)
        packet[0] = 0x80
        packet[1] = 0
        packet.withUnsafeBytes { _ = caller.send($0, to: server.address) }
        var waited = 0
        while leg.counters.received == 0, waited < 1000 {
            leg.drain()
            waited += 1
        }
        #expect(leg.counters.received == 1)
        leg.deliver(frame)
        #expect(leg.counters.sent == 1)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
        defer { buffer.deallocate() }
        var source = SocketAddress(ipv4: 0, port: 0)
        var got: Int?
        for _ in 0..<1000 where got == nil { got = caller.receive(into: buffer, from: &source) }
        #expect(got == 12 + frame.payload.count)
        #expect(named.receive(into: buffer, from: &source) == nil, "the SDP's address got nothing")
    }
}

@Suite struct DisplayNameTests {
    @Test func cleansWhatPeopleAndPhonesSupply() {
        #expect(DisplayName.clean("\u{0}Ev\u{7}e\u{202E}gpj.exe\u{200B} ") == "Evegpj.exe")
        #expect(DisplayName.clean("\"Carla Phone\"") == "Carla Phone")
        #expect(DisplayName.clean("\"Say \\\"hi\\\"\"") == "Say \"hi\"")
        #expect(DisplayName.clean("  \n\t ") == nil)
        #expect(DisplayName.clean(String(repeating: "a", count: 100))?.count == DisplayName.maxLength)
        #expect(DisplayName.clean("Jürgen Müller-Lüdenscheidt") == "Jürgen Müller-Lüdenscheidt")
        #expect(DisplayName.clean("山田 太郎") == "山田 太郎")
    }

    @Test func logTagsHideAddressesButStayStable() {
        let tag = LogPrivacy.tag("10.77.0.2")
        #expect(!tag.contains("10.77") && tag == LogPrivacy.tag("10.77.0.2") && tag != LogPrivacy.tag("10.77.0.3"))
    }
}
