// SPDX-License-Identifier: Apache-2.0
// vigild: one sensor, one policy, one audit log, every agent session on the machine.
//
//   kernel ──ring──▶ KernelConsumer ──▶ SessionRegistry (tree, tool-call attribution) ──▶ engine ──▶ journal (audit)
//   Claude Code ──http hook──▶ HookService (authenticated caller) ──▶ policy ──▶ journal, timeline
//   vigil CLI ──unix socket──▶ ControlService (peer credentials) ──▶ StatusReport, sessions, reload
//   PolicyService, PostureService ──▶ engine (re-plans every session's kernel rules and marks)
//
// Each service owns its state and is reached through a narrow interface; `Daemon` only builds
// them and runs them as one service group (Daemon+Run). The engine (`KernelEngine`, the same as
// `vigil run`'s) owns the sessions' subjects, the kernel's rules and the fanotify guard.
import Foundation
import Glibc
import Logging
import VigilAPI
import VigilAudit
import VigilCore
import VigilDevice
import VigilEnforcement
import VigilFleet
import VigilHost
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

public final class Daemon: Sendable {
    public let configuration: DaemonConfiguration
    /// From `main`: every diagnostic goes here, with the session, process and rule as metadata.
    let logger: Logger
    let sensor: Sensor
    /// The one enforcement engine (the same as `vigil run`'s): sessions' subjects, kernel rules,
    /// fanotify marks, re-planning.
    let engine: KernelEngine
    let journal: DaemonJournal
    let policy: PolicyService
    let posture: PostureService
    let sessions: SessionRegistry
    let hooks: HookService
    let control: ControlService
    let kernelCounters = KernelCounters()
    /// One cache of executable hashes for the consumer and the hook-caller check.
    let hasher: ExecutableHasher
    let enforcementMode: String
    /// The console link of an enrolled device (nil: not enrolled).
    let uplink: UplinkService

    /// Loads everything that must work before the daemon may say it runs: the policy (a policy
    /// that does not compile stops the start, naming file, line and column), the sensor, the
    /// audit log (verified before the first append).
    public init(
        configuration: DaemonConfiguration, sensorOptions: SensorOptions = SensorOptions(), logger: Logger
    ) throws(DaemonError) {
        // An enrolled device's console team joins every identity's teams (policy scopes); the uplink
        // service changes it as the device enrols or leaves.
        let teams = DeviceTeams(
            configured: configuration.deviceTeams,
            console: (try? FleetEnrollment(stateDirectory: configuration.stateDirectory).load())??.team)
        self.configuration = configuration
        self.logger = logger
        let loaded: Policy
        switch PolicyFile.load(configuration.policyPath) {
        case .success(let p): loaded = p
        case .failure(let error): throw DaemonError("vigild: \(error)")
        }
        do {
            sensor = try Sensor(options: sensorOptions)
        } catch {
            throw DaemonError("vigild: the kernel sensor cannot start: \(error)")
        }
        journal = DaemonJournal(audit: try Self.openAudit(configuration), logger: logger)
        var postureConfiguration = PostureConfiguration()
        if let names = configuration.edrProcessNames { postureConfiguration.endpointProtectionProcessNames = names }
        let monitor = PostureMonitor(prober: PostureProber(configuration: postureConfiguration))
        let snapshot = monitor.current
        var engineOptions = KernelEngineOptions()
        engineOptions.refuseUnknownSessions = true
        engineOptions.labelGuardEntries = true
        engineOptions.socketOwner = { SocketOwners.pid(holdingSocketInode: $0) }
        engine = KernelEngine(
            sensor: sensor, policy: loaded, deviceID: configuration.deviceID,
            posture: PostureTimeline(facts: PostureMonitor.facts(snapshot), hash: snapshot.hash), options: engineOptions, logger: logger)
        policy = PolicyService(
            path: configuration.policyPath, loaded: loaded, deviceID: configuration.deviceID,
            pollInterval: configuration.policyPollInterval, engine: engine, journal: journal)
        posture = PostureService(monitor: monitor, deviceID: configuration.deviceID, engine: engine, journal: journal)
        let store = SessionStore(directory: configuration.sessionsDirectory)
        try store.prepare()
        // Kept in the state directory so a restart does not read every binary (Claude Code's is 400 MB) again.
        let hashCache = HashCacheFile(path: configuration.stateDirectory + "/cache/exe-sha256")
        hasher = ExecutableHasher(maxBytes: 1 << 30, store: hashCache)
        let trust = AgentTrust(configured: configuration.trustedAgentBinaries, hasher: hasher)
        let bindings = HumanBindings()
        sessions = SessionRegistry(
            deviceID: configuration.deviceID, deviceTeams: teams, bindings: bindings, store: store, sensor: sensor, engine: engine, journal: journal,
            trust: trust)
        hooks = HookService(configuration: configuration, sessions: sessions, policy: policy, journal: journal, trust: trust, logger: logger)
        enforcementMode = Environment.probeFeatures().enforcementMode
        let report = StatusReport(
            deviceID: configuration.deviceID, startedAt: TimelineRecord.now(), enforcementMode: enforcementMode,
            failClosed: configuration.failClosed, sensor: sensor, kernel: kernelCounters, sessions: sessions, policy: policy,
            journal: journal, hooks: hooks)
        control = ControlService(socketPath: configuration.socketPath, sessions: sessions, policy: policy, journal: journal, status: report)
        // Enrolled: the console's last kept bundle is in force before any connection (and without one).
        uplink = UplinkService(
            stateDirectory: configuration.stateDirectory, deviceID: configuration.deviceID, policy: policy, journal: journal,
            enforcementMode: enforcementMode, teams: teams, bindings: bindings, posture: engine.posture, status: { [report] in report.status(for: 0) }
        )
        uplink.startIfEnrolled()
        if let problem = hashCache.problem { journal.noteError("executable hash cache not used: \(problem)") }
        for program in sensor.programs where !program.attached {
            journal.noteError("sensor program \(program.name) not attached: \(String(cString: strerror(program.errorCode ?? 0)))")
        }
    }

    private static func openAudit(_ configuration: DaemonConfiguration) throws(DaemonError) -> AuditLog {
        let directory = configuration.resolvedAuditDirectory
        do {
            try DaemonFiles.makeDirectory(configuration.stateDirectory, mode: 0o700)
            try DaemonFiles.makeDirectory(directory, mode: 0o700)
            // First start: a key of this device's own, the TPM's where there is one (its verifier
            // key is DIR/audit.pub); later starts keep the key the log was made with.
            let signer = try AuditKeys.open(
                directory: directory, keyFile: configuration.auditKey, files: DeviceKeyFiles(stateDirectory: configuration.stateDirectory),
                name: "vigil/\(ProcessInfo.processInfo.hostName)")
            var options = AuditLog.Options()
            options.deviceId = configuration.deviceID
            options.decodeEntriesOnOpen = false
            return try AuditLog.open(directory: directory, signer: signer, options: options)
        } catch let error as AuditError {
            throw DaemonError("vigild: the audit log \(directory) cannot be opened: \(error)")
        } catch let error as DaemonError {
            throw error
        } catch {
            throw DaemonError("vigild: the audit log \(directory) cannot be opened: \(error)")
        }
    }
}

extension Accounts {
    /// The account of `uid` (cached, see `Accounts.shared`), or one named by the number, with home
    /// `/` and no groups, when it has no passwd entry.
    static func lookup(uid: UInt32) -> Account {
        shared.account(uid: uid) ?? Account(uid: uid, gid: UInt32.max, name: String(uid), home: "/", groups: [])
    }
}
