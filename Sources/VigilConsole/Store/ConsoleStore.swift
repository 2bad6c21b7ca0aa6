// SPDX-License-Identifier: Apache-2.0
// What the console keeps, behind one protocol: SQLite (GRDB) embedded by default, PostgreSQL for
// fleets. Every operation that must be atomic (a token's use and the device it enrols) is one call,
// so each backend does it in one transaction.
import VigilAPI

/// An enrolment token as stored: the secret only as its SHA-256.
public struct EnrollTokenRecord: Sendable, Equatable {
    public var id: String
    /// Lowercase hex SHA-256 of the token's secret.
    public var secretHash: String
    public var team: String?
    /// Unix seconds.
    public var createdAt: Int64
    public var expiresAt: Int64
    /// Enrolments the token still allows.
    public var usesLeft: Int
    public var issuedBy: String
    public var revokedAt: Int64?
    /// Only devices whose key a TPM holds may enrol with it (a file key is refused, `tpm_required`).
    public var requireTPM: Bool

    public init(
        id: String, secretHash: String, team: String?, createdAt: Int64, expiresAt: Int64, usesLeft: Int, issuedBy: String,
        revokedAt: Int64? = nil, requireTPM: Bool = false
    ) {
        self.requireTPM = requireTPM
        self.id = id
        self.secretHash = secretHash
        self.team = team
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usesLeft = usesLeft
        self.issuedBy = issuedBy
        self.revokedAt = revokedAt
    }
}

/// An enrolled device: its key, its team, what it last reported.
public struct DeviceRecord: Sendable, Equatable {
    public var id: String
    /// `sha256:<hex>` of the encoded public key: what the device's signatures name as `keyid`.
    public var keyID: String
    /// `MessageVerificationKey.encoded`.
    public var publicKey: String
    public var team: String?
    public var facts: DeviceFacts
    public var tokenID: String
    public var enrolledAt: Int64
    public var lastSeen: Int64
    public var revokedAt: Int64?
    public var revokedReason: String?
    public var policyVersion: Int?
    public var counters: [String: UInt64]
    /// The last report's sessions, agents outside Vigil and hooks drop-in; nil before the first.
    public var activity: DeviceActivity?
    /// The key's algorithm (`ecdsa-p256-sha256`, `ed25519`) and where the device says it holds it
    /// (`tpm`, `file`; not attested).
    public var keyKind: String
    public var keyHolder: String

    public init(
        id: String, keyID: String, publicKey: String, team: String?, facts: DeviceFacts, tokenID: String, enrolledAt: Int64,
        lastSeen: Int64, revokedAt: Int64? = nil, revokedReason: String? = nil, policyVersion: Int? = nil,
        counters: [String: UInt64] = [:], activity: DeviceActivity? = nil, keyKind: String = "ecdsa-p256-sha256", keyHolder: String = "file"
    ) {
        self.keyKind = keyKind
        self.keyHolder = keyHolder
        self.id = id
        self.keyID = keyID
        self.publicKey = publicKey
        self.team = team
        self.facts = facts
        self.tokenID = tokenID
        self.enrolledAt = enrolledAt
        self.lastSeen = lastSeen
        self.revokedAt = revokedAt
        self.revokedReason = revokedReason
        self.policyVersion = policyVersion
        self.counters = counters
        self.activity = activity
    }

    public var summary: DeviceSummary {
        DeviceSummary(
            id: id, keyID: keyID, team: team, facts: facts, enrolledAt: enrolledAt, lastSeen: lastSeen, revokedAt: revokedAt,
            policyVersion: policyVersion, keyKind: keyKind, keyHolder: keyHolder)
    }
}

/// The part of a device's row that authenticating a request needs, read on every request (a
/// revocation takes effect at once).
public struct DeviceStanding: Sendable, Equatable {
    public var id: String
    public var keyID: String
    /// `MessageVerificationKey.encoded`.
    public var publicKey: String
    public var team: String?
    public var revokedAt: Int64?
    public var revokedReason: String?

    public init(id: String, keyID: String, publicKey: String, team: String?, revokedAt: Int64? = nil, revokedReason: String? = nil) {
        self.id = id
        self.keyID = keyID
        self.publicKey = publicKey
        self.team = team
        self.revokedAt = revokedAt
        self.revokedReason = revokedReason
    }
}

/// One report as the device sent it: the device page's posture history.
public struct DeviceReportRecord: Sendable, Equatable {
    public var deviceID: String
    /// Unix seconds, the console's clock.
    public var at: Int64
    public var report: DeviceReport

    public init(deviceID: String, at: Int64, report: DeviceReport) {
        self.deviceID = deviceID
        self.at = at
        self.report = report
    }
}

/// What an admin account may do. Auditors read everything and change nothing.
public enum AdminRole: String, Codable, Sendable, CaseIterable {
    case admin
    case policyEditor = "policy-editor"
    case auditor

    public var mayEditPolicy: Bool { self != .auditor }
    /// Tokens, devices and admin accounts.
    public var mayAdminister: Bool { self == .admin }
}

/// A local admin account of the web console.
public struct AdminRecord: Sendable, Equatable {
    public var name: String
    /// bcrypt (`$2b$…`), never the password.
    public var passwordHash: String
    public var role: AdminRole
    /// A one-time password set by `admin add`: the first login must replace it.
    public var passwordIsTemporary: Bool
    /// The RFC 6238 shared secret once TOTP is confirmed; nil when TOTP is off.
    public var totpSecret: String?
    /// The last TOTP time step accepted, so a code is good once.
    public var totpLastStep: Int64?
    public var createdAt: Int64
    public var createdBy: String
    public var disabledAt: Int64?

    public init(
        name: String, passwordHash: String, role: AdminRole, passwordIsTemporary: Bool, totpSecret: String? = nil,
        totpLastStep: Int64? = nil, createdAt: Int64, createdBy: String, disabledAt: Int64? = nil
    ) {
        self.name = name
        self.passwordHash = passwordHash
        self.role = role
        self.passwordIsTemporary = passwordIsTemporary
        self.totpSecret = totpSecret
        self.totpLastStep = totpLastStep
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.disabledAt = disabledAt
    }
}

/// A browser's login: the cookie's value only as its SHA-256, and the CSRF token its forms carry.
public struct WebSessionRecord: Sendable, Equatable {
    public var idHash: String
    public var admin: String
    public var csrfToken: String
    public var createdAt: Int64
    public var expiresAt: Int64
    public var lastSeen: Int64

    public init(idHash: String, admin: String, csrfToken: String, createdAt: Int64, expiresAt: Int64, lastSeen: Int64) {
        self.idHash = idHash
        self.admin = admin
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastSeen = lastSeen
    }
}

/// Why the store refused: each case names the thing refused, so the caller can audit it and answer.
public enum ConsoleStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case tokenUnknown(String)
    case tokenSecretMismatch(String)
    case tokenExpired(String)
    case tokenUsedUp(String)
    case tokenRevoked(String)
    case keyAlreadyEnrolled(String)
    /// The token requires a TPM-held key and the device enrolled a file key.
    case tpmRequired(String)
    case deviceUnknown(String)
    case adminExists(String)
    case adminUnknown(String)
    /// A policy version was to follow `base`, but the newest is `latest` (someone changed it meanwhile).
    case policyBaseStale(base: Int, latest: Int)
    /// The database itself failed: the backend's message.
    case database(String)

    public var description: String {
        switch self {
        case .tokenUnknown(let id): "enrolment token \(id) does not exist"
        case .tokenSecretMismatch(let id): "enrolment token \(id) was presented with a wrong secret"
        case .tokenExpired(let id): "enrolment token \(id) has expired"
        case .tokenUsedUp(let id): "enrolment token \(id) has no uses left"
        case .tokenRevoked(let id): "enrolment token \(id) was revoked"
        case .keyAlreadyEnrolled(let key): "device key \(key) is already enrolled"
        case .tpmRequired(let id): "enrolment token \(id) requires a device key held in a TPM, and this device's key is a file key"
        case .deviceUnknown(let id): "device \(id) is not enrolled"
        case .adminExists(let name): "an admin account \(name) already exists"
        case .adminUnknown(let name): "there is no admin account \(name)"
        case .policyBaseStale(let base, let latest): "the policy was changed since v\(base): the newest version is v\(latest)"
        case .database(let message): "console database: \(message)"
        }
    }
}

public protocol ConsoleStore: Sendable {
    /// The schema version the migrations brought the database to.
    func schemaVersion() async throws -> Int

    func insertToken(_ token: EnrollTokenRecord) async throws
    func tokens() async throws -> [EnrollTokenRecord]
    /// Marks a token revoked; false when it does not exist.
    func revokeToken(id: String, at time: Int64) async throws -> Bool

    /// In one transaction: checks the token (exists, secret hash matches in constant time, not
    /// expired at `time`, not revoked, a use left), spends one use and inserts `device` with the
    /// token's team. Throws ``ConsoleStoreError`` and changes nothing when any check fails.
    func enroll(tokenID: String, secretHash: String, device: DeviceRecord, at time: Int64) async throws -> DeviceRecord

    func device(id: String) async throws -> DeviceRecord?
    /// Who `keyID` belongs to and whether it may still speak: what every signed request needs, read
    /// without decoding the facts, counters and activity the full record carries.
    func standing(keyID: String) async throws -> DeviceStanding?
    func devices() async throws -> [DeviceRecord]
    /// Revokes a device (its key is refused from then on); nil when no such device. Revoking twice keeps the first time.
    func revokeDevice(id: String, reason: String, at time: Int64) async throws -> DeviceRecord?
    /// Records a report of a device and when it was seen, and keeps it in the device's history
    /// (the newest ``reportHistoryLimit`` per device).
    func recordReport(deviceID: String, report: DeviceReport, at time: Int64) async throws
    /// A device's reports, newest first.
    func reports(deviceID: String, limit: Int) async throws -> [DeviceReportRecord]

    /// Appends a policy version (the next number) and returns it. With a `base` (0: none yet), in the
    /// same transaction: refuses with ``ConsoleStoreError/policyBaseStale(base:latest:)`` unless the
    /// newest version is `base`, so of two edits made against one version only the first is stored.
    func insertPolicy(document: String, author: String, comment: String?, at time: Int64, base: Int?) async throws -> PolicyBundle
    /// The newest version, nil before the first.
    func latestPolicy() async throws -> PolicyBundle?
    func policy(version: Int) async throws -> PolicyBundle?
    /// Every version, newest first, without their documents' text when `withDocuments` is false.
    func policies(withDocuments: Bool) async throws -> [PolicyBundle]

    /// Throws ``ConsoleStoreError/adminExists`` when the name is taken.
    func insertAdmin(_ admin: AdminRecord) async throws
    func admin(name: String) async throws -> AdminRecord?
    func admins() async throws -> [AdminRecord]
    /// Replaces the account named `admin.name`; throws ``ConsoleStoreError/adminUnknown``.
    func updateAdmin(_ admin: AdminRecord) async throws
    /// Spends TOTP time step `step` of `name`: true only if it is later than the last one spent,
    /// atomically, so one code cannot log in twice (not even on two replicas at once).
    func spendTOTPStep(name: String, step: Int64) async throws -> Bool

    func insertSession(_ session: WebSessionRecord) async throws
    func session(idHash: String) async throws -> WebSessionRecord?
    func touchSession(idHash: String, at time: Int64) async throws
    func deleteSession(idHash: String) async throws
    /// Every session of `admin` (password changed, account disabled); how many there were.
    func deleteSessions(admin: String) async throws -> Int
    /// Sessions whose `expiresAt` is before `time`.
    func deleteExpiredSessions(before time: Int64) async throws -> Int

    /// Adds the person `person.email`, or replaces their subject, teams and roles.
    func upsertPerson(_ person: PersonRecord) async throws
    func person(email: String) async throws -> PersonRecord?
    func people() async throws -> [PersonRecord]

    func insertLogin(_ login: PendingLoginRecord) async throws
    /// Every login, newest first.
    func logins() async throws -> [PendingLoginRecord]
    /// In one transaction: checks login `id` of OS account `uid` of `deviceID` (exists, not used, not expired at `time`,
    /// attempts left, `code` equal in constant time); a wrong code spends an attempt (committed); the
    /// right one spends the login and binds its OS account to its person until `time + lifetime`.
    func completeLogin(id: String, deviceID: String, uid: UInt32, code: String, at time: Int64, lifetime: Int64) async throws -> LoginOutcome
    /// The binding of OS account `uid` on `deviceID`, with the person's teams and roles as they are
    /// now; nil when there is none, or its person was removed. Expiry is the caller's to judge.
    func binding(deviceID: String, uid: UInt32) async throws -> HumanBinding?
    /// Every binding, by device and uid.
    func bindings() async throws -> [HumanBinding]
}

/// How many reports per device the history keeps.
public let reportHistoryLimit = 500
extension ConsoleStore {
    /// Appends a policy version whatever the newest one is (a whole document pushed).
    public func insertPolicy(document: String, author: String, comment: String?, at time: Int64) async throws -> PolicyBundle {
        try await insertPolicy(document: document, author: author, comment: comment, at: time, base: nil)
    }
}

/// Constant-time equality of two hex digests, so a wrong secret takes as long as a right one.
func digestsEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for i in x.indices { difference |= x[i] ^ y[i] }
    return difference == 0
}
