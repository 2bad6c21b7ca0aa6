// SPDX-License-Identifier: Apache-2.0
// `vigil hook`: the Claude Code command hook (one payload on stdin, one answer on stdout), and
// `vigil hooks install|uninstall|status`: the managed-settings drop-in that makes Claude Code run it.
// Thin glue over VigilClaude; decoding, deciding, recording and the drop-in live there.
import ArgumentParser
import Crypto
import Foundation
import VigilAudit
import VigilClaude
import VigilPosture
import VigilRuntime
import VigilCore
import VigilPolicy
#if canImport(Glibc)
    import Glibc
#endif

extension Vigil {
    struct Hook: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Claude Code hook handler: decide a PreToolUse with the policy, record every event.",
            discussion: """
                Reads one hook payload (JSON) on stdin, as Claude Code sends it. A PreToolUse is decided by \
                the policy for the OS user running Claude Code and answered with \
                {"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":…,"permissionDecisionReason":…}} \
                naming the rule. Other events print nothing. With --audit-dir every event is appended to the \
                signed audit log (key: DIR/audit.key, owned by the user running Claude Code, mode 0600). \
                Fails closed: an unreadable or invalid policy, a malformed payload or an audit failure \
                denies the call with the reason. Installed by 'vigil hooks install'.
                """)

        @Option(name: .long, help: "The policy document (YAML).")
        var policy = "/etc/vigil/policy.yaml"

        @Option(name: .long, help: "Signed audit log directory; every event is appended.")
        var auditDir: String?

        @Option(name: .long, help: "The audit signing key (default DIR/audit.key).")
        var auditKey: String?

        func run() async throws {
            let input = readStandardInput(limit: HookPayload.maximumSize + 1)
            var context = HookHost.context()
            // Device posture as of this call: a rule conditioned on it applies from the next tool
            // call after a change (an EDR that dies mid-session tightens the very next decision).
            var postureConfiguration = PostureConfiguration()
            if let names = ProcessInfo.processInfo.environment["VIGIL_EDR_PROCESSES"], !names.isEmpty {
                postureConfiguration.endpointProtectionProcessNames = names.split(separator: ",").map(String.init)
            }
            let snapshot = PostureProber(configuration: postureConfiguration).snapshot(vigilHealth: nil)
            context.posture = PostureMonitor.facts(snapshot)
            let policyPath = policy
            let audit = auditDir.map { directory -> any HookAuditSink in
                PostureStampedAudit(
                    inner: HookAuditLog(directory: directory, keyFile: auditKey, deviceID: context.deviceID),
                    snapshot: snapshot, stateFile: directory + "/posture.last", deviceID: context.deviceID)
            }
            let handler = HookHandler(
                context: context, loadPolicy: { HookPolicyFile.load(policyPath) }, audit: audit, logger: Vigil.logger("vigil hook"))
            let outcome = handler.handle(input)
            let response = outcome.response
            if !response.stdout.isEmpty { FileHandle.standardOutput.write(Data((response.stdout + "\n").utf8)) }
            if !response.stderr.isEmpty { FileHandle.standardError.write(Data((response.stderr + "\n").utf8)) }
            if response.exitCode != 0 { throw ExitCode(response.exitCode) }
        }

        private func readStandardInput(limit: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while bytes.count < limit {
                let n = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                bytes += chunk[0..<n]
            }
            return bytes
        }
    }

    /// Stamps every hook entry with the posture snapshot it was decided under, and records a
    /// posture change (before and after) the first time a hook sees a snapshot that differs from
    /// the last one this log recorded (kept in DIR/posture.last).
    struct PostureStampedAudit: HookAuditSink {
        let inner: any HookAuditSink
        let snapshot: PostureSnapshot
        let stateFile: String
        let deviceID: String

        var location: String { inner.location }

        func record(_ entry: AuditEntry) throws {
            if let data = FileManager.default.contents(atPath: stateFile),
                let previous = try? JSONDecoder().decode(PostureSnapshot.self, from: data),
                previous.hash != snapshot.hash
            {
                let changes = snapshot.changes(from: previous)
                if !changes.isEmpty {
                    var change = AuditEntry(kind: .posture, deviceId: deviceID, sessionId: entry.sessionId, postureRef: snapshot.hash)
                    change.extra["before"] = previous.hash
                    for c in changes {
                        change.extra["change." + c.key.rawValue] = "\(c.before.map { "\($0)" } ?? "none") -> \(c.after.map { "\($0)" } ?? "none")"
                    }
                    try inner.record(change)
                }
            }
            if let data = try? JSONEncoder().encode(snapshot) {
                let temporary = stateFile + ".\(getpid())"
                if FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) {
                    _ = rename(temporary, stateFile)
                }
            }
            var stamped = entry
            stamped.postureRef = snapshot.hash
            try inner.record(stamped)
        }
    }

    struct Hooks: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install or remove the Claude Code managed-settings drop-in that runs 'vigil hook'.",
            discussion: """
                The drop-in is ROOT/etc/claude-code/managed-settings.d/50-vigil.json: a PreToolUse hook with \
                matcher "*" plus PostToolUse, PostToolUseFailure, UserPromptSubmit, SessionStart, SessionEnd and \
                Stop, each "onFailure":"block" with an explicit timeout, and "allowManagedHooksOnly": true. \
                Managed hooks survive --bare, --setting-sources and disableAllHooks. Uninstall restores \
                exactly what was there (a file of the same name is put back byte for byte).
                """,
            subcommands: [Install.self, Uninstall.self, Status.self]
        )
    }
}

extension Vigil.Hooks {
    struct Location: ParsableArguments {
        @Option(name: .long, help: "Install root (the drop-in goes under ROOT/etc/claude-code).")
        var root = "/"

        @Option(name: .long, help: "Where the install record is kept (default ROOT/var/lib/vigil).")
        var stateDir: String?

        var installer: ManagedSettingsInstaller { ManagedSettingsInstaller(root: root, stateDirectory: stateDir) }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the managed-settings drop-in.")

        @OptionGroup var location: Location

        @Option(name: .long, help: "The policy 'vigil hook' decides with.")
        var policy = "/etc/vigil/policy.yaml"

        @Option(name: .long, help: "Signed audit log directory for 'vigil hook --audit-dir'.")
        var auditDir: String?

        @Option(name: .long, help: "The vigil binary the hook runs (default: this one).")
        var vigil: String?

        @Option(name: .long, help: "Seconds before Claude Code gives up on the hook and blocks the call.")
        var timeout = 30

        @Flag(name: .long, help: "Keep user, project and --settings hooks (omit allowManagedHooksOnly).")
        var allowOtherHooks = false

        @Flag(name: .long, help: "Install even if the policy does not compile now (every call would be denied).")
        var force = false

        func run() async throws {
            let binary = try vigil ?? currentExecutable()
            guard binary.hasPrefix("/") else { throw ValidationError("--vigil must be an absolute path, got \(binary)") }
            guard access(binary, X_OK) == 0 else { throw ValidationError("\(binary) is not executable") }
            guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
            if case .failure(let error) = HookPolicyFile.load(policy) {
                guard force else {
                    throw ValidationError("\(error)\n(every tool call would be denied; fix it, or --force)")
                }
                FileHandle.standardError.write(Data("warning: \(error): every tool call will be denied until it is fixed\n".utf8))
            }
            let configuration = HookInstallConfiguration(
                vigilPath: binary, policyPath: policy, auditDirectory: auditDir, timeoutSeconds: timeout,
                allowManagedHooksOnly: !allowOtherHooks)
            let report = try location.installer.install(configuration)
            print("installed \(report.path)" + (report.reinstalled ? " (reinstall)" : ""))
            if report.replacedExisting { print("kept the file that was there in \(report.recordPath); uninstall restores it") }
            print("record: \(report.recordPath)")
        }

        private func currentExecutable() throws -> String {
            do {
                return try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            } catch {
                throw ValidationError("cannot find this binary's path (/proc/self/exe): give --vigil")
            }
        }
    }

    struct Uninstall: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore exactly what the install found.")

        @OptionGroup var location: Location

        @Flag(name: .long, help: "Restore even if the drop-in was edited since the install.")
        var force = false

        func run() async throws {
            let report = try location.installer.uninstall(force: force)
            print(report.restoredPrevious ? "restored the previous \(report.path)" : "removed \(report.path)")
            for directory in report.removedDirectories { print("removed directory \(directory)") }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show whether the drop-in is installed and unchanged.")

        @OptionGroup var location: Location

        func run() async throws {
            let installer = location.installer
            guard let record = try installer.record() else {
                print("not installed (no record at \(installer.recordPath))")
                throw ExitCode(1)
            }
            let data = FileManager.default.contents(atPath: installer.dropInPath)
            let state: String
            if let data {
                state = SHA256.hexDigest(Array(data)) == record.installedSHA256 ? "installed, unchanged" : "installed, CHANGED since install"
            } else {
                state = "MISSING (recorded as installed)"
            }
            print("\(installer.dropInPath): \(state)")
            print("previous file: \(record.previous.map { "kept (\($0.contents.count) base64 chars, mode \(String($0.mode, radix: 8)))" } ?? "none")")
            if !state.hasPrefix("installed, unchanged") { throw ExitCode(1) }
        }
    }
}
