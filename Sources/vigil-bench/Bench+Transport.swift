// SPDX-License-Identifier: Apache-2.0
// What the local transport costs (moved here from the test suite, where it printed figures and
// asserted nothing): who is on the other end of a loopback TCP connection (sock_diag + the /proc
// scan, first call and cached), and a hook-sized POST round trip over TCP and the Unix socket, on a
// kept-alive connection and on a new one per request. Times in µs. Beside them, in the same run, what
// handing a byte to another thread and back costs on this machine (a blocking socketpair ping-pong):
// a round trip through NIO is a fixed number of such hand-offs (caller → client loop → server loop →
// handler thread and back), and on a VM whose idle vCPUs must be woken each one costs tens of µs, so the
// ratio, not the time, is what compares across machines and commits.
import Foundation
import Glibc
import Synchronization
import VigilTransport
import VigilTransportClient

@Sendable func benchTransport() async throws {
    try TransportBench.peerLookup()
    try TransportBench.roundTrips()
}

private enum TransportBench {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs `body` `count` times; per-call times in microseconds, sorted.
    static func measure(_ count: Int, _ body: () throws -> Void) rethrows -> [Double] {
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
        }
        return samples.sorted()
    }

    /// With `unit`, the p50 also as a multiple of it (`p50_in_hand_offs`).
    static func fields(_ samples: [Double], per unit: Double) -> KeyValuePairs<String, String> {
        let f = fields(samples)
        return [
            "n": f[0].value, "mean_us": f[1].value, "p50_us": f[2].value, "p99_us": f[3].value,
            "p50_in_hand_offs": String(format: "%.1f", samples[samples.count / 2] / unit),
        ]
    }

    static func fields(_ samples: [Double]) -> KeyValuePairs<String, String> {
        let mean = samples.reduce(0, +) / Double(samples.count)
        let p50 = samples[samples.count / 2]
        let p99 = samples[min(samples.count - 1, samples.count * 99 / 100)]
        return [
            "n": String(samples.count), "mean_us": String(format: "%.1f", mean),
            "p50_us": String(format: "%.1f", p50), "p99_us": String(format: "%.1f", p99),
        ]
    }

    static func peerLookup() throws {
        let captured = Mutex<HTTPConnection?>(nil)
        let server = try HTTPServer(listener: .tcp(host: "127.0.0.1", port: 0)) { _, connection in
            captured.withLock { $0 = connection }
            return .text("ok")
        }
        defer { server.stop() }
        guard let port = server.port else { throw Failure("the server has no port") }
        // Keep the client connected while measuring: its socket is the one looked up.
        let client = HTTPClient(.tcp(host: "127.0.0.1", port: port))
        defer { client.close() }
        _ = try client.request("GET", "/")
        guard let connection = captured.withLock({ $0 }) else { throw Failure("the request reached no handler") }
        let local = connection.localAddress
        let remote = connection.remoteAddress

        let first = try measure(1) { _ = try connection.peer() }
        let cached = try measure(10_000) { _ = try connection.peer() }
        guard try connection.peer().pid == getpid() else { throw Failure("peer() did not find this process") }
        let found = try PeerIdentity.tcpPeer(local: local, remote: remote, candidatePIDs: [getpid()])
        let fastTotal = try measure(2_000) { _ = try PeerIdentity.tcpPeer(local: local, remote: remote, candidatePIDs: [getpid()]) }
        let fast = measure(5_000) { _ = SocketOwners.pid(holdingSocketInode: found.inode, among: [getpid()]) }
        let full = measure(50) { _ = SocketOwners.pid(holdingSocketInode: found.inode, candidatePIDs: []) }
        // Worst case: an inode no process holds, so every fd of every process is read.
        let miss = measure(50) { _ = SocketOwners.pid(holdingSocketInode: UInt64(UInt32.max), candidatePIDs: []) }

        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc").filter { Int($0) != nil }.count) ?? -1
        let ownFDs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
        report("transport.host", ["processes": String(processes), "own_fds": String(ownFDs)])
        report("transport.peer_first_call", fields(first))  // sock_diag + the full /proc scan
        report("transport.peer_cached", fields(cached))
        report("transport.tcp_peer_fast_path", fields(fastTotal))  // sock_diag + one candidate's fds
        report("transport.pid_scan_one_candidate", fields(fast))
        report("transport.pid_scan_full_hit", fields(full))
        report("transport.pid_scan_full_miss", fields(miss))
    }

    /// A byte to a thread blocked in read(2) and back, `count` times: the cost of one wake-up each way.
    static func threadHandOff(_ count: Int) throws -> [Double] {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { throw Failure("socketpair: errno \(errno)") }
        let (near, far) = (pair[0], pair[1])
        let echo = Thread {
            var byte: UInt8 = 0
            while read(far, &byte, 1) == 1 { _ = write(far, &byte, 1) }
            close(far)
        }
        echo.start()
        defer { close(near) }
        var byte: UInt8 = 1
        for _ in 0..<500 { _ = write(near, &byte, 1); _ = read(near, &byte, 1) }  // warm up
        return try measure(count) {
            guard write(near, &byte, 1) == 1, read(near, &byte, 1) == 1 else { throw Failure("ping-pong: errno \(errno)") }
        }
    }

    static func roundTrips() throws {
        let handOff = try threadHandOff(20_000)
        report("transport.thread_hand_off_round_trip", fields(handOff))
        let handOffP50 = handOff[handOff.count / 2]
        // About the size of a PreToolUse hook payload.
        let payload = Array(
            ("{\"session_id\":\"0b7c\",\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\""
                + String(repeating: "x", count: 400) + "\"}}").utf8)
        let handler: HTTPServer.Handler = { _, _ in .json(Array("{\"continue\":true}".utf8)) }
        for transport in ["tcp", "unix"] {
            let path = "/tmp/vigil-bench-transport-\(getpid())-\(transport).sock"
            let listener: HTTPServer.Listener = transport == "tcp" ? .tcp(host: "127.0.0.1", port: 0) : .unix(path: path, mode: 0o600)
            let server = try HTTPServer(listener: listener, handler: handler)
            defer { server.stop() }
            let endpoint: HTTPClient.Endpoint = transport == "tcp" ? .tcp(host: "127.0.0.1", port: server.port ?? 0) : .unix(path: path)
            let client = HTTPClient(endpoint)
            defer { client.close() }
            for _ in 0..<200 { _ = try client.request("POST", "/hook", body: payload) }  // warm up
            let kept = try measure(5_000) { _ = try client.request("POST", "/hook", body: payload) }
            let fresh = try measure(1_000) {
                let once = HTTPClient(endpoint)
                defer { once.close() }
                _ = try once.request("POST", "/hook", headers: ["Connection": "close"], body: payload)
            }
            guard server.counters.requests == 6_200 else { throw Failure("\(transport): \(server.counters.requests) requests served, 6200 sent") }
            report("transport.keep_alive_post_\(transport)", fields(kept, per: handOffP50))
            report("transport.new_connection_post_\(transport)", fields(fresh, per: handOffP50))
        }
    }
}
