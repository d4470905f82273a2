#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address and port, held as an IPv6 socket address (IPv4 as `::ffff:a.b.c.d`,
/// RFC 4291 §2.5.5.2) so one value type and one dual-stack socket serve both families. Hashable and
/// compared by address and port only, so it can key the routing tables of the shared media port.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address in network byte order, 16 bytes as two words (high, low).
    public private(set) var high: UInt64
    public private(set) var low: UInt64
    public var port: UInt16

    static let mappedPrefix: UInt64 = 0x0000_FFFF

    /// A numeric host (`10.0.0.1`, `2001:db8::1`, `[2001:db8::1]`) and a port; nil for anything else
    /// (no DNS: media addresses come from SDP and configuration).
    public init?(host: String, port: UInt16) {
        var text = host
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(ipv4: UInt32(bigEndian: v4.s_addr), port: port)
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            self.init(in6: v6, port: port)
        } else {
            return nil
        }
    }

    /// 16 address bytes in network order as two words.
    public init(high: UInt64, low: UInt64, port: UInt16) {
        self.high = high
        self.low = low
        self.port = port
    }

    /// An IPv4 address in host byte order.
    public init(ipv4: UInt32, port: UInt16) {
        high = 0
        low = Self.mappedPrefix << 32 | UInt64(ipv4)
        self.port = port
    }

    init(in6 address: in6_addr, port: UInt16) {
        var copy = address
        let (high, low) = withUnsafeBytes(of: &copy) { raw -> (UInt64, UInt64) in
            var h: UInt64 = 0
            var l: UInt64 = 0
            for i in 0..<8 { h = h << 8 | UInt64(raw[i]) }
            for i in 8..<16 { l = l << 8 | UInt64(raw[i]) }
            return (h, l)
        }
        self.high = high
        self.low = low
        self.port = port
    }

    public init(_ address: sockaddr_in6) {
        self.init(in6: address.sin6_addr, port: UInt16(bigEndian: address.sin6_port))
    }

    public init(_ address: sockaddr_in) {
        self.init(ipv4: UInt32(bigEndian: address.sin_addr.s_addr), port: UInt16(bigEndian: address.sin_port))
    }

    public var isIPv4: Bool { high == 0 && low >> 32 == Self.mappedPrefix }

    /// The IPv4 address in host byte order, for an IPv4 address.
    public var ipv4: UInt32? { isIPv4 ? UInt32(truncatingIfNeeded: low) : nil }

    public var in6: in6_addr {
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { raw in
            for i in 0..<8 { raw[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i))) }
            for i in 0..<8 { raw[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i))) }
        }
        return address
    }

    public var sockaddrIn6: sockaddr_in6 {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        address.sin6_addr = in6
        return address
    }

    public var sockaddrIn: sockaddr_in? {
        guard let ipv4 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = ipv4.bigEndian
        return address
    }

    /// The address alone, as SDP writes it (RFC 8866 §5.7: `IN IP4 a.b.c.d` or `IN IP6 x::y`).
    public var host: String {
        if let ipv4 { return "\(ipv4 >> 24).\(ipv4 >> 16 & 0xFF).\(ipv4 >> 8 & 0xFF).\(ipv4 & 0xFF)" }
        var address = in6
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &address, &text, socklen_t(INET6_ADDRSTRLEN))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `SDP address type` for c= and candidate lines.
    public var sdpAddressType: String { isIPv4 ? "IP4" : "IP6" }

    /// Whether media may be sent here at all: not unspecified (0.0.0.0, ::), not multicast
    /// (224.0.0.0/4, ff00::/8, RFC 5771 and RFC 4291 §2.7), not the limited broadcast address
    /// 255.255.255.255, not port 0. A datagram to any of those reaches either nobody or many.
    public var isUnicastDestination: Bool {
        guard port != 0 else { return false }
        if let v4 = ipv4 { return v4 != 0 && v4 >> 28 != 0xE && v4 != 0xFFFF_FFFF }
        return !(high == 0 && low == 0) && high >> 56 != 0xFF
    }

    public var description: String { isIPv4 ? "\(host):\(port)" : "[\(host)]:\(port)" }

    /// The same address with another port (RTCP on RTP + 1, RFC 3550 §11).
    public func with(port: UInt16) -> SocketAddress {
        var copy = self
        copy.port = port
        return copy
    }
}
