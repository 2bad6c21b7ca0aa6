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
        let servers = try startServers()
        let stream = sensor.start()
        scanRunningAgents()
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [
                .init(service: KernelService(daemon: self, stream: stream)),
                .init(service: ServersService(servers: servers)),
                .init(service: policy.watching(signals: reloadSignals)),
                .init(service: posture),
                .init(service: StopSignalService(signals: stopSignals), successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            logger: logger))
        logger.info("running (pid \(getpid())); hooks at \(configuration.hookHost):\(hookPort), API at \(configuration.socketPath), mode \(enforcementMode)")
        try await group.run()
        try? audit.close()
    }

    /// The control socket, the hook endpoint and the managed-settings drop-in.
    func startServers() throws(DaemonError) -> [HTTPServer] {
        let socketDirectory = (configuration.socketPath as NSString).deletingLastPathComponent
        try DaemonFiles.makeDirectory(socketDirectory, mode: 0o755)
        let control: HTTPServer
        do {
            control = try HTTPServer(listener: .unix(path: configuration.socketPath, mode: 0o666)) { [self] request, connection in
                self.control(request, credentials: connection.peerCredentials)
            }
        } catch {
            throw DaemonError("vigild: the API socket cannot listen: \(error)")
        }
        let hooks: HTTPServer
        do {
            hooks = try HTTPServer(listener: .tcp(host: configuration.hookHost, port: configuration.hookPort)) { [self] request, connection in
                hookEndpoint(request, connection: connection)
            }
        } catch {
            control.stop()
            throw DaemonError("vigild: the hook endpoint cannot listen on \(configuration.hookHost):\(configuration.hookPort): \(error)")
        }
        boundHookPort.store(hooks.port ?? configuration.hookPort, ordering: .relaxed)
        // Every session reaches the hook endpoint across its boundary: never refused, audited as exempt.
        decider.exemptPeers.withLock { $0[hookPort] = "vigild's hook endpoint" }
        decider.exemptUnixPeers.withLock { $0[configuration.socketPath] = "vigild's control socket" }
        if configuration.installHooks {
            do {
                try installDropIn()
            } catch {
                hooks.stop()
                control.stop()
                throw error
            }
        }
        if let portFile = configuration.portFile {
            try DaemonFiles.replace(portFile, with: Array("\(hookPort)\n".utf8), mode: 0o644)
        }
        return [hooks, control]
    }

    func installDropIn() throws(DaemonError) {
        let installer = ManagedSettingsInstaller(root: configuration.installRoot, stateDirectory: configuration.stateDirectory)
        let url = "http://\(configuration.hookHost):\(hookPort)/v1/hook"
        let settings = HookInstallConfiguration(
            vigilPath: "/proc/self/exe", policyPath: configuration.policyPath, timeoutSeconds: configuration.hookTimeoutSeconds,
            allowManagedHooksOnly: true, hookURL: url, failClosed: configuration.failClosed)
        do {
            let report = try installer.install(settings)
            installedDropIn.withLock { $0 = report.path }
        } catch {
            throw DaemonError("vigild: cannot install the Claude Code hooks: \(error)")
        }
    }

    /// POST /v1/hook from Claude Code.
    func hookEndpoint(_ request: HTTPRequest, connection: HTTPConnection) -> HTTPResponse {
        guard request.method == "POST", request.path == "/v1/hook" || request.path.hasPrefix("/v1/hook?") else {
            return .text(status: 404, "vigild: no such endpoint \(request.method) \(request.path)\n")
        }
        let candidates = state.withLock { state in state.sessions.values.map(\.subject.root) + Array(state.unmanaged.keys) }
        let caller: HookCaller
        do {
            let peer = try connection.peer(candidatePIDs: candidates)
            caller = HookCaller(pid: peer.pid, uid: peer.uid, failure: peer.pid == nil ? "no process holds socket:[\(peer.inode)]" : nil)
        } catch {
            caller = HookCaller(pid: nil, uid: nil, failure: "\(error)")
        }
        let answer = hook(body: request.body, caller: caller)
        return answer.status == 200 ? .json(status: 200, Array(answer.body.utf8)) : .text(status: answer.status, answer.body + "\n")
    }

    /// Reloads the policy file (see `PolicyService.reload`).
    @discardableResult
    public func reloadPolicy(trigger: String) -> Result<String, DaemonError> {
        policy.reload(trigger: trigger)
    }
}

// MARK: Services

struct KernelService: Service {
    let daemon: Daemon
    let stream: AsyncStream<SensorBatch>

    func run() async throws {
        await withGracefulShutdownHandler {
            await daemon.runKernel(stream)
        } onGracefulShutdown: {
            daemon.sensor.stop()
        }
    }
}

struct ServersService: Service {
    let servers: [HTTPServer]

    func run() async throws {
        try? await gracefulShutdown()
        for server in servers { server.stop() }
    }
}

/// Returns at the first SIGTERM or SIGINT (trapped before the servers started), which shuts the
/// group down gracefully; returns too when the group shuts down for another reason.
struct StopSignalService: Service {
    let signals: UnixSignalsSequence

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() { return }
    }
}
