// SPDX-License-Identifier: Apache-2.0
// vigild: the root daemon. See Sources/VigilDaemon/Daemon.swift.
import ArgumentParser
import Foundation
import Glibc
import Logging
import VigilClaude
import VigilDaemon
import VigilHost

@main
struct VigilD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigild",
        abstract: "The Vigil daemon: kernel sensor, policy, enforcement, signed audit log, Claude Code hooks, local API.",
        discussion: """
            Runs as root until SIGTERM/SIGINT; SIGHUP (or an edit of the policy file) reloads the policy, keeping \
            the previous one if the new one does not compile. Installs Claude Code's managed-settings drop-in \
            (ROOT/etc/claude-code/managed-settings.d/50-vigil.json) pointing every Claude Code on the machine at \
            the hook endpoint, with "onFailure":"block": while the daemon is down, tool calls are blocked.
            """)

    @Option(help: "The policy document (YAML).") var policy = "/etc/vigil/policy.yaml"
    @Option(help: "Sessions, install records, and the audit log by default.") var stateDir = "/var/lib/vigil"
    @Option(help: "The signed audit log (default STATE/audit; a key is made on first start).") var auditDir: String?
    @Option(help: "The audit signing key (default AUDIT/audit.key).") var auditKey: String?
    @Option(help: "The local API socket.") var socket = "/run/vigil/vigild.sock"
    @Option(help: "Hook endpoint port on 127.0.0.1 (0: any free port).") var hookPort: UInt16 = 7378
    @Option(help: "Write the hook port here once listening.") var portFile: String?
    @Option(help: "Install root of the managed-settings drop-in.") var root = "/"
    @Flag(help: "Do not install the Claude Code hooks drop-in.") var noInstallHooks = false
    @Flag(help: "Let tool calls run when the daemon is down or failing (default: blocked).") var failOpen = false
    @Option(help: "Seconds Claude Code waits for a hook answer.") var hookTimeout = 10
    @Option(name: .customLong("claude-binary"), help: "A Claude Code binary (or cli.js) allowed to call the hooks. Repeatable.")
    var claudeBinaries: [String] = []
    @Flag(help: "Do not adopt a Claude Code started outside 'vigil claude' (its hook calls are still decided and audited).")
    var noAdopt = false
    @Option(help: "Comma-separated endpoint-protection process names for the posture probe.") var edrProcesses: String?
    @Option(help: "Least severe level logged on stderr: trace, debug, info, notice, warning, error, critical (default: VIGIL_LOG_LEVEL, else info).")
    var logLevel: String?

    func validate() throws {
        if let name = logLevel ?? ProcessInfo.processInfo.environment["VIGIL_LOG_LEVEL"], Logger.Level(name: name) == nil {
            throw ValidationError("unknown log level '\(name)' (trace, debug, info, notice, warning, error, critical)")
        }
    }

    func run() async throws {
        // A daemon starts with a clean signal mask: a parent that blocked SIGTERM or SIGHUP must not
        // turn graceful shutdown or policy reload off.
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        var configuration = DaemonConfiguration(deviceID: HostIdentity.deviceID())
        configuration.policyPath = policy
        configuration.stateDirectory = stateDir
        configuration.auditDirectory = auditDir
        configuration.auditKey = auditKey
        configuration.socketPath = socket
        configuration.hookPort = hookPort
        configuration.portFile = portFile
        configuration.installRoot = root
        configuration.installHooks = !noInstallHooks
        configuration.failClosed = !failOpen
        configuration.hookTimeoutSeconds = hookTimeout
        configuration.trustedAgentBinaries = claudeBinaries
        configuration.adoptUnwrapped = !noAdopt
        configuration.edrProcessNames = edrProcesses.map { $0.split(separator: ",").map(String.init) }
        // The one place a logger is made: everything below is handed this one.
        let level = (logLevel ?? ProcessInfo.processInfo.environment["VIGIL_LOG_LEVEL"]).flatMap(Logger.Level.init(name:)) ?? .info
        let logger = Logger(label: "vigild") { StandardErrorLogHandler(label: $0, logLevel: level) }
        let daemon: Daemon
        do {
            daemon = try Daemon(configuration: configuration, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG: systemd shows it; nothing was changed
        }
        try await daemon.run()
    }
}
