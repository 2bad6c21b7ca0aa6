// SPDX-License-Identifier: Apache-2.0
// The address of one end of a stream socket, read from the kernel (getsockname/getpeername), and the
// conversions to and from `sockaddr` that the server, the client and the peer lookup share.

import Glibc

/// One end of a stream socket.
public enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 (4 bytes) or IPv6 (16 bytes) address in network byte order, and the port in host order.
    case ip(address: [UInt8], port: UInt16)
    /// A Unix socket path; empty for an unnamed socket (a client that did not bind).
    case unix(path: String)

    public var description: String {
        switch self {
        case .ip(let address, let port) where address.count == 4:
            return address.map(String.init).joined(separator: ".") + ":\(port)"
        case .ip(let address, let port):
            return "[\(SocketAddress.ipv6String(address))]:\(port)"
        case .unix(let path):
            return path.isEmpty ? "unix:(unnamed)" : "unix:\(path)"
        }
    }

    /// The port of an IP address; nil for a Unix socket.
    public var port: UInt16? {
        if case .ip(_, let port) = self { return port }
        return nil
    }

    private static func ipv6String(_ bytes: [UInt8]) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes.prefix(16)) }
        guard inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension SocketAddress {
    /// Parses a numeric IPv4 or IPv6 host (no name resolution: the transport is loopback-only by design).
    package static func parse(host: String, port: UInt16) -> SocketAddress? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return .ip(address: withUnsafeBytes(of: &v4) { Array($0) }, port: port)
        }
        var v6 = in6_addr()
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if inet_pton(AF_INET6, bare, &v6) == 1 {
            return .ip(address: withUnsafeBytes(of: &v6) { Array($0) }, port: port)
        }
        return nil
    }

    /// The address a socket is bound to (`local`) or connected to (`!local`); nil if the call fails.
    static func of(_ fd: Int32, local: Bool) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                local ? getsockname(fd, $0, &length) : getpeername(fd, $0, &length)
            }
        }
        guard result == 0 else { return nil }
        return SocketAddress(storage: storage, length: Int(length))
    }

    init?(storage: sockaddr_storage, length: Int) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let sin = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in.self) }
            self = .ip(address: withUnsafeBytes(of: sin.sin_addr) { Array($0) }, port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = withUnsafeBytes(of: &storage) { $0.loadUnaligned(as: sockaddr_in6.self) }
            self = .ip(address: withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }, port: UInt16(bigEndian: sin6.sin6_port))
        case AF_UNIX:
            let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
            let pathBytes = withUnsafeBytes(of: &storage) { raw in
                Array(raw[pathOffset..<max(pathOffset, min(length, raw.count))].prefix { $0 != 0 })
            }
            self = .unix(path: String(decoding: pathBytes, as: UTF8.self))
        default:
            return nil
        }
    }

    /// Calls `body` with this address as a `sockaddr`. Unix paths must fit `sun_path` with its terminator.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R? {
        switch self {
        case .ip(let address, let port) where address.count == 4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: address) }
            return withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .ip(let address, let port) where address.count == 16:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: address) }
            return withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        case .ip:
            return nil
        case .unix(let path):
            var sun = sockaddr_un()
            sun.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            let capacity = MemoryLayout.size(ofValue: sun.sun_path)
            guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else { return nil }
            withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &sun) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
    }

    /// `sun_path` holds 108 bytes including the terminator.
    package static let maxUnixPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
}
