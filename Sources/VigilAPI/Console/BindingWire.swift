// SPDX-License-Identifier: Apache-2.0
// Binding an OS account of a device to a person the organisation knows: the device starts a login
// for the account, the person gets a one-time code from an admin of the console and enters it on
// the device, and the console records who is behind the account.

/// POST /api/v1/device/logins: the OS account `uid` (`user`) of this device says it is `email`.
public struct LoginStartRequest: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var user: String
    public var email: String

    public init(uid: UInt32, user: String, email: String) {
        self.uid = uid
        self.user = user
        self.email = email
    }
}

/// The console's answer: a login waiting for the code an admin reads out from the console.
public struct LoginStarted: Codable, Sendable, Equatable {
    public var id: String
    /// Unix seconds: the code is refused from then on.
    public var expiresAt: Int64
    /// Wrong codes allowed before the login is spent.
    public var attempts: Int

    public init(id: String, expiresAt: Int64, attempts: Int) {
        self.id = id
        self.expiresAt = expiresAt
        self.attempts = attempts
    }
}

/// POST /api/v1/device/logins/ID: the six digits the person was given, for the OS account the
/// login was started for (another account of the device cannot complete it).
public struct LoginCompleteRequest: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var code: String

    public init(uid: UInt32, code: String) {
        self.uid = uid
        self.code = code
    }
}

/// POST /v1/login/ID on vigild's local API: the code; the uid is the caller's.
public struct LocalLoginCode: Codable, Sendable, Equatable {
    public var code: String

    public init(code: String) { self.code = code }
}

/// The verified person behind an OS account of a device.
public struct HumanBinding: Codable, Sendable, Equatable {
    public var deviceID: String
    public var uid: UInt32
    /// The OS account's name when it was bound.
    public var user: String
    /// The person's stable id (`console:EMAIL` for the console's own accounts).
    public var subject: String
    public var email: String
    public var teams: [String]
    public var roles: [String]
    /// How the person was verified: `console-code` (a one-time code an admin gave them).
    public var method: String
    /// Unix seconds, the console's clock.
    public var verifiedAt: Int64
    public var expiresAt: Int64

    public init(
        deviceID: String, uid: UInt32, user: String, subject: String, email: String, teams: [String], roles: [String], method: String,
        verifiedAt: Int64, expiresAt: Int64
    ) {
        self.deviceID = deviceID
        self.uid = uid
        self.user = user
        self.subject = subject
        self.email = email
        self.teams = teams
        self.roles = roles
        self.method = method
        self.verifiedAt = verifiedAt
        self.expiresAt = expiresAt
    }
}

/// An OS account vigild has seen, and the person behind it (`vigil status`).
public struct AccountBinding: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var user: String
    /// Nil: bound to no one (or the binding expired) — the scope `unverified`.
    public var binding: HumanBinding?
    /// Unix seconds: when the console was last asked.
    public var checkedAt: Int64
    /// Why the last question to the console failed (the last answer stays until its expiry).
    public var problem: String?

    public init(uid: UInt32, user: String, binding: HumanBinding?, checkedAt: Int64, problem: String? = nil) {
        self.uid = uid
        self.user = user
        self.binding = binding
        self.checkedAt = checkedAt
        self.problem = problem
    }
}

/// POST /v1/login on vigild's local API: the caller's OS account (the kernel's word, SO_PEERCRED)
/// says it is `email`; vigild starts the login at the console.
public struct LocalLoginRequest: Codable, Sendable, Equatable {
    public var email: String

    public init(email: String) { self.email = email }
}
