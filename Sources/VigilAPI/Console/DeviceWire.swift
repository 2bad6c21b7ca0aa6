// SPDX-License-Identifier: Apache-2.0
// The device ↔ console wire: enrolment, the device's report, and the console's answers.

/// What a device says about itself: at enrolment and in every report.
public struct DeviceFacts: Codable, Sendable, Equatable {
    public var hostname: String
    public var os: String
    public var kernel: String
    public var vigilVersion: String
    /// `enforce`, `monitor`, or what vigild reports.
    public var enforcementMode: String
    /// A short posture summary (`key=value` pairs the posture service reports).
    public var posture: [String: String]

    public init(hostname: String, os: String, kernel: String, vigilVersion: String, enforcementMode: String, posture: [String: String]) {
        self.hostname = hostname
        self.os = os
        self.kernel = kernel
        self.vigilVersion = vigilVersion
        self.enforcementMode = enforcementMode
        self.posture = posture
    }
}

/// POST /api/v1/enroll. The request is also signed (RFC 9421) by `publicKey`'s private half, so the
/// console knows the device holds the key it registers.
public struct EnrollRequest: Codable, Sendable, Equatable {
    public var tokenID: String
    public var secret: String
    /// `MessageVerificationKey.encoded` of the device key.
    public var publicKey: String
    public var facts: DeviceFacts
    /// Where the device holds the key: `tpm` or `file`. Optional: devices of earlier versions omit it
    /// (their key is a file key). The device's claim: keys are not attested yet.
    public var keyHolder: String?

    public init(tokenID: String, secret: String, publicKey: String, facts: DeviceFacts, keyHolder: String? = nil) {
        self.tokenID = tokenID
        self.secret = secret
        self.publicKey = publicKey
        self.facts = facts
        self.keyHolder = keyHolder
    }
}

public struct EnrollResponse: Codable, Sendable, Equatable {
    public var deviceID: String
    /// The key id the device signs with from now on (what the console looks it up by).
    public var keyID: String
    public var team: String?
    /// The console's policy-signing public key (`MessageVerificationKey.encoded`), pinned by the device.
    public var policyKey: String

    public init(deviceID: String, keyID: String, team: String?, policyKey: String) {
        self.deviceID = deviceID
        self.keyID = keyID
        self.team = team
        self.policyKey = policyKey
    }
}

/// POST /api/v1/device/report: what the device reports, signed.
public struct DeviceReport: Codable, Sendable, Equatable {
    public var facts: DeviceFacts
    /// The policy version in force on the device, when it has one from the console.
    public var policyVersion: Int?
    /// Drops and errors from `vigil status`, by name.
    public var counters: [String: UInt64]
    /// What runs on the device: agent sessions, agents outside Vigil, the hooks drop-in. Optional:
    /// devices of an earlier version do not send it.
    public var activity: DeviceActivity?

    public init(facts: DeviceFacts, policyVersion: Int? = nil, counters: [String: UInt64] = [:], activity: DeviceActivity? = nil) {
        self.facts = facts
        self.policyVersion = policyVersion
        self.counters = counters
        self.activity = activity
    }
}

/// The part of `vigil status` the console's dashboard shows: what an adoption gap is made of.
public struct DeviceActivity: Codable, Sendable, Equatable {
    public struct Session: Codable, Sendable, Equatable {
        public var id: String
        public var agent: String
        public var user: String
        /// Unix seconds.
        public var startedAt: Int64
        public var toolCalls: Int
        public var denied: Int

        public init(id: String, agent: String, user: String, startedAt: Int64, toolCalls: Int, denied: Int) {
            self.id = id
            self.agent = agent
            self.user = user
            self.startedAt = startedAt
            self.toolCalls = toolCalls
            self.denied = denied
        }
    }

    /// An agent the daemon's detector saw running outside any Vigil session.
    public struct UnmanagedAgent: Codable, Sendable, Equatable {
        public var pid: Int32
        public var agent: String
        public var user: String
        public var exe: String
        public var firstSeen: Int64

        public init(pid: Int32, agent: String, user: String, exe: String, firstSeen: Int64) {
            self.pid = pid
            self.agent = agent
            self.user = user
            self.exe = exe
            self.firstSeen = firstSeen
        }
    }

    public var sessions: [Session]
    public var unmanagedAgents: [UnmanagedAgent]
    /// The Claude Code managed-settings drop-in that routes hooks to vigild; nil when it is missing.
    public var hooksDropIn: String?
    /// Errors vigild counted since it started.
    public var errors: Int

    public init(sessions: [Session], unmanagedAgents: [UnmanagedAgent], hooksDropIn: String?, errors: Int) {
        self.sessions = sessions
        self.unmanagedAgents = unmanagedAgents
        self.hooksDropIn = hooksDropIn
        self.errors = errors
    }
}

/// One device as the console lists it.
public struct DeviceSummary: Codable, Sendable, Equatable {
    public var id: String
    public var keyID: String
    public var team: String?
    public var facts: DeviceFacts
    /// Unix seconds.
    public var enrolledAt: Int64
    public var lastSeen: Int64
    public var revokedAt: Int64?
    public var policyVersion: Int?
    /// `ecdsa-p256-sha256` or `ed25519`; `tpm` or `file` (as the device said at enrolment: keys
    /// are not attested). Optional: consoles of earlier versions did not send them.
    public var keyKind: String?
    public var keyHolder: String?

    public init(
        id: String, keyID: String, team: String?, facts: DeviceFacts, enrolledAt: Int64, lastSeen: Int64, revokedAt: Int64?,
        policyVersion: Int?, keyKind: String? = nil, keyHolder: String? = nil
    ) {
        self.keyKind = keyKind
        self.keyHolder = keyHolder
        self.id = id
        self.keyID = keyID
        self.team = team
        self.facts = facts
        self.enrolledAt = enrolledAt
        self.lastSeen = lastSeen
        self.revokedAt = revokedAt
        self.policyVersion = policyVersion
    }
}

/// Every refusal's body: what was refused and why, in one sentence.
public struct APIErrorBody: Codable, Sendable, Equatable {
    public var error: String
    public var reason: String

    public init(error: String, reason: String) {
        self.error = error
        self.reason = reason
    }
}

/// One version of the organisation's policy, as the console signs it for devices (the JWS payload of
/// GET /api/v1/device/policy) and lists it for admins.
public struct PolicyBundle: Codable, Sendable, Equatable {
    /// The JWS `typ` of a signed bundle.
    public static let jwsType = "vigil-policy-bundle"

    /// Increases by one with every change; a device never applies a lower one than it has.
    public var version: Int
    /// The policy document (Vigil's YAML), as the admin wrote it.
    public var document: String
    public var author: String
    public var createdAt: Int64
    public var comment: String?

    public init(version: Int, document: String, author: String, createdAt: Int64, comment: String?) {
        self.version = version
        self.document = document
        self.author = author
        self.createdAt = createdAt
        self.comment = comment
    }
}

/// POST /admin/v1/policy: a new version.
public struct PolicyChange: Codable, Sendable {
    public var document: String
    /// On the admin socket: who the operator says they are. Ignored on HTTPS (the session says).
    public var actor: String?
    public var comment: String?

    public init(document: String, actor: String?, comment: String?) {
        self.document = document
        self.actor = actor
        self.comment = comment
    }
}
