// SPDX-License-Identifier: Apache-2.0
// The session boundary in the kernel (`vigil run`): a loopback connect or datagram to a socket of a
// process outside the session is refused with EPERM unless a `Peer(…)` exception allows its port,
// and audited with the peer that listens there; a listener the session started itself is its own.
// The command runs as the developer account (`vigil run --as-user`), the outside listeners are root's.
import Foundation
import Glibc
import Testing
import VigilAudit
import VigilCore
import VigilPolicy
import VigilRuntime
import VigilSensor
import VigilTestSupport

/// A UDP socket on loopback, outside every session; `received` says whether a datagram arrived.
private final class UDPReceiver: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = fd
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw Privileges.Missing(description: "udp: \(String(cString: strerror(errno)))") }
        port = UInt16(bigEndian: addr.sin_port)
    }

    var received: Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) >= 0
    }

    deinit { close(fd) }
}

/// An AF_UNIX listener outside every session (the test process's own).
private final class UnixListener: @unchecked Sendable {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let fd = fd
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 && listen(fd, 16) == 0
            }
        }
        guard ok else { throw Privileges.Missing(description: "unix listener: \(String(cString: strerror(errno)))") }
        // connect(2) needs write permission on the socket file: the developer may reach it, and only
        // Vigil's boundary stands in the way.
        chmod(path, 0o666)
    }

    deinit { close(fd) }
}

/// This test process, when it holds the socket inode (the listeners are the test's own).
private let ownSocket: @Sendable (UInt64) -> Int32? = { inode in
    guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return nil }
    for fd in fds {
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd),
            target == "socket:[\(inode)]"
        {
            return getpid()
        }
    }
    return nil
}

// In EnforcementTests: one shared sensor, one run at a time.
extension EnforcementTests {
    private func runBounded(_ yaml: String, _ argv: [String], in w: Workspace) async throws -> ([AuditEntry], VerificationReport) {
        let policy = try Policy(yaml: yaml, file: "boundary.yaml")
        // As deployed: the command is the developer's (it owns the workspace, and the FIFOs and sockets
        // it may reach in it), the listeners outside the session are this root test process's.
        let account = try w.developer()
        let log = try AuditLog.open(directory: w.audit, signer: try Ed25519FileSigner(keyFile: AuditLogLayout(directory: w.audit).defaultPrivateKey))
        let runner = Runner(
            sensor: try sharedSensor.get(),
            configuration: RunConfiguration(
                policy: policy, identity: Identity(user: "dev"), home: account.home, deviceID: "test-device", socketOwner: ownSocket,
                account: account), audit: log,
            logger: silentLogger)
        let collected = Entries()
        _ = try await runner.run(command: argv) { collected.add($0.entry) }
        try log.close()
        return (collected.entries, try AuditVerifier.verify(directory: w.audit))
    }

    @Test(.requires(.bpf)) func crossingsToOutsideListenersAreRefusedExceptTheAllowedAndTheSessionsOwn() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let proxy = try TCPListener()  // e.g. an HTTP proxy that was running before the session
        let database = try TCPListener()  // an allow-listed local service
        let receiver = try UDPReceiver()
        let before = try sharedSensor.get().counters()
        let policy = """
            vigil: 1
            rules:
              - {id: boundary, match: Peer(*), action: deny, reason: Work stays inside the session.}
              - {id: local-db, match: 'Peer(localhost:\(database.port))', action: allow, overrides: [boundary]}
            """
        let out = w.dir + "/out"
        let script = """
            import os, socket
            print("uid", os.getuid())
            def tcp(name, host, port):
                s = socket.socket()
                try:
                    s.connect((host, port)); print(name, "ok")
                except OSError as e:
                    print(name, "errno", e.errno)
            tcp("proxy", "127.0.0.1", \(proxy.port))
            tcp("proxy-any", "0.0.0.0", \(proxy.port))
            tcp("database", "127.0.0.1", \(database.port))
            own = socket.socket(); own.bind(("127.0.0.1", 0)); own.listen()
            tcp("own", "127.0.0.1", own.getsockname()[1])
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                u.sendto(b"x", ("127.0.0.1", \(receiver.port))); print("udp ok")
            except OSError as e:
                print("udp errno", e.errno)
            """
        try script.write(toFile: w.dir + "/probe.py", atomically: false, encoding: .utf8)
        let (entries, report) = try await runBounded(policy, shell("python3 \(w.dir)/probe.py", out: out), in: w)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("uid \(try Developer.account().uid)"), "the probe ran as the developer: \(text)")
        #expect(text.contains("proxy errno \(EPERM)"), "\(text)")
        #expect(text.contains("proxy-any errno \(EPERM)"), "\(text)")
        #expect(text.contains("database ok"), "\(text)")
        #expect(text.contains("own ok"), "the session's own listener is not a peer: \(text)")
        #expect(text.contains("udp errno \(EPERM)"), "\(text)")
        #expect(!proxy.hasPendingConnection, "a connection reached the proxy")
        #expect(database.hasPendingConnection, "the allowed database was not reached")
        #expect(!receiver.received, "a datagram reached the outside receiver")

        let refused = entries.filter { $0.extra["boundary"] == "crossing" && $0.decision == .deny }
        let proxyEntry = try #require(refused.first { $0.kind == .connect && $0.action.port == proxy.port })
        #expect(proxyEntry.winningRule == "boundary" && proxyEntry.extra["reason"] == "Work stays inside the session.")
        #expect(proxyEntry.enforcement?.action == KernelDecider.boundaryMechanism && proxyEntry.enforcement?.succeeded == true)
        #expect(proxyEntry.extra["peer_pid"] == String(getpid()), "\(proxyEntry.extra)")
        #expect(proxyEntry.extra["peer_exe"] == KernelDeciderProbe.ownExecutable, "\(proxyEntry.extra)")
        #expect(proxyEntry.enforcement?.detail?.contains("pid \(getpid())") == true, "\(String(describing: proxyEntry.enforcement))")
        #expect(refused.contains { $0.kind == .send && $0.action.port == receiver.port }, "\(refused.map(\.extra))")
        let allowed = try #require(entries.first { $0.extra["boundary"] == "crossing" && $0.action.port == database.port })
        #expect(allowed.decision == .allow && allowed.winningRule == "local-db" && allowed.extra["peer_pid"] == String(getpid()))
        #expect(
            !entries.contains { $0.extra["boundary"] != nil && $0.decision == .kill },
            "nothing was killed: \(entries.filter { $0.extra["boundary"] != nil }.map { "\($0.kind) \($0.action.address ?? "") \($0.action.port ?? 0) \($0.decision?.rawValue ?? "") \($0.extra)" })"
        )
        let after = try sharedSensor.get().counters()
        #expect(after.peerDenied - before.peerDenied >= 3 && after.peerOutside - before.peerOutside >= 4)
        #expect(report.isValid, "\(report)")
    }

    /// AF_UNIX: the connect happens (no hook can tell the listener's owner before it), the crossing is
    /// recorded with the owner's pid (SO_PEERCRED) and a denied one kills the connecting process.
    @Test(.requires(.bpf)) func unixCrossingsAreRecordedWithTheirOwnerAndDeniedOnesKilled() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let outside = try UnixListener(path: w.dir + "/outside.sock")
        let allowed = try UnixListener(path: w.dir + "/allowed.sock")
        let policy = """
            vigil: 1
            rules:
              - {id: boundary, match: Peer(*), action: deny}
              - {id: ok-sock, match: 'Peer(unix:\(w.dir)/allowed.sock)', action: allow, overrides: [boundary]}
            """
        let out = w.dir + "/out"
        let script = """
            import os, socket, sys, time
            def unix(name, path):
                s = socket.socket(socket.AF_UNIX); s.connect(path); print(name, "ok", flush=True); return s
            own = socket.socket(socket.AF_UNIX); own.bind("\(w.dir)/own.sock"); own.listen()
            unix("own", "\(w.dir)/own.sock")
            unix("allowed", "\(w.dir)/allowed.sock")
            time.sleep(1)
            unix("outside", "\(w.dir)/outside.sock")
            time.sleep(3)
            print("survived", flush=True)
            """
        try script.write(toFile: w.dir + "/probe.py", atomically: false, encoding: .utf8)
        let (entries, report) = try await runBounded(policy, shell("python3 \(w.dir)/probe.py", out: out), in: w)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("own ok") && text.contains("allowed ok"), "\(text)")
        #expect(
            !text.contains("survived") && !text.contains("outside ok"),
            "the process that crossed to an outside listener was not killed before its connect returned: \(text)")
        withExtendedLifetime((outside, allowed)) {}
        let crossings = entries.filter { $0.extra["boundary"] == "crossing" }
        let killed = try #require(crossings.first { $0.action.address == w.dir + "/outside.sock" }, "\(crossings.map(\.extra))")
        #expect(killed.decision == .kill && killed.winningRule == "boundary", "\(killed)")
        #expect(killed.extra["peer_pid"] == String(getpid()) && killed.enforcement?.action == "bpf-sigkill", "\(killed)")
        #expect(killed.enforcement?.detail?.contains("the socket was never used") == true)
        let ok = try #require(crossings.first { $0.action.address == w.dir + "/allowed.sock" })
        #expect(ok.decision == .allow && ok.winningRule == "ok-sock" && ok.extra["peer_pid"] == String(getpid()))
        #expect(!crossings.contains { $0.action.address == w.dir + "/own.sock" }, "the session's own socket is not a crossing")
        #expect(report.isValid, "\(report)")
    }

    /// FIFOs: every open of a named pipe is recorded as such; `Peer(fifo:…)` denies one (after the open:
    /// the opener is killed), other FIFOs are allowed and still marked.
    @Test(.requires(.bpf)) func fifoOpensAreRecordedAndDeniedOnesKilled() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        #expect(mkfifo(w.dir + "/jobs.fifo", 0o666) == 0 && mkfifo(w.dir + "/other.fifo", 0o666) == 0)
        let policy = """
            vigil: 1
            rules:
              - {id: no-job-runner, match: 'Peer(fifo:\(w.dir)/jobs.fifo)', action: deny}
            """
        let out = w.dir + "/out"
        let script = """
            import os, time
            os.close(os.open("\(w.dir)/other.fifo", os.O_RDWR)); print("other ok", flush=True)
            time.sleep(1)
            fd = os.open("\(w.dir)/jobs.fifo", os.O_RDWR)
            time.sleep(3)
            print("survived", flush=True)
            """
        try script.write(toFile: w.dir + "/probe.py", atomically: false, encoding: .utf8)
        let (entries, report) = try await runBounded(policy, shell("python3 \(w.dir)/probe.py", out: out), in: w)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("other ok") && !text.contains("survived"), "\(text)")
        let jobs = try #require(entries.first { $0.kind == .open && $0.action.path == w.dir + "/jobs.fifo" })
        #expect(jobs.extra["fifo"] == "true" && jobs.decision == .kill && jobs.winningRule == "no-job-runner", "\(jobs)")
        let other = try #require(entries.first { $0.kind == .open && $0.action.path == w.dir + "/other.fifo" })
        #expect(other.extra["fifo"] == "true" && other.decision == .allow)
        #expect(!entries.contains { $0.kind == .open && $0.action.path == w.dir + "/probe.py" && $0.extra["fifo"] != nil })
        #expect(report.isValid, "\(report)")
    }

    /// Without a `Peer(…)` rule nothing is refused, but every crossing is still recorded with its peer.
    @Test(.requires(.bpf)) func withoutABoundaryRuleCrossingsAreRecorded() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let proxy = try TCPListener()
        let out = w.dir + "/out"
        let (entries, report) = try await runBounded(
            "vigil: 1\nrules: []\n",
            shell("bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(proxy.port)'; echo rc=$?", out: out), in: w)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("rc=0"), "\(text)")
        #expect(proxy.hasPendingConnection)
        let crossing = try #require(entries.first { $0.extra["boundary"] == "crossing" })
        #expect(crossing.decision == .allow && crossing.extra["peer_pid"] == String(getpid()))
        #expect(report.isValid, "\(report)")
    }
}

enum KernelDeciderProbe {
    static var ownExecutable: String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    }
}

@Test(arguments: [
    ("http://127.0.0.1:4000", UInt16?(4000)), ("http://localhost:8080/v1", 8080), ("http://[::1]:9000", 9000),
    ("https://localhost", 443), ("http://127.0.0.1", 80), ("https://api.anthropic.com", nil), ("http://10.0.0.1:4000", nil),
    ("", nil),
])
func theModelAPIPortIsReadFromALoopbackBaseURL(_ url: String, _ port: UInt16?) {
    #expect(SessionSubject.loopbackModelAPIPort(baseURL: url) == port)
}
