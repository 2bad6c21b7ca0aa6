// SPDX-License-Identifier: Apache-2.0
// Drives the real Claude Code (the binary shipped in claude-agent-sdk, `make claude`) against the
// scripted model server (Tests/e2e/mock_model.py), with Vigil's managed-settings drop-in placed in
// an overlay over /etc inside a private mount namespace: the real /etc is never touched. The
// namespace and the overlay are set up as root; Claude Code then runs as the developer account
// `vigil-dev` (created by the test), with a HOME and a project that account owns, as deployed.
import Foundation
import Testing
import VigilAudit
import VigilTestSupport
#if canImport(Glibc)
    import Glibc
#endif

enum ClaudeE2E {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The claude binary: `VIGIL_CLAUDE_BIN`, else what `make claude` recorded, else the venv glob.
    static func claudeBinary() -> String? {
        if let path = ProcessInfo.processInfo.environment["VIGIL_CLAUDE_BIN"], access(path, X_OK) == 0 { return path }
        let venv = packageRoot + "/.output/claude-venv"
        if let text = try? String(contentsOfFile: venv + "/claude-path", encoding: .utf8) {
            let path = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if access(path, X_OK) == 0 { return path }
        }
        if let lib = try? FileManager.default.contentsOfDirectory(atPath: venv + "/lib") {
            for python in lib.sorted() where python.hasPrefix("python3") {
                let path = "\(venv)/lib/\(python)/site-packages/claude_agent_sdk/_bundled/claude"
                if access(path, X_OK) == 0 { return path }
            }
        }
        return nil
    }

    /// The `vigil` binary this package built (`VIGIL_BINARY` overrides, for another build path);
    /// missing is always a failure.
    static func vigilBinary() throws -> String {
        let path = ProcessInfo.processInfo.environment["VIGIL_BINARY"] ?? packageRoot + "/.build/debug/vigil"
        guard access(path, X_OK) == 0 else {
            throw Privileges.Missing(description: "\(path) is missing: build it first ('swift build' or 'make build')")
        }
        return path
    }
}

extension Requirement {
    /// The Claude Code end-to-end tests: the pinned claude binary and the tools the harness runs it with.
    static let claudeCode: Requirement = {
        var missing: [String] = []
        if ClaudeE2E.claudeBinary() == nil {
            missing.append("no claude binary: run 'make claude' (claude-agent-sdk==0.2.187 in .output/claude-venv)")
        }
        for tool in ["/usr/bin/unshare", "/usr/bin/timeout", "/usr/bin/setpriv", "/usr/sbin/useradd", "/bin/chown"] where access(tool, X_OK) != 0 {
            missing.append("\(tool) is missing")
        }
        return Requirement(name: "Claude Code", missing: missing.isEmpty ? nil : missing.joined(separator: "; "))
    }()
}

/// A process the test started; stopped by its pid.
final class Child: @unchecked Sendable {
    let process: Process
    init(_ process: Process) { self.process = process }
    /// SIGKILL: a child spawned from the test process inherits a signal mask that blocks SIGTERM.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// The scripted model server, one per test.
struct MockModel {
    let child: Child
    let port: Int
    let dumpDirectory: String

    static func start(dumpDirectory: String, lifetime: Int = 240) throws -> MockModel {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", ClaudeE2E.packageRoot + "/Tests/e2e/mock_model.py", dumpDirectory, "--lifetime", String(lifetime)]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.standardError
        try process.run()
        let child = Child(process)
        let (text, port) = MockModel.announcedPort(pipe)
        guard let port else {
            child.stop()
            throw Privileges.Missing(description: "mock_model.py did not print its port (got '\(text)')")
        }
        return MockModel(child: child, port: port, dumpDirectory: dumpDirectory)
    }

    /// A test server's first line, "PORT <n>" (read byte by byte: nothing after it is consumed), and the port.
    static func announcedPort(_ pipe: Pipe) -> (line: String, port: Int?) {
        var line: [UInt8] = []
        let handle = pipe.fileHandleForReading
        while line.last != 0x0A {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty { break }
            line += byte
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (text, text.hasPrefix("PORT ") ? Int(text.dropFirst(5)) : nil)
    }

    /// Every tool_result the model was sent, by tool_use_id (the text; the last request wins).
    func toolResults() throws -> [String: (text: String, isError: Bool)] {
        var results: [String: (String, Bool)] = [:]
        let files = try FileManager.default.contentsOfDirectory(atPath: dumpDirectory).filter { $0.hasSuffix(".json") }.sorted()
        for file in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: dumpDirectory + "/" + file))
            guard let body = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let messages = body["messages"] as? [[String: Any]]
            else { continue }
            for message in messages {
                guard let blocks = message["content"] as? [[String: Any]] else { continue }
                for block in blocks where block["type"] as? String == "tool_result" {
                    guard let id = block["tool_use_id"] as? String else { continue }
                    let text: String
                    if let string = block["content"] as? String {
                        text = string
                    } else if let parts = block["content"] as? [[String: Any]] {
                        text = parts.compactMap { $0["text"] as? String }.joined(separator: "\n")
                    } else {
                        text = ""
                    }
                    results[id] = (text, block["is_error"] as? Bool ?? false)
                }
            }
        }
        return results
    }
}

/// One scratch world: work dir, HOME, the overlay's upper dir (= ROOT/etc of the install), the audit log.
/// The work dir (the project) and HOME belong to the developer account; the rest to root.
struct ClaudeWorld {
    let base: String
    let developer: Developer
    var root: String { base + "/root" }
    var work: String { base + "/work" }
    var home: String { base + "/home" }
    var audit: String { base + "/audit" }
    var policy: String { base + "/policy.yaml" }
    var requests: String { base + "/requests" }
    var stateDir: String { base + "/state" }

    static func make(_ name: String) throws -> ClaudeWorld {
        let base = NSTemporaryDirectory() + "vigil-claude-e2e-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        for dir in [base, base + "/work", base + "/home", base + "/root/etc"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        chmod(base, 0o755)  // the developer reaches its project, its HOME and the daemon's socket through it
        let world = ClaudeWorld(base: base, developer: try Developer.account())
        try world.handOver()
        return world
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: base)
    }

    /// The project and HOME, with whatever the test put there as root, belong to the developer.
    func handOver() throws {
        try developer.own(work)
        try developer.own(home)
    }

    static let policyYAML = """
        vigil: 1
        version: "e2e-1"
        defaults:
          tool: allow
        rules:
          - id: no-curl
            match: Bash(curl *)
            action: deny
            reason: Downloads go through the artifact proxy.
        """

    func writePolicy(_ text: String = ClaudeWorld.policyYAML) throws {
        try text.write(toFile: policy, atomically: true, encoding: .utf8)
    }

    /// `vigil audit keygen DIR` with the real binary, as the developer: without vigild, the hook runs
    /// as the user running Claude Code and signs with a key only that user can read.
    func makeAuditKey(vigil: String) throws {
        try FileManager.default.createDirectory(atPath: audit, withIntermediateDirectories: true)
        try developer.own(audit)
        let result = try run([vigil, "audit", "keygen", audit], asDeveloper: true)
        guard result.status == 0 else { throw Privileges.Missing(description: "vigil audit keygen failed: \(result.output)") }
    }

    /// Runs a command to completion; output is stdout+stderr. `asDeveloper`: as the developer account,
    /// with the world's HOME (the project and HOME are handed over to it first).
    func run(_ argv: [String], environment: [String: String]? = nil, asDeveloper: Bool = false) throws -> (status: Int32, output: String) {
        var argv = argv
        var environment = environment
        if asDeveloper {
            try handOver()
            argv = developer.command(argv)
            environment = (environment ?? ProcessInfo.processInfo.environment).merging(
                ["HOME": home, "USER": Developer.name, "LOGNAME": Developer.name]) { $1 }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        if let environment { process.environment = environment }
        let out = base + "/cmd-\(UInt32.random(in: 0...UInt32.max)).out"
        FileManager.default.createFile(atPath: out, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let output = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        return (process.terminationStatus, output)
    }

    struct ClaudeRun {
        var status: Int32
        var events: [[String: Any]]
        var stderr: String
        var raw: String

        var result: [String: Any]? { events.last { $0["type"] as? String == "result" } }
        var sessionID: String? { events.first { $0["subtype"] as? String == "init" }?["session_id"] as? String }
        var deniedToolUseIDs: Set<String> {
            Set((result?["permission_denials"] as? [[String: Any]] ?? []).compactMap { $0["tool_use_id"] as? String })
        }
    }

    /// Runs the real claude -p against the mock, in a private mount namespace whose /etc is an overlay
    /// with ROOT/etc as its upper dir (so the drop-in installed under ROOT appears in /etc/claude-code).
    /// The namespace is root's; claude (or the wrapper, and what it starts) runs as the developer.
    /// `wrapper`: run `WRAPPER claude -p …` (e.g. `vigil claude`, which finds the binary through
    /// VIGIL_CLAUDE_BIN) instead of the claude binary itself; `socket`: the daemon's API for it;
    /// `language`: the agent's LANG (none by default), as a developer's desktop sets it.
    func claude(
        _ prompt: String, model: MockModel, extraArguments: [String] = [], timeout: Int = 120,
        wrapper: String? = nil, socket: String? = nil, language: String? = nil
    ) throws -> ClaudeRun {
        guard let claude = ClaudeE2E.claudeBinary() else { throw Privileges.Missing(description: "no claude binary") }
        try developer.mustExecute(claude)
        if let wrapper { try developer.mustExecute(wrapper) }
        try handOver()
        let overlayWork = base + "/overlay-work-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: overlayWork, withIntermediateDirectories: true)
        let script = base + "/run-claude.sh"
        try """
        #!/bin/bash
        # Runs inside `unshare -m --propagation private`: the overlay is private to this namespace.
        # Mounted as root; then the privilege is dropped for good, and the agent runs as the developer.
        set -eu
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$VIGIL_E2E_UPPER,workdir=$VIGIL_E2E_OVERLAY_WORK" /etc
        cd "$VIGIL_E2E_WORK"
        launcher=("$VIGIL_E2E_CLAUDE")
        if [ -n "${VIGIL_E2E_WRAPPER:-}" ]; then launcher=("$VIGIL_E2E_WRAPPER" claude); fi
        exec setpriv --reuid="$VIGIL_E2E_UID" --regid="$VIGIL_E2E_GID" --init-groups \\
          timeout -k 5 "$VIGIL_E2E_TIMEOUT" env -i \\
          PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
          HOME="$VIGIL_E2E_HOME" USER="$VIGIL_E2E_USER" LOGNAME="$VIGIL_E2E_USER" \\
          ANTHROPIC_BASE_URL="$VIGIL_E2E_BASE_URL" ANTHROPIC_API_KEY=x IS_SANDBOX=1 \\
          DISABLE_TELEMETRY=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \\
          VIGIL_CLAUDE_BIN="$VIGIL_E2E_CLAUDE" VIGIL_SOCKET="${VIGIL_E2E_SOCKET:-/run/vigil/vigild.sock}" \\
          ${VIGIL_E2E_LANG:+LANG="$VIGIL_E2E_LANG"} \\
          "${launcher[@]}" -p "$VIGIL_E2E_PROMPT" --output-format stream-json --verbose "$@"
        """.write(toFile: script, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_E2E_UPPER"] = root + "/etc"
        environment["VIGIL_E2E_OVERLAY_WORK"] = overlayWork
        environment["VIGIL_E2E_WORK"] = work
        environment["VIGIL_E2E_TIMEOUT"] = String(timeout)
        environment["VIGIL_E2E_HOME"] = home
        environment["VIGIL_E2E_UID"] = String(developer.uid)
        environment["VIGIL_E2E_GID"] = String(developer.gid)
        environment["VIGIL_E2E_USER"] = Developer.name
        environment["VIGIL_E2E_BASE_URL"] = "http://127.0.0.1:\(model.port)"
        environment["VIGIL_E2E_CLAUDE"] = claude
        environment["VIGIL_E2E_PROMPT"] = prompt
        environment["VIGIL_E2E_WRAPPER"] = wrapper ?? ""
        if let socket { environment["VIGIL_E2E_SOCKET"] = socket }
        environment["VIGIL_E2E_LANG"] = language ?? ""

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-m", "--propagation", "private", "/bin/bash", script] + extraArguments
        process.environment = environment
        let stdoutPath = base + "/stream-\(UInt32.random(in: 0...UInt32.max)).jsonl"
        let stderrPath = stdoutPath + ".stderr"
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        let raw = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
        let events = raw.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        return ClaudeRun(status: process.terminationStatus, events: events, stderr: stderr, raw: raw)
    }

    /// `go STEPS:[[call], [call], …]`: one Bash call per turn.
    static func prompt(bash commands: [String]) -> String {
        let steps = commands.map { command -> [[String: Any]] in
            [["name": "Bash", "input": ["command": command, "description": "step"]]]
        }
        let data = try! JSONSerialization.data(withJSONObject: steps, options: [.withoutEscapingSlashes])
        return "go STEPS:" + String(decoding: data, as: UTF8.self)
    }

    func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: work + "/" + relative)
    }
}
