// SPDX-License-Identifier: Apache-2.0
// Deny means deny, end to end with the real vigild and the real Claude Code 2.1.330: a process inside a
// session cannot start (or become the root of) another one; Claude Code's own Read tool never returns a
// file a kernel rule protects — by its name, through a symlink, or through a hard link to a protected
// inode; and hundreds of session starts and ends never open a moment in which a reader gets through.
import Foundation
import Glibc
import Testing
import VigilAudit
import VigilTestSupport

@Suite(.serialized, .requires(.root, .bpf, .fanotify, .claudeCode))
struct SessionBoundaryEndToEndTests {
    private func world(_ name: String, vault: Bool = true) throws -> (ClaudeWorld, token: String) {
        let world = try ClaudeWorld.make(name)
        let token = "VAULT-TOKEN-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: world.work + "/vault", withIntermediateDirectories: true)
        try (token + "\n").write(toFile: world.work + "/vault/token", atomically: false, encoding: .utf8)
        try "API_KEY=\(token)\n".write(toFile: world.work + "/.env", atomically: false, encoding: .utf8)
        try "hello from the project\n".write(toFile: world.work + "/README.md", atomically: false, encoding: .utf8)
        try world.writePolicy(
            """
            vigil: 1
            version: "boundary-1"
            defaults:
              tool: allow
            rules:
              - id: no-env-files
                match: Open(**/.env)
                action: deny
                reason: Secrets belong in the vault.
              - id: no-vault
                match: Open(\(world.work)/vault/**)
                action: deny
                reason: The vault is not the agent's.
            """)
        return (world, token)
    }

    /// `go STEPS:[[call], …]`: one tool call per turn, any tool.
    private static func prompt(_ calls: [(String, [String: String])]) -> String {
        let steps = calls.map { [["name": $0.0, "input": $0.1]] }
        let data = try! JSONSerialization.data(withJSONObject: steps, options: [.withoutEscapingSlashes])
        return "go STEPS:" + String(decoding: data, as: UTF8.self)
    }

    /// Every request the model received, as text: what reached the model.
    private static func modelSaw(_ world: ClaudeWorld) throws -> String {
        try FileManager.default.contentsOfDirectory(atPath: world.requests).sorted()
            .map { (try? String(contentsOfFile: world.requests + "/" + $0, encoding: .utf8)) ?? "" }.joined(separator: "\n")
    }

    private static func entries(_ world: ClaudeWorld) throws -> [AuditEntry] {
        try AuditVerifier.readEntries(directory: world.audit).leaves.map(\.entry)
    }

    @Test func aProcessInsideASessionCannotStartAnother() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let (world, _) = try world("nested")
        defer { world.remove() }
        try world.handOver()
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }
        // A tool call asks vigild for a session of its own, rooted at itself (it would be spared from kills).
        let run = try world.claude(
            Self.prompt([("Bash", ["command": "\(vigil) claude --version; echo nested=$?", "description": "nest"])]),
            model: model, wrapper: vigil, socket: daemon.socket)
        #expect(run.status == 0, "claude: \(run.stderr)")
        let result = try #require(try model.toolResults()["toolu_00_0"])
        #expect(result.text.contains("nested=77") && result.text.contains("inside session"), "\(result.text)")
        #expect(!result.text.contains("(Claude Code)"), "the nested claude must not have run: \(result.text)")
        try daemon.wait("the session to end") { try daemon.sessions(origin: "wrapped").contains { $0["endedAt"] != nil } }
        #expect(try daemon.sessions(origin: "wrapped").count == 1, "no second session was started")
        daemon.stop()
        let refused = try Self.entries(world).filter { $0.extra["event"] == "vigilSessionRefused" }
        #expect(refused.count == 1 && refused.first?.decision == .deny, "\(refused)")
        try daemon.verifyAudit()
    }

    @Test func claudeCodesOwnReadNeverReturnsAProtectedFile() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let (world, token) = try world("read")
        defer { world.remove() }
        symlink(world.work + "/.env", world.work + "/settings.txt")
        #expect(Glibc.link(world.work + "/vault/token", world.work + "/notes.txt") == 0)
        try world.handOver()
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }
        let run = try world.claude(
            Self.prompt([
                ("Read", ["file_path": world.work + "/.env"]),
                ("Read", ["file_path": world.work + "/settings.txt"]),
                ("Read", ["file_path": world.work + "/notes.txt"]),
                ("Read", ["file_path": "/proc/self/root" + world.work + "/vault/token"]),
                ("Bash", ["command": "python3 -c \"print(open('notes.txt').read())\"; echo py=$?", "description": "py"]),
                ("Read", ["file_path": world.work + "/README.md"]),
            ]), model: model, wrapper: vigil, socket: daemon.socket)
        #expect(run.status == 0, "claude: \(run.stderr)")
        let results = try model.toolResults()
        for id in ["toolu_00_0", "toolu_01_0", "toolu_02_0", "toolu_03_0"] {
            let result = results[id]
            #expect(result?.isError == true && result?.text.contains("kernel rule") == true, "\(id): \(String(describing: result))")
        }
        #expect(results["toolu_00_0"]?.text.contains("Secrets belong in the vault.") == true)
        #expect(results["toolu_04_0"]?.text.contains("py=0") == false, "\(String(describing: results["toolu_04_0"]))")
        #expect(results["toolu_05_0"]?.text.contains("hello from the project") == true, "the neighbour still works")
        #expect(!(try Self.modelSaw(world)).contains(token), "the secret reached the model")
        daemon.stop()
        let denials = try Self.entries(world).filter { $0.decision == .deny || $0.decision == .kill }
        #expect(denials.contains { $0.kind == .toolCall && $0.winningRule == "no-env-files" })
        // The hard link (decided by its inode's protected name) and the /proc/self/root path (by its real path).
        #expect(
            denials.filter { $0.kind == .toolCall && $0.winningRule == "no-vault" }.count == 2,
            "\(denials.map { "\($0.kind) \($0.winningRule ?? "") \($0.action.path ?? "")" })")
        #expect(denials.contains { $0.kind == .open && $0.extra["protectedName"] == world.work + "/vault/token" })
        try daemon.verifyAudit()
    }

    /// The starter policy on an ordinary session: Claude Code's own start (its config, its shell
    /// snapshot) is not reported as a flag, and a project file reads as usual.
    @Test func theStarterPolicyFlagsNothingOnAnOrdinarySession() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let (world, _) = try world("starter")
        defer { world.remove() }
        try world.writePolicy(try String(contentsOfFile: ClaudeE2E.packageRoot + "/packaging/policy.example.yaml", encoding: .utf8))
        try world.handOver()
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }
        let run = try world.claude(
            Self.prompt([
                ("Bash", ["command": "ls; cat README.md", "description": "look"]),
                ("Read", ["file_path": world.work + "/README.md"]),
            ]), model: model, wrapper: vigil, socket: daemon.socket)
        #expect(run.status == 0, "claude: \(run.stderr)")
        #expect(try model.toolResults()["toolu_01_0"]?.text.contains("hello from the project") == true)
        try daemon.wait("the session to end") { try daemon.sessions(origin: "wrapped").contains { $0["endedAt"] != nil } }
        daemon.stop()
        // Of this session's entries: agents other suites run outside Vigil meanwhile are reported too, rightly.
        let flagged = try Self.entries(world).filter {
            $0.sessionId != nil && ($0.decision == .flag || $0.decision == .kill || $0.decision == .deny)
        }
        #expect(
            flagged.isEmpty,
            "\(flagged.map { "\($0.kind) \($0.decision.map(\.rawValue) ?? "") \($0.winningRule ?? "") \($0.action.path ?? "") \($0.extra)" })")
        try daemon.verifyAudit()
    }

    /// Work handed to a process outside the session: a local web server that was running before the
    /// session (it can read what the session may not) is refused at connect — by curl and by Python
    /// alike — and audited with its pid, executable and the mechanism; the allowed neighbours still work:
    /// the model API on loopback (`Peer(model-api)`), an allow-listed local service, and a dev server the
    /// session started itself.
    @Test func workHandedToAProcessOutsideTheSessionIsRefused() throws {
        let vigil = try ClaudeE2E.vigilBinary()
        let (world, token) = try world("peer")
        defer { world.remove() }
        try FileManager.default.createDirectory(atPath: world.base + "/db", withIntermediateDirectories: true)
        try "rows=42\n".write(toFile: world.base + "/db/db.txt", atomically: false, encoding: .utf8)
        let proxy = try LocalServer.start(serving: world.work + "/vault")  // started before the session, as root
        defer { proxy.child.stop() }
        let database = try LocalServer.start(serving: world.base + "/db")
        defer { database.child.stop() }
        let devPort = Int.random(in: 20_000...40_000)
        try world.writePolicy(
            """
            vigil: 1
            version: "peer-1"
            defaults:
              tool: allow
            rules:
              - id: no-vault
                match: Open(\(world.work)/vault/**)
                action: deny
                reason: The vault is not the agent's.
              - id: boundary
                match: Peer(*)
                action: deny
                reason: Work stays inside the session.
              - id: model
                match: Peer(model-api)
                action: allow
                overrides: [boundary]
              - id: local-db
                match: Peer(localhost:\(database.port))
                action: allow
                overrides: [boundary]
            """)
        try world.handOver()
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        let model = try MockModel.start(dumpDirectory: world.requests)
        defer { model.child.stop() }
        let run = try world.claude(
            Self.prompt([
                ("Bash", ["command": "curl -s -m 5 http://127.0.0.1:\(proxy.port)/token; echo curl=$?", "description": "proxy"]),
                (
                    "Bash",
                    [
                        "command":
                            "python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:\(proxy.port)/token', timeout=5).read())\"; echo py=$?",
                        "description": "python",
                    ]
                ),
                ("Bash", ["command": "curl -s -m 5 http://127.0.0.1:\(database.port)/db.txt; echo db=$?", "description": "db"]),
                (
                    "Bash",
                    [
                        "command":
                            "timeout 30 python3 -m http.server --bind 127.0.0.1 \(devPort) >/dev/null 2>&1 & for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -m 5 http://127.0.0.1:\(devPort)/README.md && break; sleep 0.5; done; kill $!",
                        "description": "dev server",
                    ]
                ),
            ]), model: model, wrapper: vigil, socket: daemon.socket)
        #expect(run.status == 0, "claude (the model API is reached across the boundary): \(run.stderr)")
        let results = try model.toolResults()
        #expect(results["toolu_00_0"]?.text.contains("curl=7") == true, "\(String(describing: results["toolu_00_0"]))")
        #expect(results["toolu_01_0"]?.text.contains("Operation not permitted") == true, "\(String(describing: results["toolu_01_0"]))")
        #expect(results["toolu_02_0"]?.text.contains("rows=42") == true, "the allow-listed service: \(String(describing: results["toolu_02_0"]))")
        #expect(
            results["toolu_03_0"]?.text.contains("hello from the project") == true,
            "the session's own dev server: \(String(describing: results["toolu_03_0"]))")
        #expect(!(try Self.modelSaw(world)).contains(token), "the secret reached the model")
        let session = try #require(try daemon.sessions(origin: "wrapped").first?["id"] as? String)
        // `vigil session show` reads this timeline: the refused crossing, its peer and the mechanism.
        let refusedInTimeline: ([String: Any]) -> Bool = {
            ($0["text"] as? String)?.contains("crossing to pid \(proxy.pid)") == true && $0["decision"] as? String == "deny"
                && ($0["mechanism"] as? String)?.hasPrefix("cgroup-deny") == true
        }
        try? daemon.wait("the refused crossing in the session's timeline") { try daemon.timeline(session).contains(where: refusedInTimeline) }
        let timeline = try daemon.timeline(session)
        #expect(
            timeline.contains(where: refusedInTimeline),
            "\(timeline.filter { ($0["text"] as? String)?.contains("crossing") == true }.map { "\($0["text"] ?? "") \($0["decision"] ?? "") \($0["mechanism"] ?? "")" })"
        )
        let sensor = try daemon.status()["sensor"] as? [String: Any]
        #expect((sensor?["peerDenied"] as? Int ?? 0) >= 2, "\(String(describing: sensor))")
        daemon.stop()

        let crossings = try Self.entries(world).filter { $0.extra["boundary"] == "crossing" }
        let refused = crossings.filter { $0.decision == .deny && $0.action.port == UInt16(proxy.port) }
        #expect(
            refused.count >= 2, "curl and python3 were both refused: \(crossings.map { "\($0.action.port ?? 0) \($0.decision?.rawValue ?? "")" })")
        for entry in refused {
            #expect(entry.winningRule == "boundary" && entry.extra["reason"] == "Work stays inside the session.")
            #expect(entry.enforcement?.action == "cgroup-deny" && entry.enforcement?.succeeded == true)
            #expect(entry.enforcement?.detail?.contains("session boundary") == true)
            #expect(entry.extra["peer_pid"] == String(proxy.pid), "\(entry.extra)")
            #expect(entry.extra["peer_exe"]?.contains("python3") == true, "\(entry.extra)")
        }
        #expect(crossings.contains { $0.decision == .allow && $0.winningRule == "local-db" && $0.extra["peer_pid"] == String(database.pid) })
        #expect(
            crossings.contains { $0.decision == .allow && $0.winningRule == "model" && $0.action.port == UInt16(model.port) },
            "the model API crossing is allowed by Peer(model-api)")
        #expect(!crossings.contains { $0.action.port == UInt16(devPort) }, "the session's own server is not a crossing")
        try daemon.verifyAudit()
    }

    /// The session boundary holds at every moment: while a reader inside one session opens a protected
    /// file every 5 ms or so, 100 other sessions start and end (each start and end re-plans the marks).
    /// Each start's own root, reading the file at once, is refused too: its rules are in force before it is tagged.
    @Test func hundredsOfSessionStartsNeverLetAReaderThrough() throws {
        let starts = Int(ProcessInfo.processInfo.environment["VIGIL_RACE_STARTS"] ?? "") ?? 300
        let vigil = try ClaudeE2E.vigilBinary()
        let (world, token) = try world("race")
        defer { world.remove() }
        let daemon = try DaemonUnderTest.start(world: world)
        defer { daemon.stop() }
        var environment = ProcessInfo.processInfo.environment
        environment["VIGIL_SOCKET"] = daemon.socket
        let vaultToken = world.work + "/vault/token"
        // The reader: a session whose root is a Python loop over the protected file.
        let readerOut = world.base + "/reader.out"
        FileManager.default.createFile(atPath: readerOut, contents: nil)
        try world.handOver()
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        // One process (no fork per read): each open is one denied, audited event, about 200 a second.
        reader.arguments =
            Array(world.developer.command([vigil]).dropFirst()) + [
                "claude", "-c",
                """
                import os, time
                n = 0
                while not os.path.exists("\(world.base)/stop"):
                    try:
                        print(open("\(vaultToken)").read())
                    except OSError:
                        pass
                    n += 1
                    time.sleep(0.005)
                print("reads=%d" % n)
                """,
            ]
        var readerEnvironment = environment
        readerEnvironment["VIGIL_CLAUDE_BIN"] = "/usr/bin/python3"
        reader.environment = readerEnvironment
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: readerOut))
        reader.standardOutput = handle
        reader.standardError = handle
        try reader.run()
        var startsRefused = 0
        var others: [String] = []
        environment["VIGIL_CLAUDE_BIN"] = "/bin/cat"
        // Where the time goes, printed at the end: each start, and the waits to stay below the limit.
        var startNanoseconds: [UInt64] = [], waitedNanoseconds: UInt64 = 0
        let begun = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<starts {
            // vigild holds at most 64 live sessions per user; the looping reader keeps it busy, so ended
            // sessions are reaped a little behind: stay below the limit rather than be refused with 429.
            // (A `for … where` here asked vigild 200 times per start: the where filters, it never stops.)
            let waitBegun = DispatchTime.now().uptimeNanoseconds
            var polls = 0
            while polls < 200, try daemon.sessions(origin: "wrapped").filter({ $0["endedAt"] == nil }).count >= 48 {
                usleep(50_000)
                polls += 1
            }
            let startBegun = DispatchTime.now().uptimeNanoseconds
            waitedNanoseconds += startBegun - waitBegun
            let start = try world.run([vigil, "claude", vaultToken], environment: environment, asDeveloper: true)
            startNanoseconds.append(DispatchTime.now().uptimeNanoseconds - startBegun)
            #expect(!start.output.contains(token), "a new session's root read the token: \(start.output)")
            if start.status != 0 && start.output.contains("not permitted") { startsRefused += 1 } else { others.append(start.output) }
        }
        let sorted = startNanoseconds.sorted()
        print(
            "session starts: \(starts) in \((DispatchTime.now().uptimeNanoseconds - begun) / 1_000_000) ms; per start "
                + "p50 \(sorted[sorted.count / 2] / 1_000_000) ms, p90 \(sorted[sorted.count * 9 / 10] / 1_000_000) ms, "
                + "max \(sorted.last! / 1_000_000) ms; waiting to stay below 48 live sessions \(waitedNanoseconds / 1_000_000) ms")
        FileManager.default.createFile(atPath: world.base + "/stop", contents: nil)
        reader.waitUntilExit()
        try handle.close()
        let readerText = try String(contentsOfFile: readerOut, encoding: .utf8)
        #expect(!readerText.contains(token), "the looping reader got through")
        #expect(readerText.contains("reads="), "\(readerText)")
        #expect(Int(readerText.split(separator: "=").last.map { $0.filter(\.isNumber) } ?? "") ?? 0 > 100, "the reader kept reading: \(readerText)")
        #expect(startsRefused == starts, "every new root got EPERM: \(startsRefused); otherwise: \(Set(others).prefix(5))")
        daemon.stop()
        try daemon.verifyAudit()
    }
}

/// A small HTTP server outside every session (run as root by the test): it serves a directory.
private struct LocalServer {
    let child: Child
    let port: Int
    var pid: Int32 { child.process.processIdentifier }

    static func start(serving directory: String) throws -> LocalServer {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            "-c",
            """
            import functools, http.server, sys
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
            server = http.server.HTTPServer(("127.0.0.1", 0), handler)
            print("PORT", server.server_address[1], flush=True)
            server.serve_forever()
            """, directory,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let child = Child(process)
        let (text, port) = MockModel.announcedPort(pipe)
        guard let port else {
            child.stop()
            throw Privileges.Missing(description: "the local server did not print its port (got '\(text)')")
        }
        return LocalServer(child: child, port: port)
    }
}
