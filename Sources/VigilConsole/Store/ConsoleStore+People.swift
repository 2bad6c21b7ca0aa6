// SPDX-License-Identifier: Apache-2.0
// The people the organisation knows (an admin-kept table: email → teams, roles), the logins that
// bind an OS account of a device to one of them, and the bindings made.
import VigilAPI

/// A person as an admin entered them: what policy scopes see once an OS account is bound to them.
public struct PersonRecord: Sendable, Equatable, Codable {
    /// Lowercase; the key.
    public var email: String
    public var subject: String
    public var teams: [String]
    public var roles: [String]
    public var createdAt: Int64
    public var createdBy: String

    public init(email: String, subject: String, teams: [String], roles: [String], createdAt: Int64, createdBy: String) {
        self.email = email
        self.subject = subject
        self.teams = teams
        self.roles = roles
        self.createdAt = createdAt
        self.createdBy = createdBy
    }
}

/// A login a device started for one of its OS accounts, waiting for its one-time code.
public struct PendingLoginRecord: Sendable, Equatable {
    public var id: String
    public var deviceID: String
    public var uid: UInt32
    public var user: String
    public var email: String
    /// Six digits, kept in the clear: an admin reads it out to the person (it dies with the login).
    public var code: String
    public var createdAt: Int64
    public var expiresAt: Int64
    public var attemptsLeft: Int
    public var usedAt: Int64?

    public init(
        id: String, deviceID: String, uid: UInt32, user: String, email: String, code: String, createdAt: Int64, expiresAt: Int64,
        attemptsLeft: Int, usedAt: Int64? = nil
    ) {
        self.id = id
        self.deviceID = deviceID
        self.uid = uid
        self.user = user
        self.email = email
        self.code = code
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.attemptsLeft = attemptsLeft
        self.usedAt = usedAt
    }

    /// Still waiting for its code at `time`.
    public func isPending(at time: Int64) -> Bool { usedAt == nil && time < expiresAt && attemptsLeft > 0 }
}

/// Why a code was not accepted. A wrong code still spends an attempt (the store commits that).
public enum LoginRefusal: Sendable, Equatable, CustomStringConvertible {
    case unknown
    case used
    case expired
    case noAttemptsLeft
    case wrongCode(attemptsLeft: Int)
    /// The person was removed from the people table after the login started.
    case personUnknown(String)

    public var code: String {
        switch self {
        case .unknown: "unknown_login"
        case .used: "login_used"
        case .expired: "login_expired"
        case .noAttemptsLeft: "no_attempts_left"
        case .wrongCode: "wrong_code"
        case .personUnknown: "unknown_person"
        }
    }

    public var description: String {
        switch self {
        case .unknown: "there is no such login for this OS account of this device"
        case .used: "the login was already completed; its code is good once"
        case .expired: "the login's code has expired; start the login again"
        case .noAttemptsLeft: "too many wrong codes; start the login again"
        case .wrongCode(let left): "the code is wrong (\(left) attempts left)"
        case .personUnknown(let email): "\(email) is no longer among the console's people"
        }
    }
}

public enum LoginOutcome: Sendable, Equatable {
    case bound(HumanBinding)
    case refused(LoginRefusal)
}

/// The method a binding made with a one-time code from the console records.
public let consoleCodeMethod = "console-code"

/// Constant-time equality of two codes, so a wrong digit takes as long wherever it is.
func codesEqual(_ a: String, _ b: String) -> Bool { digestsEqual(a, b) }

/// The checks of a login before its code is spent, the same on every backend (in its transaction).
enum LoginCheck {
    /// Why `login` does not accept `code` at `time`; nil when it does.
    static func refusal(_ login: PendingLoginRecord, code: String, at time: Int64) -> LoginRefusal? {
        if login.usedAt != nil { return .used }
        if time >= login.expiresAt { return .expired }
        if login.attemptsLeft <= 0 { return .noAttemptsLeft }
        if !codesEqual(login.code, code) { return .wrongCode(attemptsLeft: login.attemptsLeft - 1) }
        return nil
    }
}
