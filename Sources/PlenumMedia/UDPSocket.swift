#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking UDP socket for media, IPv4 or IPv6. The media loop drains it once per tick (a packet
/// can only be played at a tick anyway, so reading then adds no latency) and sends from the tick.
///
/// It is an IPv6 socket with IPV6_V6ONLY off (RFC 3493 §5.3) wherever the kernel has IPv6, so an IPv4
/// address binds as `::ffff:a.b.c.d` and every peer arrives as one `SocketAddress` type; on a kernel
/// without IPv6 an IPv4 socket takes its place.
public final class UDPSocket {
    public let fd: Int32
    public let port: UInt16
    /// The bound address (with the actual port).
    public let address: SocketAddress
    private let isIPv6Socket: Bool

    public enum Failure: Error, Equatable, Sendable { case socket(Int32), bind(Int32), badAddress(String) }

    /// Binds `address:port` (a numeric IPv4 or IPv6 address); port 0 picks a free one.
    public init(address host: String, port: UInt16) throws(Failure) {
        guard let requested = SocketAddress(host: host, port: port) else { throw .badAddress(host) }
        var fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        var isIPv6Socket = true
        if fd < 0 {
            guard requested.isIPv4 else { throw .socket(errno) }
            fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            isIPv6Socket = false
            guard fd >= 0 else { throw .socket(errno) }
        }
        var bound: Int32
        if isIPv6Socket {
            var off: Int32 = 0
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
            var addr = requested.sockaddrIn6
            bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var addr = requested.sockaddrIn ?? sockaddr_in()
            bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard bound == 0 else {
            let error = errno
            close(fd)
            throw .bind(error)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var actual = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.isIPv6Socket = isIPv6Socket
        let actualPort = isIPv6Socket
            ? UInt16(bigEndian: actual.sin6_port)
            : withUnsafeBytes(of: &actual) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
        self.port = actualPort
        self.address = requested.with(port: actualPort)
    }

    deinit { close(fd) }

    /// Receives one datagram if one is waiting; returns its length (nil when none).
    public func receive(into buffer: UnsafeMutableRawBufferPointer, from source: inout SocketAddress) -> Int? {
        var raw = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let n = withUnsafeMutablePointer(to: &raw) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length) }
        }
        guard n >= 0 else { return nil }
        if Int32(raw.sin6_family) == AF_INET6 {
            source = SocketAddress(raw)
        } else {
            source = withUnsafeBytes(of: &raw) { SocketAddress($0.load(as: sockaddr_in.self)) }
        }
        return n
    }

    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress) -> Bool {
        let n: Int
        if isIPv6Socket {
            var address = destination.sockaddrIn6
            n = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            guard var address = destination.sockaddrIn else { return false }
            n = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        return n == bytes.count
    }
}
