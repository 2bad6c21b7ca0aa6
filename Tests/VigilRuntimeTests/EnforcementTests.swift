// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Logging
import Testing
import VigilAudit
import VigilCore
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTestSupport

/// The runs log nothing the tests read.
let silentLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

let sharedSensor: Result<Sensor, SensorError> = Result { () throws(SensorError) in try Sensor() }

/// A temporary workspace: a secret, an audit log with a fresh key, and the policy.
struct Workspace {
    let dir: String
    var audit: String { dir + "/audit" }
    var secret: String { dir + "/secret/key.txt" }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir + "/secret", withIntermediateDirectories: true)
        try "TOPSECRET-\(getpid())".write(toFile: secret, atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: audit, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let signer = try Ed25519FileSigner.generate(name: "vigil/test")
        try signer.write(toKeyFile: AuditLogLayout(directory: audit).defaultPrivateKey)
    }

    /// The account the command runs as, as deployed (`vigil run --as-user`): the developer, who
    /// owns the workspace (it writes its output there, and the files the policy protects are its
    /// own: only Vigil stands between it and them). The audit log stays root's.
    func developer() throws -> UserAccount {
        let developer = try Developer.account()
        guard Glibc.chown(dir, developer.uid, developer.gid) == 0 else { throw Privileges.Missing(description: "chown \(dir): errno \(errno)") }
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name != "audit" { try developer.own(dir + "/" + name) }
        return try UserAccount.named(Developer.name)
    }

    func run(policy yaml: String, _ argv: [String]) async throws -> (RunSummary, [AuditEntry], VerificationReport) {
        let policy = try Policy(yaml: yaml, file: "test.yaml")
        let account = try developer()
        let log = try AuditLog.open(directory: audit, signer: try Ed25519FileSigner(keyFile: AuditLogLayout(directory: audit).defaultPrivateKey))
        let runner = Runner(
            sensor: try sharedSensor.get(),
            configuration: RunConfiguration(
                policy: policy, identity: Identity(user: "dev"), home: account.home, deviceID: "test-device", account: account), audit: log,
            logger: silentLogger)
        let collected = Entries()
        let summary = try await runner.run(command: argv) { collected.add($0.entry) }
        try log.close()
        let report = try AuditVerifier.verify(directory: audit)
        return (summary, collected.entries, report)
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: dir) }
}

final class Entries: @unchecked Sendable {
    var entries: [AuditEntry] = []
    func add(_ e: AuditEntry) { entries.append(e) }
}

/// Runs a shell snippet, capturing stdout to a file the test reads back.
func shell(_ script: String, out: String) -> [String] { ["/bin/sh", "-c", "{ " + script + "; } > \(out) 2>&1"] }

@Suite(.serialized) struct EnforcementTests {
    @Test(.requires(.bpf)) func deniedConnectGetsEPERMAndNoPacket() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let listener = try TCPListener()
        let policy = "vigil: 1\nrules:\n  - {id: no-port, match: 'Connect(127.0.0.1:\(listener.port))', action: deny}\n"
        let out = w.dir + "/out"
        let (summary, entries, report) = try await w.run(
            policy: policy,
            shell("bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(listener.port)'; echo rc=$?", out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("Operation not permitted") && text.contains("rc=1"), "\(text)")
        #expect(!listener.hasPendingConnection, "a connection reached the listener")
        let denied = try #require(entries.first { $0.kind == .connect && $0.decision == .deny })
        #expect(denied.winningRule == "no-port")
        #expect(denied.enforcement?.action == "cgroup-deny" && denied.enforcement?.succeeded == true)
        #expect(!denied.ancestry.isEmpty && denied.ancestry.first?.sha256 != nil)
        let developer = try Developer.account()
        #expect(denied.subject?.uid == developer.uid && denied.subject?.userName == Developer.name)
        #expect(summary.networkDenied >= 1)
        #expect(report.isValid, "\(report)")
    }

    @Test(.requires(.bpf)) func ioUringConnectAndOpenAreDeniedToo() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let listener = try TCPListener()
        let helper = try Privileges.helper("uring_probe")
        try Developer.account().mustExecute(helper)
        let policy = """
            vigil: 1
            rules:
              - {id: no-port, match: 'Connect(127.0.0.1:\(listener.port))', action: deny}
              - {id: no-secret, match: 'Open(\(w.dir)/secret/**)', action: deny}
            """
        let out = w.dir + "/out"
        let (_, entries, report) = try await w.run(policy: policy, shell("\(helper) \(w.secret) \(listener.port)", out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("open -1"), "\(text)")  // EPERM, through io_uring
        #expect(text.contains("connect -1"), "\(text)")
        #expect(!listener.hasPendingConnection)
        #expect(entries.contains { $0.kind == .open && $0.decision == .deny && $0.winningRule == "no-secret" })
        #expect(entries.contains { $0.kind == .connect && $0.decision == .deny })
        #expect(report.isValid, "\(report)")
    }

    @Test(.requires(.bpf)) func deniedOpenNeverReturnsDataEvenThroughAnInterpreter() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let policy = "vigil: 1\nrules:\n  - {id: no-secret, match: 'Open(\(w.dir)/secret/**)', action: deny}\n"
        let out = w.dir + "/out"
        let script = "cat \(w.secret); python3 -c \"print(open('\(w.secret)').read())\"; echo done"
        let (summary, entries, report) = try await w.run(policy: policy, shell(script, out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(!text.contains("TOPSECRET"), "\(text)")
        #expect(text.contains("PermissionError") && text.contains("done"))
        #expect(entries.filter { $0.kind == .open && $0.decision == .deny }.count >= 2)
        let developer = try Developer.account()
        #expect(entries.filter { $0.kind == .open && $0.decision == .deny }.allSatisfy { $0.subject?.uid == developer.uid })
        #expect(summary.auditEntries == entries.count)
        #expect(report.isValid, "\(report)")
    }

    @Test(.requires(.bpf)) func deniedExecNeverRuns() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let tool = w.dir + "/dropper"
        let marker = w.dir + "/ran"
        try "#!/bin/sh\ntouch \(marker)\n".write(toFile: tool, atomically: false, encoding: .utf8)
        chmod(tool, 0o755)
        let policy = "vigil: 1\nrules:\n  - {id: no-dropper, match: 'Exec(\(tool))', action: deny}\n"
        let out = w.dir + "/out"
        let (_, entries, _) = try await w.run(policy: policy, shell("\(tool); echo rc=$?", out: out))
        #expect(!FileManager.default.fileExists(atPath: marker))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("Permission denied") || text.contains("not permitted"), "\(text)")
        #expect(entries.contains { $0.kind == .exec && $0.decision == .deny && $0.winningRule == "no-dropper" })
    }

    @Test(.requires(.bpf)) func aDeniedNameThatFanotifyCannotMarkIsKilledInTheKernelBeforeItRuns() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        // Made after the marks could be placed, outside every bin directory: a binary and a script.
        let binary = w.dir + "/fetcher", script = w.dir + "/fetcher.sh", marker = w.dir + "/ran"
        try FileManager.default.copyItem(atPath: "/usr/bin/touch", toPath: binary)
        try "#!/bin/sh\ntouch \(marker)\n".write(toFile: script, atomically: false, encoding: .utf8)
        chmod(script, 0o755)
        let policy =
            "vigil: 1\nrules:\n  - {id: no-fetcher, match: 'Exec(fetcher)', action: deny}\n  - {id: no-fetcher-sh, match: 'Exec(fetcher.sh)', action: deny}\n"
        let out = w.dir + "/out"
        let (summary, entries, report) = try await w.run(
            policy: policy,
            shell("\(binary) \(marker); echo rc=$?; \(script); echo rc2=$?", out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(!FileManager.default.fileExists(atPath: marker), "\(text)")
        #expect(text.contains("rc=137") && text.contains("rc2=137"), "\(text)")
        let kills = entries.filter { $0.kind == .exec && $0.enforcement?.action == "bpf-sigkill" }
        #expect(Set(kills.compactMap(\.winningRule)) == ["no-fetcher", "no-fetcher-sh"])
        #expect(summary.decisions["kill"] == 2)
        #expect(report.isValid, "\(report)")
    }

    @Test(.requires(.bpf)) func theRootOfTheSessionGetsEPERMLikeEveryProcess() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let secret = w.dir + "/vault/token"
        try FileManager.default.createDirectory(atPath: w.dir + "/vault", withIntermediateDirectories: true)
        try "TOKEN-\(getpid())".write(toFile: secret, atomically: false, encoding: .utf8)
        let policy = "vigil: 1\nrules:\n  - {id: no-vault, match: 'Open(\(w.dir)/vault/**)', action: deny}\n"
        let out = w.dir + "/out"
        // The root (sh) itself, by a redirect: refused, not flagged, and it lives on to say so.
        let script = "read x < \(secret); echo root-read=$? x=$x; echo alive"
        let (_, entries, report) = try await w.run(policy: policy, shell(script, out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(!text.contains("TOKEN-"), "\(text)")
        #expect(text.contains("alive") && !text.contains("root-read=0"), "\(text)")
        #expect(
            entries.contains { $0.kind == .open && $0.decision == .deny && $0.enforcement?.action == "fanotify-deny" && $0.winningRule == "no-vault" }
        )
        #expect(!entries.contains { $0.decision == .flag })
        #expect(report.isValid, "\(report)")
    }

    @Test(.requires(.bpf)) func aDeniedFileNameAnywhereKillsTheOpenerInTheKernelTheRootIncluded() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        // Created after any mark could be placed, in a directory no rule names.
        let key = w.dir + "/deep/er/id_vigiltest"
        try FileManager.default.createDirectory(atPath: w.dir + "/deep/er", withIntermediateDirectories: true)
        try "PRIVATE-KEY-\(getpid())".write(toFile: key, atomically: false, encoding: .utf8)
        let policy = "vigil: 1\nrules:\n  - {id: no-keys, match: 'Open(**/id_vigiltest)', action: deny}\n"
        let out = w.dir + "/out"
        // A child cat tries (killed before it reads), then the root (sh) itself: `vigil run`'s command is
        // no pinned Claude Code, so it is spared nothing and is killed as well.
        let script = "cat \(key); echo cat=$?; read x < \(key); echo root-read=$?"
        let (summary, entries, report) = try await w.run(policy: policy, shell(script, out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("cat=137") && !text.contains("root-read="), "\(text)")
        #expect(!text.contains("PRIVATE-KEY"), "\(text)")
        let kills = entries.filter {
            $0.kind == .open && $0.decision == .kill && $0.enforcement?.action == "bpf-sigkill" && $0.winningRule == "no-keys"
        }
        #expect(kills.count == 2, "\(entries.map { "\($0.kind) \($0.decision.map(\.rawValue) ?? "-") \($0.enforcement?.action ?? "-")" })")
        #expect(!entries.contains { $0.decision == .flag })
        #expect(summary.userSpaceRules.contains { $0.contains("SIGKILLed in the kernel") })
        #expect(report.isValid, "\(report)")
    }

    @Test(.requires(.bpf)) func whatNoKernelMechanismHoldsIsKilledTheRootIncluded() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let pem = w.dir + "/server.pem"
        try "KEY".write(toFile: pem, atomically: false, encoding: .utf8)
        // No fixed directory: fanotify cannot mark it; the open is seen, then the opener killed.
        let policy = "vigil: 1\nrules:\n  - {id: no-pem, match: 'Open(**/*.pem)', action: deny}\n"
        let out = w.dir + "/out"
        // A child opens it (killed), then the root (sh) itself: no process of `vigil run` is spared.
        let script = "sh -c 'exec 3< \(pem); sleep 5; echo survived'; echo child=$?; exec 4< \(pem); sleep 5; echo root-survived"
        let (summary, entries, _) = try await w.run(policy: policy, shell(script, out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(!text.contains("survived"), "\(text)")
        #expect(text.contains("child=137") || text.contains("child=143") || text.contains("Killed"), "\(text)")
        #expect(entries.filter { $0.kind == .open && $0.decision == .kill && $0.enforcement?.succeeded == true }.count == 2)
        #expect(!entries.contains { $0.decision == .flag })
        #expect(summary.userSpaceRules.contains { $0.contains("no-pem") || $0.contains("*.pem") })
    }

    @Test func aPolicyThatDoesNotCompileRunsNothing() async throws {
        #expect(throws: PolicyError.self) {
            _ = try Policy(yaml: "vigil: 1\nrules:\n  - {id: x, match: 'Connect(', action: deny}\n", file: "bad.yaml")
        }
    }
}

/// In the same serialized suite: the tests share one sensor, which runs one session at a time.
extension EnforcementTests {
    @Test(.requires(.bpf)) func aRuleConditionedOnEDRStartsApplyingWithinASecondOfTheEDRDying() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let listener = try TCPListener()
        // A stand-in endpoint-protection process: a copy of sleep under a configured EDR name.
        let edrBinary = w.dir + "/vigil-test-edr"
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: edrBinary)
        let edr = Process()
        edr.executableURL = URL(fileURLWithPath: edrBinary)
        edr.arguments = ["60"]
        try edr.run()
        defer { if edr.isRunning { kill(edr.processIdentifier, SIGKILL) } }
        var configuration = PostureConfiguration()
        configuration.endpointProtectionProcessNames = ["vigil-test-edr"]
        let monitor = PostureMonitor(prober: PostureProber(configuration: configuration))
        #expect(monitor.current[.edrRunning] == .bool(true))

        let policy = try Policy(
            yaml: """
                vigil: 1
                rules:
                  - {id: no-net-without-edr, match: 'Connect(127.0.0.1:\(listener.port))', action: deny, when: edr_running == false}
                """, file: "posture.yaml")
        let account = try w.developer()
        let log = try AuditLog.open(directory: w.audit, signer: try Ed25519FileSigner(keyFile: AuditLogLayout(directory: w.audit).defaultPrivateKey))
        let runner = Runner(
            sensor: try sharedSensor.get(),
            configuration: RunConfiguration(
                policy: policy, identity: Identity(user: "dev"), home: account.home, deviceID: "test-device", posture: monitor,
                account: account), audit: log, logger: silentLogger)
        let out = w.dir + "/out", phase1 = w.dir + "/phase1", go = w.dir + "/go"
        let script = """
            bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(listener.port)' && echo first=ok; touch \(phase1)
            while [ ! -e \(go) ]; do sleep 0.05; done; sleep 1
            bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(listener.port)'; echo second=$?
            """
        // The controller: once the first connect went through, the EDR dies; one second later
        // the agent connects again.
        let controller = Thread {
            while !FileManager.default.fileExists(atPath: phase1) { usleep(20_000) }
            kill(edr.processIdentifier, SIGKILL)  // SIGTERM may be ignored (inherited from the test runner)
            edr.waitUntilExit()
            FileManager.default.createFile(atPath: go, contents: nil)
        }
        controller.start()
        let collected = Entries()
        let summary = try await runner.run(command: shell(script, out: out)) { collected.add($0.entry) }
        try log.close()
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.contains("first=ok"), "\(text)")
        #expect(text.contains("second=1") && text.contains("Operation not permitted"), "\(text)")
        #expect(summary.postureChanges >= 1)
        let change = try #require(collected.entries.first { $0.kind == .posture })
        #expect(change.extra["change.edr_running"]?.contains("true") == true && change.extra["change.edr_running"]?.contains("false") == true)
        let connects = collected.entries.filter { $0.kind == .connect }
        #expect(connects.first?.decision == .allow)
        #expect(connects.last?.decision == .deny && connects.last?.winningRule == "no-net-without-edr")
        #expect(connects.first?.postureRef != connects.last?.postureRef)
        #expect(try AuditVerifier.verify(directory: w.audit).isValid)
    }
}
