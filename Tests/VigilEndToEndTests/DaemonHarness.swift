// SPDX-License-Identifier: Apache-2.0
// The real vigild for end-to-end tests: started on scratch directories (state, audit log, API
// socket, hook port picked by the kernel), with its managed-settings drop-in under the world's ROOT
// so that only the claude processes inside the test's /etc overlay see it.
import Foundation
import Testing
import VigilTestSupport
import VigilTransport
import VigilTransportClient
#if canImport(Glibc)
    import Glibc
#endif

final class DaemonUnderTest: @unchecked Sendable {
    let child: Child
    let world: ClaudeWorld
    let socket: String
    let port: Int
    let logPath: String

    static func binary() throws -> String {
        let path = ProcessInfo.processInfo.environment["VIGIL_DAEMON_BINARY"] ?? ClaudeE2E.packageRoot + "/.build/debug/vigild"
        guard access(path, X_OK) == 0 else {
            throw Privileges.Missing(description: "\(path) is missing: build it first ('swift build' or 'make build')")
        }
        return path
    }

    /// Starts vigild and waits until it listens (its port file appears).
    static func start(world: ClaudeWorld, extraArguments: [String] = []) throws -> DaemonUnderTest {
        guard let claude = ClaudeE2E.claudeBinary() else { throw Privileges.Missing(description: "no claude binary") }
        let socket = world.base + "/vigild.sock"
        let portFile = world.base + "/hook.port"
        let logPath = world.base + "/vigild.log"
        try? FileManager.default.removeItem(atPath: portFile)
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary())
        process.arguments =
            [
                "--policy", world.policy, "--state-dir", world.stateDir, "--audit-dir", world.audit, "--socket", socket,
                "--hook-port", "0", "--port-file", portFile, "--root", world.root, "--claude-binary", claude,
            ] + extraArguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let child = Child(process)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
                let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return DaemonUnderTest(child: child, world: world, socket: socket, port: port, logPath: logPath)
            }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        child.stop()
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw Privileges.Missing(description: "vigild did not start: \(output)")
    }

    private init(child: Child, world: ClaudeWorld, socket: String, port: Int, logPath: String) {
        self.child = child
        self.world = world
        self.socket = socket
        self.port = port
        self.logPath = logPath
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// GET over the API socket, decoded as JSON.
    func get(_ path: String) throws -> Any {
        let client = HTTPClient(.unix(path: socket), timeout: .seconds(10))
        defer { client.close() }
        let response: HTTPResponse
        do {
            response = try client.request("GET", path)
        } catch {
            throw Privileges.Missing(description: "GET \(path): \(error); vigild running: \(child.process.isRunning)\nvigild log:\n\(log)")
        }
        guard response.status == 200 else {
            throw Privileges.Missing(description: "GET \(path): HTTP \(response.status) \(response.bodyText)")
        }
        return try JSONSerialization.jsonObject(with: Data(response.body))
    }

    func status() throws -> [String: Any] { try get("/v1/status") as? [String: Any] ?? [:] }

    /// Every session (live and ended) with `origin`.
    func sessions(origin: String) throws -> [[String: Any]] {
        ((try get("/v1/sessions")) as? [[String: Any]] ?? []).filter { $0["origin"] as? String == origin }
    }

    /// The timeline of a session.
    func timeline(_ id: String) throws -> [[String: Any]] {
        ((try get("/v1/sessions/\(id)")) as? [String: Any])?["timeline"] as? [[String: Any]] ?? []
    }

    /// Waits until `condition` holds (the consumer batches events for up to 20 ms, and a session
    /// ends at the next housekeeping round).
    func wait(_ what: String, timeout: TimeInterval = 10, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(100_000)
        }
        throw Privileges.Missing(description: "timed out waiting for \(what)\nvigild log:\n\(log)")
    }

    /// SIGTERM and wait: the graceful shutdown closes the audit log with a checkpoint.
    func stop() {
        guard child.process.isRunning else { return }
        kill(child.process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while child.process.isRunning && Date() < deadline { usleep(50_000) }
        child.stop()
    }

    /// `vigil audit verify` with the real binary must pass.
    func verifyAudit() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let result = try world.run([vigil, "audit", "verify", world.audit])
        #expect(result.status == 0, "vigil audit verify: \(result.output)")
    }
}
