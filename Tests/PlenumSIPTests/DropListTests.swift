import CPlenumSofia
import Foundation
import PlenumMedia
import Testing

/// Issue 11, floods: a flooding source's datagrams are dropped by the kernel (a BPF socket filter)
/// before sofia would keep a transaction for each. Real sockets on loopback: every 127/8 address is
/// local, so three senders can be three sources.
@Suite struct DropListTests {
    /// Sends one datagram from each sender in order and returns the source of the first that arrives.
    /// Loopback delivers within `sendto`, so a datagram sent earlier and not dropped would be first.
    static func firstArrival(at receiver: UDPSocket, from senders: [UDPSocket]) throws -> SocketAddress {
        let payload: [UInt8] = [1, 2, 3]
        for sender in senders { payload.withUnsafeBytes { _ = sender.send($0, to: receiver.address) } }
        var buffer = [UInt8](repeating: 0, count: 64)
        var source = SocketAddress(ipv4: 0, port: 0)
        var pollSet = pollfd(fd: receiver.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pollSet, 1, 5000) == 1)
        let length = buffer.withUnsafeMutableBytes { receiver.receive(into: $0, from: &source) }
        #expect(length == 3)
        return source
    }

    static func drain(_ socket: UDPSocket) {
        var buffer = [UInt8](repeating: 0, count: 64)
        var source = SocketAddress(ipv4: 0, port: 0)
        while buffer.withUnsafeMutableBytes({ socket.receive(into: $0, from: &source) }) != nil {}
    }

    @Test func dropsListedSourcesUntilReleased() throws {
        let receiver = try UDPSocket(address: "127.0.0.1", port: 0)
        let flooder = try UDPSocket(address: "127.0.0.2", port: 0)
        let caller = try UDPSocket(address: "127.0.0.3", port: 0)
        let list = try #require(plenum_drop_list_create())
        defer { plenum_drop_list_destroy(list) }
        #expect(plenum_drop_list_add_socket(list, receiver.fd) == 0)

        #expect(try Self.firstArrival(at: receiver, from: [flooder, caller]).host == "127.0.0.2")
        Self.drain(receiver)

        #expect(plenum_drop_list_drop(list, "127.0.0.2", 100) == 0)
        #expect(plenum_drop_list_drop(list, "127.0.0.2", 50) == 0)  // listed once, not shortened
        #expect(plenum_drop_list_count(list) == 1)
        #expect(try Self.firstArrival(at: receiver, from: [flooder, caller]).host == "127.0.0.3")
        Self.drain(receiver)

        plenum_drop_list_expire(list, 99)
        #expect(plenum_drop_list_count(list) == 1)
        plenum_drop_list_expire(list, 100)
        #expect(plenum_drop_list_count(list) == 0)
        #expect(try Self.firstArrival(at: receiver, from: [flooder, caller]).host == "127.0.0.2")
    }

    @Test func dropsIPv6SourcesOnADualStackSocket() throws {
        let receiver = try UDPSocket(address: "::", port: 0)
        let v6 = try UDPSocket(address: "::1", port: 0)
        let v4 = try UDPSocket(address: "127.0.0.3", port: 0)
        let list = try #require(plenum_drop_list_create())
        defer { plenum_drop_list_destroy(list) }
        #expect(plenum_drop_list_add_socket(list, receiver.fd) == 0)
        #expect(plenum_drop_list_drop(list, "::1", 10) == 0)
        #expect(plenum_drop_list_drop(list, "::2", 10) == 0)  // the same /64: the same entry
        #expect(plenum_drop_list_count(list) == 1)
        #expect(plenum_drop_list_drop(list, "10.9.9.9", 10) == 0)  // IPv4 entries beside it
        #expect(plenum_drop_list_drop(list, "not an address", 10) == -1)
        let payload: [UInt8] = [1, 2, 3]
        payload.withUnsafeBytes { _ = v6.send($0, to: SocketAddress(host: "::1", port: receiver.port)!) }
        payload.withUnsafeBytes { _ = v4.send($0, to: SocketAddress(host: "127.0.0.1", port: receiver.port)!) }
        var buffer = [UInt8](repeating: 0, count: 64)
        var source = SocketAddress(ipv4: 0, port: 0)
        var pollSet = pollfd(fd: receiver.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pollSet, 1, 5000) == 1)
        _ = buffer.withUnsafeMutableBytes { receiver.receive(into: $0, from: &source) }
        #expect(source.host == "127.0.0.3")
    }

    /// A full list makes room by releasing the entry due soonest, and the program stays valid (the
    /// kernel refuses a filter that takes too much of the socket's option memory).
    @Test func aFullListEvictsTheSoonestDue() throws {
        let receiver = try UDPSocket(address: "127.0.0.1", port: 0)
        let list = try #require(plenum_drop_list_create())
        defer { plenum_drop_list_destroy(list) }
        #expect(plenum_drop_list_add_socket(list, receiver.fd) == 0)
        for i in 0..<256 { #expect(plenum_drop_list_drop(list, "2001:db8:0:\(String(i, radix: 16))::1", Double(1000 + i)) == 0) }
        #expect(plenum_drop_list_drop(list, "127.0.0.2", 5000) == 0)
        #expect(plenum_drop_list_count(list) == 256)
        plenum_drop_list_expire(list, 1000)  // the first IPv6 entry, had it stayed, would go now
        #expect(plenum_drop_list_count(list) == 256)
        let flooder = try UDPSocket(address: "127.0.0.2", port: 0)
        let caller = try UDPSocket(address: "127.0.0.3", port: 0)
        #expect(try Self.firstArrival(at: receiver, from: [flooder, caller]).host == "127.0.0.3")
    }
}
