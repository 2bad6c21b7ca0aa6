// SPDX-License-Identifier: Apache-2.0
// Peer identity over loopback TCP (sock_diag + /proc) and over Unix sockets (SO_PEERCRED), including a
// child process: the pid must be the process that actually holds the client socket.

import Foundation
import Glibc
import Synchronization
import Testing
@testable import VigilTransport
import VigilTransportClient

@Suite struct PeerIdentityTests {
    /// Answers with the resolved peer, or the lookup error.
    static func whoami(candidates: @escaping @Sendable () -> [Int32]) -> HTTPServer.Handler {
        { _, connection in
            do throws(PeerLookupError) {
                let peer = try connection.peer(candidatePIDs: candidates())
                return .text("pid=\(peer.pid.map(String.init) ?? "none") uid=\(peer.uid) inode=\(peer.inode)")
            } catch {
                return .text(status: 500, "\(error.step): \(error)")
            }
        }
    }

    @Test func tcpPeerInThisProcess() throws {
        try withServer(handler: Self.whoami { [] }) { server in
            let client = HTTPClient(.tcp(host: "127.0.0.1", port: try #require(server.port)))
            let response = try client.request("GET", "/whoami")
            #expect(response.status == 200, "\(response.bodyText)")
            #expect(response.bodyText.hasPrefix("pid=\(getpid()) uid=\(getuid()) inode="))
            #expect(server.counters.peerLookupFailures == 0)
        }
    }

    @Test func tcpPeerIsTheChildProcess() throws {
        try withServer(handler: Self.whoami { [] }) { server in
            let child = try PythonClient(tcpPort: try #require(server.port))
            let output = child.go()
            #expect(output.hasPrefix("HTTP/1.1 200 OK"), "\(output)")
            #expect(body(of: output).hasPrefix("pid=\(child.pid) uid=\(getuid()) "), "full /proc scan")
        }
    }

    @Test func tcpPeerIsFoundAmongCandidates() throws {
        let candidate = Atomic<Int32>(0)
        try withServer(handler: Self.whoami { [1, candidate.load(ordering: .relaxed)] }) { server in
            let child = try PythonClient(tcpPort: try #require(server.port))
            candidate.store(child.pid, ordering: .relaxed)
            let output = child.go()
            #expect(body(of: output).hasPrefix("pid=\(child.pid) "), "\(output)")
        }
    }

    @Test func peerIsResolvedOncePerConnection() throws {
        let connection = Mutex<HTTPConnection?>(nil)
        try withServer(handler: { request, current in
            connection.withLock { $0 = current }
            return .text((try? current.peer()).map { "\($0.inode)" } ?? "error")
        }) { server in
            let client = HTTPClient(.tcp(host: "127.0.0.1", port: try #require(server.port)))
            let first = try client.request("GET", "/1").bodyText
            let again = try client.request("GET", "/2").bodyText
            #expect(first == again)
            let resolved = try #require(connection.withLock { $0 })
            // The cached answer stands even with candidates that would not match.
            #expect(try resolved.peer(candidatePIDs: [1]).pid == getpid())
        }
    }

    @Test func aClosedClientHasNoMatchingSocket() throws {
        let connection = Mutex<HTTPConnection?>(nil)
        try withServer(handler: { _, current in
            connection.withLock { $0 = current }
            return .text("ok")
        }) { server in
            do {
                let client = try RawClient(server: server)
                client.send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                _ = client.readUntilClosed()
            }
            let closed = try #require(connection.withLock { $0 })
            // The client's socket lingers in TIME_WAIT (no inode, uid 0) or is gone: either way nobody holds it.
            let result = Result { () throws(PeerLookupError) in try closed.peer() }
            guard case .failure(let error) = result else { Issue.record("resolved a closed socket: \(result)"); return }
            #expect(error.step == .noMatchingSocket)
            #expect(server.counters.peerLookupFailures == 1)
        }
    }

    @Test func unixConnectionsHaveCredentialsNotTCPPeers() throws {
        let path = temporarySocketPath("peer")
        try withServer(
            .unix(path: path, mode: 0o600),
            handler: { _, connection in
                do throws(PeerLookupError) {
                    _ = try connection.peer()
                    return .text("unexpected")
                } catch {
                    return .text("\(error.step) \(connection.peerCredentials?.pid ?? -1)")
                }
            }
        ) { server throws in
            #expect(try HTTPClient(.unix(path: path)).request("GET", "/").bodyText == "notTCP \(getpid())\n")
            #expect(server.counters.peerLookupFailures == 1)
        }
    }

    @Test func tcpPeerOverIPv6Loopback() throws {
        let started = Result { () throws(HTTPServerError) in try HTTPServer(listener: .tcp(host: "::1", port: 0), handler: Self.whoami { [] }) }
        if case .failure(let error) = started, error.errno == EADDRNOTAVAIL { return }  // no IPv6 loopback here
        let server = try started.get()
        defer { server.stop() }
        let response = try HTTPClient(.tcp(host: "::1", port: try #require(server.port))).request("GET", "/")
        #expect(response.bodyText.hasPrefix("pid=\(getpid()) uid=\(getuid()) "), "\(response.bodyText)")
    }

    @Test func sockDiagRequestLayout() {
        let query = SocketDiag.Query(
            family: UInt8(AF_INET),
            source: .init(address: [127, 0, 0, 1], port: 40000),
            destination: .init(address: [127, 0, 0, 2], port: 8080))
        let bytes = SocketDiag.encode(query, sequence: 7)
        #expect(bytes.count == 72)
        #expect(Array(bytes[0..<4]) == [72, 0, 0, 0])  // nlmsg_len
        #expect(Array(bytes[4..<6]) == [20, 0])  // SOCK_DIAG_BY_FAMILY
        #expect(Array(bytes[6..<8]) == [1, 0])  // NLM_F_REQUEST
        #expect(Array(bytes[8..<12]) == [7, 0, 0, 0])  // seq
        #expect(Array(bytes[16..<20]) == [UInt8(AF_INET), UInt8(IPPROTO_TCP), 0, 0])
        #expect(Array(bytes[20..<24]) == [0xFF, 0xFF, 0xFF, 0xFF])  // all states
        #expect(Array(bytes[24..<28]) == [0x9C, 0x40, 0x1F, 0x90])  // ports, big-endian
        #expect(Array(bytes[28..<32]) == [127, 0, 0, 1])
        #expect(Array(bytes[44..<48]) == [127, 0, 0, 2])
        #expect(Array(bytes[64..<72]) == [UInt8](repeating: 0xFF, count: 8))  // INET_DIAG_NOCOOKIE
    }

    @Test func sockDiagErrorReplies() {
        let query = SocketDiag.Query(
            family: UInt8(AF_INET), source: .init(address: [127, 0, 0, 1], port: 1), destination: .init(address: [127, 0, 0, 1], port: 2))
        func errorReply(_ code: Int32, sequence: UInt32) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: 36)
            bytes.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: UInt32(36), toByteOffset: 0, as: UInt32.self)
                raw.storeBytes(of: UInt16(2), toByteOffset: 4, as: UInt16.self)
                raw.storeBytes(of: sequence, toByteOffset: 8, as: UInt32.self)
                raw.storeBytes(of: -code, toByteOffset: 16, as: Int32.self)
            }
            return bytes
        }
        #expect(throws: PeerLookupError(.noMatchingSocket, "no TCP socket 127.0.0.1:1 -> 127.0.0.1:2")) {
            try SocketDiag.decode(errorReply(ENOENT, sequence: 3)[...], query: query, sequence: 3)
        }
        #expect(throws: PeerLookupError(.netlinkReceive, errno: EPERM, "inet_diag lookup of 127.0.0.1:1 -> 127.0.0.1:2")) {
            try SocketDiag.decode(errorReply(EPERM, sequence: 3)[...], query: query, sequence: 3)
        }
        #expect(throws: PeerLookupError.self) { try SocketDiag.decode(errorReply(ENOENT, sequence: 4)[...], query: query, sequence: 3) }
        #expect(throws: PeerLookupError.self) { try SocketDiag.decode([1, 2, 3][...], query: query, sequence: 3) }
    }

    @Test func mappedIPv4IsUnmapped() {
        let mapped = SocketDiag.Endpoint(address: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 1], port: 9)
        #expect(mapped.unmappedIPv4 == SocketDiag.Endpoint(address: [127, 0, 0, 1], port: 9))
        #expect(SocketDiag.Endpoint(address: [UInt8](repeating: 0, count: 15) + [1], port: 9).unmappedIPv4 == nil)
    }
}
