import CPlenumSofia
import PlenumAudio

/// The audio stream of an SDP offer (RFC 4566), read with sofia-sip's parser.
public struct AudioOffer: Sendable, Equatable {
    public struct Format: Sendable, Equatable {
        public var payloadType: UInt8
        public var encoding: String
        public var clockRate: Int
        public var channels: Int
        public var parameters: String
    }
    public enum Direction: Sendable, Equatable { case sendrecv, sendonly, recvonly, inactive }

    public var address: String
    public var port: UInt16
    public var transport: String
    public var direction: Direction
    public var packetTime: Int?
    public var formats: [Format]
    /// The a=crypto attribute values (RFC 4568).
    public var crypto: [String]
    /// WebRTC: ICE credentials, DTLS fingerprint ("sha-256 AB:…") and role, mid, RTCP multiplexing and the
    /// RFC 6464 extension id.
    public var iceUsernameFragment: String
    public var icePassword: String
    public var fingerprint: String
    public var setup: String
    public var mid: String
    public var rtcpMux: Bool
    public var audioLevelExtension: UInt8?

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public init(parsing sdp: String) throws(ParseError) {
        var audio = plenum_sdp_audio()
        var error = [CChar](repeating: 0, count: 256)
        let bytes = Array(sdp.utf8)
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { plenum_sdp_parse_audio($0.baseAddress, $0.count, &audio, &error, error.count) }
        }
        guard status == 0 else {
            throw ParseError(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        address = Self.text(&audio.address)
        port = UInt16(clamping: audio.port)
        transport = Self.text(&audio.protocol)
        switch audio.direction {
        case Int32(PLENUM_SDP_SENDONLY.rawValue): direction = .sendonly
        case Int32(PLENUM_SDP_RECVONLY.rawValue): direction = .recvonly
        case Int32(PLENUM_SDP_INACTIVE.rawValue): direction = .inactive
        default: direction = .sendrecv
        }
        packetTime = audio.ptime > 0 ? Int(audio.ptime) : nil
        var formats: [Format] = []
        withUnsafeMutableBytes(of: &audio.formats) { raw in
            let list = raw.bindMemory(to: plenum_sdp_format.self)
            for i in 0..<Int(audio.format_count) {
                var f = list[i]
                formats.append(Format(
                    payloadType: UInt8(clamping: f.payload_type), encoding: Self.text(&f.encoding), clockRate: Int(f.clock_rate),
                    channels: Int(f.channels), parameters: Self.text(&f.parameters)))
            }
        }
        self.formats = formats
        crypto = Self.text(&audio.crypto).split(separator: "\n").map(String.init)
        iceUsernameFragment = Self.text(&audio.ice_ufrag)
        icePassword = Self.text(&audio.ice_pwd)
        fingerprint = Self.text(&audio.fingerprint)
        setup = Self.text(&audio.setup)
        mid = Self.text(&audio.mid)
        rtcpMux = audio.rtcp_mux != 0
        audioLevelExtension = (1...14).contains(audio.audio_level_extension) ? UInt8(audio.audio_level_extension) : nil
        // c=0.0.0.0 is the old way of putting a call on hold (RFC 3264 §8.4), but with ICE it is only
        // the default address of an offer whose candidates come separately (RFC 8839 §4.2.5).
        if address == "0.0.0.0", iceUsernameFragment.isEmpty { direction = .inactive }
    }

    private static func text<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// Codec choice and the answer (RFC 3264): our preference among what the phone offers.
public struct Negotiation: Sendable, Equatable {
    public var payloadType: UInt8
    public var codec: CodecConfiguration
    public var encodingName: String
    public var clockRate: Int
    public var channels: Int
    public var telephoneEvent: UInt8?
    public var telephoneEventRate: Int
    /// SDES-SRTP: the phone's key (what it sends with) and ours (what we send with).
    public var remoteCrypto: SDESCrypto?
    public var localCrypto: SDESCrypto?

    /// Wideband first: Opus, then G.722, then G.711 µ-law and A-law.
    public static func choose(from offer: AudioOffer) -> Negotiation? {
        let preference: [(String, Int, CodecConfiguration)] = [
            ("opus", 48_000, .opus), ("g722", 8000, .g722), ("pcmu", 8000, .pcmu), ("pcma", 8000, .pcma),
        ]
        for (name, rate, codec) in preference {
            guard let format = offer.formats.first(where: { $0.encoding.lowercased() == name && $0.clockRate == rate }) else { continue }
            let events = offer.formats.first { $0.encoding.lowercased() == "telephone-event" && $0.clockRate == rate }
                ?? offer.formats.first { $0.encoding.lowercased() == "telephone-event" }
            return Negotiation(
                payloadType: format.payloadType, codec: codec, encodingName: format.encoding, clockRate: rate,
                channels: format.channels, telephoneEvent: events?.payloadType, telephoneEventRate: events?.clockRate ?? 8000,
                remoteCrypto: nil, localCrypto: nil)
        }
        return nil
    }

    /// The SDP answer for our address and port, mirroring the offer's direction (RFC 3264 §6.1).
    public func answer(address: String, port: UInt16, sessionID: UInt64, version: UInt64, direction: AudioOffer.Direction) -> String {
        var formats = "\(payloadType)"
        if let telephoneEvent { formats += " \(telephoneEvent)" }
        let family = address.contains(":") ? "IP6" : "IP4"  // RFC 8866 §5.7
        var lines = [
            "v=0", "o=plenum \(sessionID) \(version) IN \(family) \(address)", "s=Plenum", "c=IN \(family) \(address)", "t=0 0",
            "m=audio \(port) \(localCrypto == nil ? "RTP/AVP" : "RTP/SAVP") \(formats)",
            "a=rtpmap:\(payloadType) \(encodingName)/\(clockRate)\(channels > 1 ? "/\(channels)" : "")",
        ]
        if codec.kind == .opus { lines.append("a=fmtp:\(payloadType) useinbandfec=1;minptime=10") }
        if let telephoneEvent {
            lines.append("a=rtpmap:\(telephoneEvent) telephone-event/\(telephoneEventRate)")
            lines.append("a=fmtp:\(telephoneEvent) 0-15")
        }
        if let localCrypto { lines.append("a=crypto:\(localCrypto.attribute)") }
        lines.append("a=ptime:20")
        switch direction {
        case .sendrecv: lines.append("a=sendrecv")
        case .sendonly: lines.append("a=recvonly")
        case .recvonly: lines.append("a=sendonly")
        case .inactive: lines.append("a=inactive")
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
