// SPDX-License-Identifier: Apache-2.0
// Local admin accounts of the web console: bcrypt passwords, a one-time password for a new account,
// optional TOTP (RFC 6238), and a lockout after repeated failures. Every outcome is audited.
import HTTPTypes
import Foundation
import HummingbirdBcrypt
import HummingbirdOTP
import NIOPosix
import Synchronization
import VigilAudit

struct AdminAccounts: Sendable {
    let store: any ConsoleStore
    let audit: ConsoleAudit
    let throttle: LoginThrottle
    let clock: @Sendable () -> Int64
    /// bcrypt's work factor: 2^cost rounds (12: about a quarter of a second here).
    var cost: UInt8 = 12

    static let minimumPasswordLength = 12
    /// The alphabet of one-time passwords and TOTP secrets: RFC 4648 base32, no look-alikes to mistype.
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    /// Makes `name` with a one-time password, which it returns: its first login must set a new one.
    func add(name: String, role: AdminRole, actor: String) async throws -> String {
        guard EnrollmentService.isName(name) else {
            throw Refusal(.badRequest, "bad_name", "an admin name is 1-64 letters, digits, '-', '_' or '.', not \(name)")
        }
        let password = Self.random(24)
        let record = AdminRecord(
            name: name, passwordHash: await hash(password), role: role, passwordIsTemporary: true, createdAt: clock(), createdBy: actor)
        do {
            try await store.insertAdmin(record)
        } catch ConsoleStoreError.adminExists(let name) {
            try audit.record("admin.add", actor: actor, target: name, decision: .deny, reason: "the name is taken")
            throw Refusal(.conflict, "admin_exists", "an admin account \(name) already exists")
        }
        try audit.record("admin.add", actor: actor, target: name, details: ["role": role.rawValue])
        return password
    }

    /// The account, when `password` (and, with TOTP on, `code`) are right. One refusal for every
    /// wrong part, so a guesser learns nothing; the audit entry says which.
    func login(name: String, password: String, code: String?, peer: String) async throws -> AdminRecord {
        let now = clock()
        if let until = throttle.lockedUntil(name, now: now) {
            try audit.record("admin.login", actor: "peer:\(peer)", target: name, decision: .deny, reason: "locked out until \(until)")
            throw Refusal(.tooManyRequests, "locked_out", "too many failed logins for \(name): try again in \(until - now) seconds")
        }
        let account = try await store.admin(name: name)
        // Unknown names cost a bcrypt too, so timing does not tell which names exist.
        let passwordRight = await verify(password, hash: account?.passwordHash ?? Self.decoyHash)
        var problem: String?
        if account == nil {
            problem = "no such account"
        } else if account?.disabledAt != nil {
            problem = "the account is disabled"
        } else if !passwordRight {
            problem = "wrong password"
        } else if let secret = account?.totpSecret {
            if let code, let step = Self.totpStep(secret: secret, code: code, now: now) {
                if try await !store.spendTOTPStep(name: name, step: step) { problem = "TOTP code already used" }
            } else {
                problem = code == nil || code?.isEmpty == true ? "TOTP code missing" : "wrong TOTP code"
            }
        }
        if let problem {
            let locked = throttle.failed(name, now: now)
            try audit.record(
                "admin.login", actor: "peer:\(peer)", target: name, decision: .deny, reason: problem,
                details: locked ? ["lockout": "started"] : [:])
            throw Refusal(.unauthorized, "login_failed", "the name, password or code is wrong")
        }
        throttle.succeeded(name)
        try audit.record("admin.login", actor: "admin:\(name)", target: name, details: ["peer": peer])
        return account!
    }

    /// Replaces the password (the temporary one included) and ends every session of the account:
    /// the caller gives the browser that asked a new one (a session id never outlives a password).
    func changePassword(name: String, current: String, new: String) async throws {
        guard var account = try await store.admin(name: name) else { throw Refusal(.notFound, "unknown_admin", "there is no admin \(name)") }
        guard await verify(current, hash: account.passwordHash) else {
            try audit.record("admin.password", actor: "admin:\(name)", target: name, decision: .deny, reason: "wrong current password")
            throw Refusal(.forbidden, "wrong_password", "the current password is wrong")
        }
        try Self.check(newPassword: new, name: name)
        guard !(await verify(new, hash: account.passwordHash)) else {
            throw Refusal(.badRequest, "weak_password", "the new password must differ from the current one")
        }
        account.passwordHash = await hash(new)
        account.passwordIsTemporary = false
        try await store.updateAdmin(account)
        let ended = try await store.deleteSessions(admin: name)
        try audit.record("admin.password", actor: "admin:\(name)", target: name, details: ["sessionsEnded": "\(ended)"])
    }

    /// A fresh TOTP secret to show: nothing changes until ``confirmTOTP`` sees a code made from it.
    func newTOTPSecret() -> String { Self.random(32) }

    func otpauthURL(secret: String, name: String) -> String {
        TOTP(secret: secret).createAuthenticatorURL(label: "Vigil:\(name)", issuer: "Vigil")
    }

    func confirmTOTP(name: String, secret: String, code: String) async throws {
        guard var account = try await store.admin(name: name) else { throw Refusal(.notFound, "unknown_admin", "there is no admin \(name)") }
        guard secret.count == 32, secret.allSatisfy(Self.alphabet.contains), let step = Self.totpStep(secret: secret, code: code, now: clock())
        else {
            try audit.record("admin.totp", actor: "admin:\(name)", target: name, decision: .deny, reason: "wrong code at confirmation")
            throw Refusal(.badRequest, "wrong_code", "the code does not match the new secret: check the authenticator's clock and try again")
        }
        account.totpSecret = secret
        account.totpLastStep = step
        try await store.updateAdmin(account)
        try audit.record("admin.totp", actor: "admin:\(name)", target: name, details: ["totp": "on"])
    }

    /// Admins only: a role change, a disable (which ends the account's sessions), TOTP reset.
    func update(name: String, role: AdminRole?, disabled: Bool?, resetTOTP: Bool, actor: String) async throws -> AdminRecord {
        guard var account = try await store.admin(name: name) else {
            try audit.record("admin.update", actor: actor, target: name, decision: .deny, reason: "no such account")
            throw Refusal(.notFound, "unknown_admin", "there is no admin \(name)")
        }
        var details: [String: String] = [:]
        if let role, role != account.role {
            details["role"] = "\(account.role.rawValue) -> \(role.rawValue)"
            account.role = role
        }
        if let disabled {
            account.disabledAt = disabled ? (account.disabledAt ?? clock()) : nil
            details["disabled"] = "\(disabled)"
        }
        if resetTOTP {
            account.totpSecret = nil
            details["totp"] = "reset"
        }
        // The last admin who can administer stays one: a console nobody can run is not recoverable from the web.
        if account.role != .admin || account.disabledAt != nil {
            let others = try await store.admins().filter { $0.name != name && $0.role == .admin && $0.disabledAt == nil }
            if others.isEmpty {
                try audit.record("admin.update", actor: actor, target: name, decision: .deny, reason: "the last active admin")
                throw Refusal(.conflict, "last_admin", "\(name) is the last active admin: make another admin first")
            }
        }
        try await store.updateAdmin(account)
        if account.disabledAt != nil { _ = try await store.deleteSessions(admin: name) }
        try audit.record("admin.update", actor: actor, target: name, details: details)
        return account
    }

    static func check(newPassword: String, name: String) throws {
        guard newPassword.count >= minimumPasswordLength else {
            throw Refusal(.badRequest, "weak_password", "a password has at least \(minimumPasswordLength) characters")
        }
        guard newPassword.count <= 72 else {
            // bcrypt reads 72 bytes; a longer one would be cut without a word.
            throw Refusal(.badRequest, "weak_password", "a password has at most 72 characters")
        }
        guard newPassword.lowercased() != name.lowercased() else { throw Refusal(.badRequest, "weak_password", "the password is the name") }
    }

    /// The step (of 30 s) `code` was made for, within one step of `now` each way; nil when none matches.
    static func totpStep(secret: String, code: String, now: Int64) -> Int64? {
        let digits = code.filter { !$0.isWhitespace }
        guard digits.count == 6, let value = Int(digits) else { return nil }
        let step = now / 30
        let totp = TOTP(secret: secret)
        var match: Int64?
        for candidate in [step - 1, step, step + 1] where totp.compute(date: Date(timeIntervalSince1970: Double(candidate * 30))) == value {
            match = candidate
        }
        return match
    }

    // bcrypt is CPU work: off the concurrency pool (two threads here), on NIO's blocking pool.
    private func hash(_ password: String) async -> String {
        let cost = cost
        return (try? await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }) ?? Bcrypt.hash(password, cost: cost)
    }

    private func verify(_ password: String, hash: String) async -> Bool {
        (try? await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }) ?? false
    }

    private static let decoyHash = Bcrypt.hash("decoy: no account has this", cost: 12)

    static func random(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}

/// Failed logins per account: five within 15 minutes lock it for 15 minutes (per replica). Counted
/// for `status`: a lockout is something an operator wants to see.
final class LoginThrottle: Sendable {
    private struct Entry {
        var failures: [Int64] = []
        var lockedUntil: Int64?
    }

    static let limit = 5
    static let window: Int64 = 900

    private let entries = Mutex<[String: Entry]>([:])
    private let lockoutCount = Atomic<Int>(0)

    func lockedUntil(_ name: String, now: Int64) -> Int64? {
        entries.withLock { entries in
            guard let until = entries[name]?.lockedUntil else { return nil }
            if until > now { return until }
            entries[name] = nil
            return nil
        }
    }

    /// Counts a failure; true when it starts a lockout.
    func failed(_ name: String, now: Int64) -> Bool {
        let locked = entries.withLock { entries in
            var entry = entries[name] ?? Entry()
            entry.failures = entry.failures.filter { $0 > now - Self.window } + [now]
            var locked = false
            if entry.failures.count >= Self.limit {
                entry.lockedUntil = now + Self.window
                entry.failures = []
                locked = true
            }
            entries[name] = entry
            return locked
        }
        if locked { lockoutCount.add(1, ordering: .relaxed) }
        return locked
    }

    func succeeded(_ name: String) { _ = entries.withLock { $0.removeValue(forKey: name) } }

    var lockouts: Int { lockoutCount.load(ordering: .relaxed) }
}
