// SPDX-License-Identifier: Apache-2.0
// What the transport costs, printed, never asserted (timings depend on the machine and on what else runs:
// for clean numbers run `swift test --filter TransportCostTests` alone).

import Foundation
import Glibc
import Synchronization
import Testing
@testable import VigilTransport

@Suite(.serialized) struct TransportCostTests {
    /// Runs `body` `count` times; per-call times in microseconds, sorted.
    func measure(_ count: Int, _ body: () throws -> Void) rethrows -> [Double] {
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let start = POSIX.monotonicNanoseconds()
            try body()
            samples.append(Double(POSIX.monotonicNanoseconds() - start) / 1000)
        }
        return samples.sorted()
    }

    func summary(_ label: String, _ samples: [Double]) -> String {
        let mean = samples.reduce(0, +) / Double(samples.count)
        let p50 = samples[samples.count / 2]
        let p99 = samples[min(samples.count - 1, samples.count * 99 / 100)]
        let line = String(format: "%@: n=%d mean %.1f µs, p50 %.1f µs, p99 %.1f µs", label, samples.count, mean, p50, p99)
        print("[transport cost] " + line)
        return line
    }

    @Test func peerLookupCost() throws {
        let captured = Mutex<HTTPConnection?>(nil)
        try withServer(handler: { _, connection in
            captured.withLock { $0 = connection }
            return .text("ok")
        }) { server in
            // Keep the client connected while measuring: its socket is the one looked up.
            let client = HTTPClient(.tcp(host: "127.0.0.1", port: try #require(server.port)))
            _ = try client.request("GET", "/")
            let connection = try #require(captured.withLock { $0 })
            let local = connection.localAddress
            let remote = connection.remoteAddress

            let first = try measure(1) { _ = try connection.peer() }
            let cached = try measure(10_000) { _ = try connection.peer() }
            let found = try SocketDiag.clientSocket(serverLocal: local, serverRemote: remote)
            let netlink = try measure(5_000) { _ = try SocketDiag.clientSocket(serverLocal: local, serverRemote: remote) }
            let fast = measure(5_000) { _ = SocketOwners.pid(holdingSocketInode: found.inode, among: [getpid()]) }
            let full = measure(50) { _ = SocketOwners.pid(holdingSocketInode: found.inode, candidatePIDs: []) }
            // Worst case: an inode no process holds, so every fd of every process is read.
            let miss = measure(50) { _ = SocketOwners.pid(holdingSocketInode: UInt64(UInt32.max), candidatePIDs: []) }
            let fastTotal = try measure(2_000) { _ = try PeerIdentity.tcpPeer(local: local, remote: remote, candidatePIDs: [getpid()]) }

            let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc").filter { Int($0) != nil }.count) ?? -1
            let ownFDs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
            print("[transport cost] host: \(processes) processes in /proc, this process holds \(ownFDs) fds")
            _ = summary("peer() first call on a connection (netlink + full scan)", first)
            _ = summary("peer() cached", cached)
            _ = summary("sock_diag exact lookup (netlink only)", netlink)
            _ = summary("pid scan, fast path (1 candidate)", fast)
            _ = summary("pid scan, full /proc (hit)", full)
            _ = summary("pid scan, full /proc (miss, worst case)", miss)
            _ = summary("tcpPeer total, fast path", fastTotal)
            #expect(try connection.peer().pid == getpid())
        }
    }

    @Test func keepAliveRoundTripCost() throws {
        // About the size of a PreToolUse hook payload.
        let payload = Array(("{\"session_id\":\"0b7c\",\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\""
            + String(repeating: "x", count: 400) + "\"}}").utf8)
        let handler: HTTPServer.Handler = { _, _ in .json(Array("{\"continue\":true}".utf8)) }
        for transport in ["tcp", "unix"] {
            let path = temporarySocketPath("cost")
            let listener: HTTPServer.Listener = transport == "tcp" ? .tcp(host: "127.0.0.1", port: 0) : .unix(path: path, mode: 0o600)
            try withServer(listener, handler: handler) { server in
                let endpoint: HTTPClient.Endpoint = transport == "tcp" ? .tcp(host: "127.0.0.1", port: server.port!) : .unix(path: path)
                let client = HTTPClient(endpoint)
                for _ in 0..<200 { _ = try client.request("POST", "/hook", body: payload) }  // warm up
                let samples = try measure(5_000) { _ = try client.request("POST", "/hook", body: payload) }
                _ = summary("keep-alive POST round trip over \(transport) (\(payload.count)-byte body)", samples)
                let fresh = try measure(1_000) { _ = try HTTPClient(endpoint).request("POST", "/hook", headers: ["Connection": "close"], body: payload) }
                _ = summary("new connection per POST over \(transport)", fresh)
                #expect(server.counters.requests == 6_200)
            }
        }
    }
}
