import CPlenumSofia
import Foundation

/// A whole SDP offer with every media description (RFC 8866), as a browser sends it for a BUNDLEd
/// peer connection (RFC 8843, RFC 8829): audio, cameras, screens, each an m-line with its mid,
/// direction, codecs with their feedback, header extensions, SSRCs and simulcast rids. sofia-sip
/// parses the text (`plenum_sdp_walk`); this reads its lines into values, one kind of attribute at a
/// time. `AudioOffer` stays the phones' (first audio stream only).
public struct SessionDescription: Sendable, Equatable {
    public struct Attribute: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    public enum Direction: String, Sendable, Equatable {
        case sendrecv, sendonly, recvonly, inactive

        /// The answer's direction for an offer's (RFC 3264 §6.1), given what we would do.
        public func answer(weSend: Bool, weReceive: Bool) -> Direction {
            let send = weSend && (self == .sendrecv || self == .recvonly)
            let receive = weReceive && (self == .sendrecv || self == .sendonly)
            switch (send, receive) {
            case (true, true): return .sendrecv
            case (true, false): return .sendonly
            case (false, true): return .recvonly
            case (false, false): return .inactive
            }
        }
    }

    /// A codec of an m-line: its rtpmap with its fmtp and rtcp-fb lines.
    public struct Codec: Sendable, Equatable {
        public var payloadType: UInt8
        public var name: String
        public var clockRate: Int
        public var channels: Int
        public var parameters: String
        public var feedback: [String]

        /// For RTX (RFC 4588): the payload type it repairs (`apt=`).
        public var associatedPayloadType: UInt8? {
            guard name.lowercased() == "rtx" else { return nil }
            return Self.parameter("apt", in: parameters).flatMap { UInt8($0) }
        }

        /// A `key=value` of an fmtp line.
        public static func parameter(_ key: String, in parameters: String) -> String? {
            for pair in parameters.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, parts[0].lowercased() == key { return parts[1] }
            }
            return nil
        }
    }

    public struct Media: Sendable, Equatable {
        /// "audio", "video", "application", …
        public var kind: String
        /// 0: rejected or disabled.
        public var port: UInt16
        public var transport: String
        public var formats: [String]
        public var direction: Direction = .sendrecv
        public var attributes: [Attribute] = []

        public func values(_ name: String) -> [String] { attributes.filter { $0.name.lowercased() == name }.map(\.value) }
        public func value(_ name: String) -> String? { values(name).first }
        public func has(_ name: String) -> Bool { attributes.contains { $0.name.lowercased() == name } }

        public var mid: String? { value("mid") }

        /// The codecs in the m-line's order of preference.
        public var codecs: [Codec] {
            var byType: [UInt8: Codec] = [:]
            for map in values("rtpmap") {
                // "96 VP8/90000", "111 opus/48000/2"
                let parts = map.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, let pt = UInt8(parts[0]), pt < 128 else { continue }
                let encoding = parts[1].split(separator: "/")
                guard let name = encoding.first, encoding.count >= 2, let rate = Int(encoding[1]) else { continue }
                byType[pt] = Codec(payloadType: pt, name: String(name), clockRate: rate,
                                   channels: encoding.count > 2 ? Int(encoding[2]) ?? 1 : 1, parameters: "", feedback: [])
            }
            for (name, apply) in [("fmtp", true), ("rtcp-fb", false)] {
                for line in values(name) {
                    let parts = line.split(separator: " ", maxSplits: 1)
                    guard parts.count == 2, let pt = UInt8(parts[0]), byType[pt] != nil else { continue }
                    if apply { byType[pt]?.parameters = String(parts[1]) } else { byType[pt]?.feedback.append(String(parts[1])) }
                }
            }
            return formats.compactMap { UInt8($0).flatMap { byType[$0] } }
        }

        /// Header extensions by URI (RFC 8285): id for each.
        public var extensions: [String: UInt8] {
            var out: [String: UInt8] = [:]
            for line in values("extmap") {
                let parts = line.split(separator: " ")
                guard parts.count >= 2, let id = UInt8(parts[0].split(separator: "/")[0]), (1...14).contains(id) else { continue }
                out[String(parts[1])] = id
            }
            return out
        }

        /// The SSRCs the sender announces (RFC 5576), in order, and the FID groups (media, RTX).
        public var ssrcs: [UInt32] {
            var seen: [UInt32] = []
            for line in values("ssrc") {
                guard let id = line.split(separator: " ").first.flatMap({ UInt32($0) }), !seen.contains(id) else { continue }
                seen.append(id)
            }
            return seen
        }

        public var retransmissionGroups: [(media: UInt32, repair: UInt32)] {
            values("ssrc-group").compactMap { line in
                let parts = line.split(separator: " ")
                guard parts.count == 3, parts[0] == "FID", let media = UInt32(parts[1]), let repair = UInt32(parts[2]) else { return nil }
                return (media, repair)
            }
        }

        /// Simulcast rids the browser sends (RFC 8851, RFC 8853): "q", "h", "f".
        public var sendRIDs: [String] {
            values("rid").compactMap { line in
                let parts = line.split(separator: " ")
                return parts.count >= 2 && parts[1] == "send" ? String(parts[0]) : nil
            }
        }

        /// The track's `msid` (RFC 8830): stream and track id.
        public var msid: String? { value("msid") }
    }

    public var attributes: [Attribute] = []
    public var media: [Media] = []

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public init(parsing sdp: String) throws(ParseError) {
        final class Builder {
            var session: [Attribute] = []
            var media: [Media] = []
            var malformed: String?
        }
        let builder = Builder()
        var error = [CChar](repeating: 0, count: 256)
        let bytes = Array(sdp.utf8)
        let status = withExtendedLifetime(builder) {
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { text in
                    plenum_sdp_walk(text.baseAddress, text.count, { context, index, name, value in
                        guard let context else { return }
                        let builder = Unmanaged<Builder>.fromOpaque(context).takeUnretainedValue()
                        let value = value.map { String(cString: $0) } ?? ""
                        guard let name else {
                            // "<kind> <port> <proto> <fmt>…"
                            let fields = value.split(separator: " ").map(String.init)
                            guard fields.count >= 3, let port = UInt16(fields[1]) else {
                                builder.malformed = "malformed media line"
                                return
                            }
                            builder.media.append(Media(kind: fields[0].lowercased(), port: port, transport: fields[2],
                                                       formats: Array(fields.dropFirst(3))))
                            return
                        }
                        let attribute = Attribute(name: String(cString: name), value: value)
                        if index < 0 {
                            builder.session.append(attribute)
                        } else if Int(index) == builder.media.count - 1 {
                            if let direction = Direction(rawValue: attribute.name.lowercased()) {
                                builder.media[Int(index)].direction = direction
                            } else {
                                builder.media[Int(index)].attributes.append(attribute)
                            }
                        }
                    }, Unmanaged.passUnretained(builder).toOpaque(), &error, error.count)
                }
            }
        }
        guard status == 0 else {
            throw ParseError(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        if let malformed = builder.malformed { throw ParseError(description: malformed) }
        attributes = builder.session
        media = builder.media
    }

    /// A session-level attribute.
    public func value(_ name: String) -> String? { attributes.first { $0.name.lowercased() == name }?.value }

    /// An attribute of `media` or, failing that, of the session (ICE and DTLS may be at either level).
    public func value(_ name: String, of media: Media) -> String? {
        media.value(name) ?? value(name)
    }

    /// The mids of the first BUNDLE group (RFC 8843 §7).
    public var bundle: [String] {
        for line in attributes where line.name.lowercased() == "group" {
            let parts = line.value.split(separator: " ").map(String.init)
            if parts.first == "BUNDLE" { return Array(parts.dropFirst()) }
        }
        return []
    }
}
