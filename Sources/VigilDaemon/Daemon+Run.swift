// SPDX-License-Identifier: Apache-2.0
// Running the daemon: the servers come up first (so the drop-in never points at nothing the
// daemon could answer), then the services run as one group; SIGTERM/SIGINT shut them down in
// reverse order, SIGHUP reloads the policy. The hooks drop-in stays installed when the daemon
// stops: Claude Code then fails closed until it is back (or until `vigil hooks uninstall`).
import Foundation
import Glibc
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals
import VigilAPI
import VigilAudit
import VigilClaude
import VigilCore
import VigilEnforcement
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

extension Daemon {
    /// Runs until SIGTERM or SIGINT.
    public func run() async throws {
        // SIGHUP is trapped before the servers come up: once the socket and the port file exist, a
        // reload may be asked for at any moment, and SIGHUP's default action would kill the daemon
        // (its clients then see their connections reset). One sent early is queued until the
        // policy service reads it.
        let reloadSignals = await UnixSignalsSequence(trapping: .sighup)
        // SIGTERM and SIGINT likewise: one that arrives while the servers start (before the group
        // runs) is held and ends the daemon gracefully, with the audit log closed, instead of
        // killing it.
        let stopSignals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        try startServers()
        let stream = sensor.start()
        sessions.scanRunningAgents()
        let kernel = KernelConsumer(
            sensor: sensor, stream: stream, sessions: sessions, policy: policy, journal: journal, counters: kernelCounters, hasher: hasher)
        // Shut down in reverse: the signals, posture and policy first, then the hook endpoint and the
        // control socket, the kernel consumer last (it drains what the ring still holds).
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: kernel),
                    .init(service: control),
                    .init(service: hooks),
                    .init(service: policy.watching(signals: reloadSignals)),
                    .init(service: posture),
                    .init(service: uplink),
                    .init(service: StopSignalService(signals: stopSignals), successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                logger: logger))
        logger.info(
            "running (pid \(getpid())); hooks at \(configuration.hookHost):\(hooks.port), API at \(configuration.socketPath), mode \(enforcementMode)"
        )
        try await group.run()
        try? journal.audit.close()
    }

    /// The control socket, the hook endpoint and the managed-settings drop-in.
    func startServers() throws(DaemonError) {
        try control.listen()
        do {
            try hooks.listen()
        } catch {
            control.stop()
            throw error
        }
        // Every session reaches the hook endpoint across its boundary: never refused, audited as exempt.
        engine.decider.exemptPeers.withLock { $0[hooks.port] = "vigild's hook endpoint" }
        engine.decider.exemptUnixPeers.withLock { $0[configuration.socketPath] = "vigild's control socket" }
        do {
            if configuration.installHooks { try hooks.installDropIn() }
            if let portFile = configuration.portFile {
                try DaemonFiles.replace(portFile, with: Array("\(hooks.port)\n".utf8), mode: 0o644)
            }
        } catch {
            hooks.stop()
            control.stop()
            throw error
        }
    }
}

// MARK: Services

/// Returns at the first SIGTERM or SIGINT (trapped before the servers started), which shuts the
/// group down gracefully; returns too when the group shuts down for another reason.
struct StopSignalService: Service {
    let signals: UnixSignalsSequence

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() { return }
    }
}
