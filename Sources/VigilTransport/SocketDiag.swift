// SPDX-License-Identifier: Apache-2.0
// NETLINK_SOCK_DIAG, exact lookup of one TCP socket by its 4-tuple (what `ss` uses, without a dump).
// Structures from <linux/netlink.h>, <linux/sock_diag.h> and <linux/inet_diag.h>; Glibc's module imports
// none of them, so the request and reply are encoded by offset. Encoding and decoding are pure and tested.
//
//   struct nlmsghdr        { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }                       16 bytes
//   struct inet_diag_sockid{ be16 sport; be16 dport; be32 src[4]; be32 dst[4]; u32 if; u32 cookie[2]; } 48
//   struct inet_diag_req_v2{ u8 family; u8 protocol; u8 ext; u8 pad; u32 states; inet_diag_sockid id; } 56
//   struct inet_diag_msg   { u8 family, state, timer, retrans; inet_diag_sockid id;
//                            u32 expires, rqueue, wqueue, uid, inode; }                                 72
//   struct nlmsgerr        { int error; struct nlmsghdr msg; }

import Glibc
import Synchronization

enum SocketDiag {
    static let netlinkSockDiag: Int32 = 4  // NETLINK_SOCK_DIAG
    static let sockDiagByFamily: UInt16 = 20  // SOCK_DIAG_BY_FAMILY
    static let messageError: UInt16 = 2  // NLMSG_ERROR
    static let flagRequest: UInt16 = 1  // NLM_F_REQUEST
    static let headerSize = 16
    static let requestSize = 56
    static let replySize = 72

    /// One side of the socket being looked up: address bytes (4 or 16) and port.
    struct Endpoint: Equatable {
        var address: [UInt8]
        var port: UInt16
    }

    struct Query: Equatable {
        var family: UInt8
        var source: Endpoint
        var destination: Endpoint
    }

    struct Found: Equatable {
        var uid: UInt32
        var inode: UInt64
    }

    private static let sequence = Atomic<UInt32>(1)

    /// The client's socket seen from the server: its source is our remote end, its destination our local end.
    static func clientSocket(serverLocal: SocketAddress, serverRemote: SocketAddress) throws(PeerLookupError) -> Found {
        guard case .ip(let localAddress, let localPort) = serverLocal, case .ip(let remoteAddress, let remotePort) = serverRemote,
            localAddress.count == remoteAddress.count
        else {
            throw PeerLookupError(.notTCP, "\(serverRemote) -> \(serverLocal) is not a TCP/IP connection")
        }
        let fd = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkSockDiag)
        guard fd >= 0 else { throw PeerLookupError(.netlinkSocket, errno: errno, "socket(AF_NETLINK, NETLINK_SOCK_DIAG)") }
        defer { close(fd) }

        var queries: [Query] = []
        let source = Endpoint(address: remoteAddress, port: remotePort)
        let destination = Endpoint(address: localAddress, port: localPort)
        if let source4 = source.unmappedIPv4, let destination4 = destination.unmappedIPv4 {
            // An IPv4 client reaching a dual-stack listener appears as ::ffff:a.b.c.d on our side, but its
            // own socket is AF_INET. Try that first, then an AF_INET6 socket using mapped addresses.
            queries.append(Query(family: UInt8(AF_INET), source: source4, destination: destination4))
        }
        queries.append(Query(family: UInt8(localAddress.count == 4 ? AF_INET : AF_INET6), source: source, destination: destination))

        var lastError = PeerLookupError(.noMatchingSocket, "no TCP socket \(serverRemote) -> \(serverLocal)")
        for query in queries {
            do {
                return try lookup(query, fd: fd)
            } catch  where error.step == .noMatchingSocket {
                lastError = error
            }
        }
        throw lastError
    }

    private static func lookup(_ query: Query, fd: Int32) throws(PeerLookupError) -> Found {
        let seq = sequence.wrappingAdd(1, ordering: .relaxed).newValue
        let request = encode(query, sequence: seq)
        var kernel = [UInt8](repeating: 0, count: 12)  // struct sockaddr_nl { u16 family; u16 pad; u32 pid; u32 groups; }
        kernel.withUnsafeMutableBytes { $0.storeBytes(of: UInt16(AF_NETLINK), toByteOffset: 0, as: UInt16.self) }
        let sent = request.withUnsafeBytes { bytes in
            kernel.withUnsafeBytes { address in
                sendto(fd, bytes.baseAddress, bytes.count, 0, address.baseAddress!.assumingMemoryBound(to: sockaddr.self), 12)
            }
        }
        guard sent == request.count else { throw PeerLookupError(.netlinkSend, errno: errno, "sending inet_diag request") }

        // The kernel answers a sock_diag request inside sendto(), so the reply is already queued: a
        // non-blocking read can never hang the connection thread.
        var reply = [UInt8](repeating: 0, count: 8192)
        let received = reply.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        guard received > 0 else { throw PeerLookupError(.netlinkReceive, errno: received < 0 ? errno : nil, "reading inet_diag reply") }
        return try decode(reply[0..<received], query: query, sequence: seq)
    }

    static func encode(_ query: Query, sequence: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: headerSize + requestSize)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt32(headerSize + requestSize), toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: sockDiagByFamily, toByteOffset: 4, as: UInt16.self)
            raw.storeBytes(of: flagRequest, toByteOffset: 6, as: UInt16.self)
            raw.storeBytes(of: sequence, toByteOffset: 8, as: UInt32.self)
            let request = headerSize
            raw[request] = query.family
            raw[request + 1] = UInt8(IPPROTO_TCP)
            raw.storeBytes(of: UInt32.max, toByteOffset: request + 4, as: UInt32.self)  // every TCP state
            writeSocketID(query, into: raw, at: request + 8)
        }
        return bytes
    }

    private static func writeSocketID(_ query: Query, into raw: UnsafeMutableRawBufferPointer, at offset: Int) {
        raw.storeBytes(of: query.source.port.bigEndian, toByteOffset: offset, as: UInt16.self)
        raw.storeBytes(of: query.destination.port.bigEndian, toByteOffset: offset + 2, as: UInt16.self)
        for (index, byte) in query.source.address.prefix(16).enumerated() { raw[offset + 4 + index] = byte }
        for (index, byte) in query.destination.address.prefix(16).enumerated() { raw[offset + 20 + index] = byte }
        // idiag_if = 0 (any interface); idiag_cookie = INET_DIAG_NOCOOKIE: match on the tuple alone.
        raw.storeBytes(of: UInt32.max, toByteOffset: offset + 40, as: UInt32.self)
        raw.storeBytes(of: UInt32.max, toByteOffset: offset + 44, as: UInt32.self)
    }

    static func decode(_ reply: ArraySlice<UInt8>, query: Query, sequence: UInt32) throws(PeerLookupError) -> Found {
        let bytes = Array(reply)
        var offset = 0
        while offset + headerSize <= bytes.count {
            let (length, type, seq) = bytes.withUnsafeBytes { raw in
                (
                    Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)),
                    raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self),
                    raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
                )
            }
            guard length >= headerSize, offset + length <= bytes.count else { break }
            defer { offset += (length + 3) & ~3 }  // NLMSG_ALIGN
            guard seq == sequence else { continue }
            let payload = offset + headerSize
            if type == messageError, length >= headerSize + 4 {
                let code = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: payload, as: Int32.self) }
                if code == -ENOENT { throw PeerLookupError(.noMatchingSocket, "no TCP socket \(query.describe)") }
                throw PeerLookupError(.netlinkReceive, errno: -code, "inet_diag lookup of \(query.describe)")
            }
            guard type == sockDiagByFamily, length >= headerSize + replySize else { continue }
            let (sport, dport, uid, inode) = bytes.withUnsafeBytes { raw in
                (
                    UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: payload + 4, as: UInt16.self)),
                    UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: payload + 6, as: UInt16.self)),
                    raw.loadUnaligned(fromByteOffset: payload + 64, as: UInt32.self),
                    raw.loadUnaligned(fromByteOffset: payload + 68, as: UInt32.self)
                )
            }
            let width = query.source.address.count
            let source = Array(bytes[(payload + 8)..<(payload + 8 + width)])
            let destination = Array(bytes[(payload + 24)..<(payload + 24 + width)])
            // The kernel looked the socket up by this tuple; check it answered about that socket.
            guard sport == query.source.port, dport == query.destination.port,
                source == query.source.address, destination == query.destination.address
            else {
                throw PeerLookupError(.malformedReply, "inet_diag reply describes another socket than \(query.describe)")
            }
            // A closed socket lingering in TIME_WAIT has no inode (and reads as uid 0): nobody holds it.
            guard inode != 0 else {
                throw PeerLookupError(.noMatchingSocket, "client socket \(query.describe) is already closed (TIME_WAIT)")
            }
            return Found(uid: uid, inode: UInt64(inode))
        }
        throw PeerLookupError(.malformedReply, "no inet_diag message in a reply of \(bytes.count) bytes")
    }
}

extension SocketDiag.Endpoint {
    /// a.b.c.d for ::ffff:a.b.c.d, else nil.
    var unmappedIPv4: SocketDiag.Endpoint? {
        guard address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF else { return nil }
        return SocketDiag.Endpoint(address: Array(address[12..<16]), port: port)
    }
}

extension SocketDiag.Query {
    var describe: String {
        "\(SocketAddress.ip(address: source.address, port: source.port)) -> \(SocketAddress.ip(address: destination.address, port: destination.port))"
    }
}
