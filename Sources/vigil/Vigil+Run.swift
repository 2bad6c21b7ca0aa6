// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import VigilAudit
import VigilCore
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

extension Vigil {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a command as a session under a policy: every kernel event decided, enforced and audited.",
            discussion: """
                Connects and sends to denied networks get EPERM from cgroup hooks; execs and opens of \
                files the policy names get EPERM from fanotify; what no kernel mechanism can hold is \
                killed when seen (the session's root is flagged instead). Every decision is appended \
                to the signed audit log in --audit-dir (create its key with 'vigil audit keygen DIR'). \
                Needs root. No daemon: this is how a CI pipeline runs a headless agent under policy. \
                With --as-user NAME the command (only the command) runs as that account, as deployed: \
                its uid, gid and groups, HOME, USER and LOGNAME, from its first instruction.
                """)

        @Option(name: .long, help: "The policy document (YAML).")
        var policy: String

        @Option(name: .long, help: "Signed audit log directory (its key: DIR/audit.key, or --key).")
        var auditDir: String?

        @Option(name: .long, help: "The audit signing key (default DIR/audit.key).")
        var key: String?

        @Option(name: .long, help: "Run the command as this account (uid, gid, groups, HOME); vigil stays root.")
        var asUser: String?

        @Option(name: .long, help: "Identity: user name (default: --as-user, else the invoking user).") var user: String?
        @Option(name: .long, help: "Identity: team (repeatable).") var team: [String] = []
        @Option(name: .long, help: "Identity: role.") var role: String?

        @Flag(name: .long, help: "Print each decided event as a JSON line (the audit entry).")
        var json = false

        @Flag(name: .long, help: "Do not watch device posture (conditions on it are then unknown).")
        var noPosture = false

        @Option(name: .long, help: "An endpoint-protection process name (repeatable; default: the built-in list).")
        var edrProcess: [String] = []

        @Argument(parsing: .captureForPassthrough, help: "The command to run, after --.")
        var command: [String] = []

        func validate() throws {
            let argv = command.first == "--" ? Array(command.dropFirst()) : command
            if argv.isEmpty { throw ValidationError("give the command to run after --") }
        }

        func run() async throws {
            let argv = command.first == "--" ? Array(command.dropFirst()) : command
            let text: String
            do {
                text = try String(contentsOfFile: policy, encoding: .utf8)
            } catch {
                fail("vigil run: cannot read policy \(policy): \(error.localizedDescription)")
            }
            let compiled: VigilPolicy.Policy
            do {
                compiled = try VigilPolicy.Policy(yaml: text, file: policy)
            } catch {
                fail("vigil run: policy rejected, nothing run: \(error)")
            }
            var account: UserAccount?
            if let asUser {
                do { account = try UserAccount.named(asUser) } catch { fail("vigil run: --as-user \(asUser): no such user, nothing run") }
            }
            let userName = user ?? account?.name ?? ProcessInfo.processInfo.environment["SUDO_USER"] ?? NSUserName()
            let home = account?.home ?? ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
            let deviceID =
                (try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ProcessInfo.processInfo.hostName
            var log: AuditLog?
            if let auditDir {
                let keyPath = key ?? AuditLogLayout(directory: auditDir).defaultPrivateKey
                do {
                    let signer = try Ed25519FileSigner(keyFile: keyPath)
                    var options = AuditLog.Options()
                    options.deviceId = deviceID
                    log = try AuditLog.open(directory: auditDir, signer: signer, options: options)
                } catch {
                    fail("vigil run: the audit log cannot be opened, nothing run: \(error)\n(create a key with: vigil audit keygen \(auditDir))")
                }
            }
            let sensor: Sensor
            do {
                sensor = try Sensor()
            } catch {
                fail("\(error)")
            }
            var monitor: PostureMonitor?
            if !noPosture {
                var configuration = PostureConfiguration()
                if !edrProcess.isEmpty { configuration.endpointProtectionProcessNames = edrProcess }
                monitor = PostureMonitor(prober: PostureProber(configuration: configuration))
            }
            signal(SIGINT, SIG_IGN)
            let output = OutputBuffer(fd: 1)
            let json = self.json
            let runner = Runner(
                sensor: sensor,
                configuration: RunConfiguration(
                    policy: compiled, identity: Identity(user: userName, teams: team, role: role, device: deviceID),
                    home: home, deviceID: deviceID, userName: userName, posture: monitor,
                    socketOwner: { SocketOwners.pid(holdingSocketInode: $0) }, account: account),
                audit: log, logger: Vigil.logger("vigil run"))
            let summary: RunSummary
            do {
                summary = try await runner.run(command: argv) { decided in
                    if json {
                        if let line = try? String(decoding: decided.entry.canonicalJSON(), as: UTF8.self) { output.write(line + "\n") }
                    } else if decided.entry.decision != .allow {
                        output.write(
                            "\(decided.entry.decision?.rawValue ?? "?")  \(decided.entry.kind)  "
                                + "\(decided.entry.action.path ?? decided.entry.action.address.map { "\($0):\(decided.entry.action.port ?? 0)" } ?? "")"
                                + "  [\(decided.entry.winningRule ?? "-")] \(decided.entry.enforcement?.action ?? "")\n")
                    }
                }
            } catch {
                output.flush()
                try? log?.close()
                fail("\(error)")
            }
            do { try log?.close() } catch { FileHandle.standardError.write(Data("vigil run: closing the audit log: \(error)\n".utf8)) }
            var s = JSONObjectWriter()
            s.string("kind", "summary")
            s.string("session", String(summary.trace.session, radix: 16))
            s.int("events", Int64(summary.trace.events))
            s.int("dropped", Int64(summary.trace.dropped))
            for (decision, count) in summary.decisions.sorted(by: { $0.key < $1.key }) { s.int(decision, Int64(count)) }
            s.int("network_denied", Int64(summary.networkDenied))
            s.int("enforcement_failures", Int64(summary.enforcementFailures))
            s.int("audit_entries", Int64(summary.auditEntries))
            s.int("posture_changes", Int64(summary.postureChanges))
            if let monitor { s.string("posture", monitor.current.hash) }
            if !summary.auditErrors.isEmpty { s.string("audit_error", summary.auditErrors.joined(separator: "; ")) }
            if !summary.userSpaceRules.isEmpty {
                s.raw("user_space_rules", "[" + summary.userSpaceRules.map { JSONObjectWriter.quote($0) }.joined(separator: ",") + "]")
            }
            if summary.trace.waitStatus != nil { s.int("exit_code", Int64(summary.trace.exitCode)) }
            output.write(s.finish() + "\n")
            output.flush()
            if let warning = summary.hashCacheWarning { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
            if !summary.auditErrors.isEmpty { throw ExitCode(3) }
            if summary.trace.exitCode != 0 { throw ExitCode(summary.trace.exitCode) }
        }

        private func fail(_ message: String) -> Never {
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(2)
        }
    }
}
