// SPDX-License-Identifier: Apache-2.0
// What `vigil status` shows (GET /v1/status): the enforcement mode, every session the caller may
// see, every drop, failure and degraded mode — counted, never silent.

public struct DaemonStatus: Codable, Sendable {
    public struct Sensor: Codable, Sendable {
        public var programs: [String: String]
        public var degraded: [String]
        public var emitted: UInt64
        public var kernelDropped: UInt64
        public var consumerDropped: UInt64
        public var decodeErrors: Int
        public var gaps: Int
        public var networkDenied: UInt64
        public var execKilled: UInt64
        public var openKilled: UInt64
        /// ptrace, process_vm_* and pidfd_getfd callers killed for reaching outside their session.
        public var processAccessKilled: UInt64?
        /// Connects/sends of session processes to local sockets outside their session (session-boundary
        /// crossings), and how many of them the boundary refused.
        public var peerCrossings: UInt64?
        public var peerDenied: UInt64?

        public init(
            programs: [String: String], degraded: [String], emitted: UInt64, kernelDropped: UInt64,
            consumerDropped: UInt64, decodeErrors: Int, gaps: Int, networkDenied: UInt64, execKilled: UInt64,
            openKilled: UInt64, processAccessKilled: UInt64? = nil, peerCrossings: UInt64? = nil,
            peerDenied: UInt64? = nil
        ) {
            self.programs = programs
            self.degraded = degraded
            self.emitted = emitted
            self.kernelDropped = kernelDropped
            self.consumerDropped = consumerDropped
            self.decodeErrors = decodeErrors
            self.gaps = gaps
            self.networkDenied = networkDenied
            self.execKilled = execKilled
            self.openKilled = openKilled
            self.processAccessKilled = processAccessKilled
            self.peerCrossings = peerCrossings
            self.peerDenied = peerDenied
        }
    }

    public struct Hooks: Codable, Sendable {
        public var url: String
        public var dropIn: String?
        public var failClosed: Bool
        public var calls: Int
        public var denied: Int
        public var rejectedCallers: Int
        public var failures: Int
        public var p50Microseconds: UInt64?
        public var p99Microseconds: UInt64?
        public var trustedBinaries: [String]

        public init(
            url: String, dropIn: String? = nil, failClosed: Bool, calls: Int, denied: Int,
            rejectedCallers: Int, failures: Int, p50Microseconds: UInt64? = nil,
            p99Microseconds: UInt64? = nil, trustedBinaries: [String]
        ) {
            self.url = url
            self.dropIn = dropIn
            self.failClosed = failClosed
            self.calls = calls
            self.denied = denied
            self.rejectedCallers = rejectedCallers
            self.failures = failures
            self.p50Microseconds = p50Microseconds
            self.p99Microseconds = p99Microseconds
            self.trustedBinaries = trustedBinaries
        }
    }

    public struct Audit: Codable, Sendable {
        public var directory: String
        public var entries: Int
        public var appended: Int
        public var failures: Int

        public init(directory: String, entries: Int, appended: Int, failures: Int) {
            self.directory = directory
            self.entries = entries
            self.appended = appended
            self.failures = failures
        }
    }

    /// The key that signs the audit log's checkpoints (the device key: the TPM's where there is one).
    public struct SigningKey: Codable, Sendable, Equatable {
        /// `Ed25519` or `ECDSA P-256`.
        public var kind: String
        /// The signed-note key ID (8 hex digits) and the verifier key.
        public var keyID: String
        public var verifierKey: String
        /// `tpm` or `file`.
        public var holder: String
        /// Always false for now: keys are not attested (no EK → AK → certify yet).
        public var attested: Bool

        public init(kind: String, keyID: String, verifierKey: String, holder: String, attested: Bool = false) {
            self.kind = kind
            self.keyID = keyID
            self.verifierKey = verifierKey
            self.holder = holder
            self.attested = attested
        }
    }

    public var version = 1
    public var pid: Int32
    public var startedAt: Int64
    public var enforcementMode: String
    public var device: String
    public var policy: PolicyInfo
    public var posture: String?
    /// The posture's `ptrace_restricted` (false: no Yama, or scope 0); nil when unknown.
    public var ptraceRestricted: Bool?
    public var sensor: Sensor
    public var hooks: Hooks
    public var audit: Audit
    /// Optional: older daemons do not report it.
    public var deviceKey: SigningKey?
    public var sessions: [SessionRecord]
    public var recentlyEnded: [SessionRecord]
    public var unmanagedAgents: [UnmanagedAgent]
    public var attribution: [String: Int]
    public var timelineFailures: Int
    public var orphanEvents: Int
    /// What the session boundary refused: session requests from inside a session, opens and execs
    /// of processes tagged for a session vigild does not know. Optional: older daemons lack it.
    public var refused: [String: Int]?
    public var errors: Int
    public var recentErrors: [String]
    /// The OS accounts seen and the verified person behind each (the caller's own unless root).
    /// Optional: older daemons do not report it.
    public var bindings: [AccountBinding]?
    /// The caller sees only their own sessions and agents unless root.
    public var scope: String

    public init(
        version: Int = 1, pid: Int32, startedAt: Int64, enforcementMode: String, device: String,
        policy: PolicyInfo, posture: String? = nil, ptraceRestricted: Bool? = nil, sensor: Sensor, hooks: Hooks, audit: Audit,
        deviceKey: SigningKey? = nil, sessions: [SessionRecord], recentlyEnded: [SessionRecord], unmanagedAgents: [UnmanagedAgent],
        attribution: [String: Int], timelineFailures: Int, orphanEvents: Int, refused: [String: Int]? = nil, errors: Int,
        recentErrors: [String], bindings: [AccountBinding]? = nil, scope: String
    ) {
        self.version = version
        self.pid = pid
        self.startedAt = startedAt
        self.enforcementMode = enforcementMode
        self.device = device
        self.policy = policy
        self.posture = posture
        self.ptraceRestricted = ptraceRestricted
        self.sensor = sensor
        self.hooks = hooks
        self.audit = audit
        self.deviceKey = deviceKey
        self.sessions = sessions
        self.recentlyEnded = recentlyEnded
        self.unmanagedAgents = unmanagedAgents
        self.attribution = attribution
        self.timelineFailures = timelineFailures
        self.orphanEvents = orphanEvents
        self.refused = refused
        self.errors = errors
        self.recentErrors = recentErrors
        self.bindings = bindings
        self.scope = scope
    }
}

public struct PolicyInfo: Codable, Sendable, Hashable {
    public var path: String
    public var version: String
    public var loadedAt: Int64
    public var sha256: String?
    public var reloads = 0
    public var rejected = 0
    /// Why the last change to the file was not applied (the previous policy stays in force).
    public var lastError: String?
    /// The sources in force, in order: `console v<N>` (an enrolled device), then the local file.
    public var sources: [String]?
    /// The console uplink of an enrolled device.
    public var console: ConsoleUplinkInfo?

    public init(
        path: String, version: String, loadedAt: Int64, sha256: String? = nil, reloads: Int = 0,
        rejected: Int = 0, lastError: String? = nil
    ) {
        self.path = path
        self.version = version
        self.loadedAt = loadedAt
        self.sha256 = sha256
        self.reloads = reloads
        self.rejected = rejected
        self.lastError = lastError
    }
}

/// An enrolled device's link to its console: what is in force from it, and what went wrong.
public struct ConsoleUplinkInfo: Codable, Sendable, Hashable {
    public var url: String
    public var deviceID: String
    public var team: String?
    /// The event stream is open now.
    public var connected: Bool
    /// The console policy version in force here; nil before the first one.
    public var appliedVersion: Int?
    /// The newest version the console announced.
    public var announcedVersion: Int?
    public var appliedAt: Int64?
    /// Why the last connection or bundle failed (the policy in force stays).
    public var lastError: String?
    public var reconnects: Int
    public var rejectedBundles: Int
    /// Local rules left out because a local file may only add denials.
    public var droppedLocalRules: [String]
    /// Where the enrolled device key is held: `tpm` or `file` (nil: an enrolment of an earlier version, a file key).
    public var keyHolder: String?

    public init(
        url: String, deviceID: String, team: String?, connected: Bool = false, appliedVersion: Int? = nil, announcedVersion: Int? = nil,
        appliedAt: Int64? = nil, lastError: String? = nil, reconnects: Int = 0, rejectedBundles: Int = 0, droppedLocalRules: [String] = [],
        keyHolder: String? = nil
    ) {
        self.keyHolder = keyHolder
        self.url = url
        self.deviceID = deviceID
        self.team = team
        self.connected = connected
        self.appliedVersion = appliedVersion
        self.announcedVersion = announcedVersion
        self.appliedAt = appliedAt
        self.lastError = lastError
        self.reconnects = reconnects
        self.rejectedBundles = rejectedBundles
        self.droppedLocalRules = droppedLocalRules
    }
}
