#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking IPv4 UDP socket for one media leg. The media loop drains it once per tick (a packet
/// can only be played at a tick anyway, so reading then adds no latency) and sends from the tick.
public final class UDPSocket {
    public let fd: Int32
    public let port: UInt16

    public enum Failure: Error, Equatable, Sendable { case socket(Int32), bind(Int32), badAddress(String) }

    /// Binds `address:port`; port 0 picks a free one.
    public init(address: String, port: UInt16) throws(Failure) {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw .socket(errno) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else {
            close(fd)
            throw .badAddress(address)
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let error = errno
            close(fd)
            throw .bind(error)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = UInt16(bigEndian: actual.sin_port)
    }

    deinit { close(fd) }

    /// Receives one datagram if one is waiting; returns its length (nil when none).
    public func receive(into buffer: UnsafeMutableRawBufferPointer, from source: inout sockaddr_in) -> Int? {
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = withUnsafeMutablePointer(to: &source) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length) }
        }
        return n >= 0 ? n : nil
    }

    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, to destination: sockaddr_in) -> Bool {
        var destination = destination
        let n = withUnsafePointer(to: &destination) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return n == bytes.count
    }

    public static func address(_ host: String, port: UInt16) -> sockaddr_in? {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { return nil }
        return addr
    }
}

extension sockaddr_in {
    public var hostAndPort: String {
        var copy = sin_addr
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &copy, &text, socklen_t(INET_ADDRSTRLEN))
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(host):\(UInt16(bigEndian: sin_port))"
    }

    public func sameEndpoint(as other: sockaddr_in) -> Bool {
        sin_addr.s_addr == other.sin_addr.s_addr && sin_port == other.sin_port
    }
}
