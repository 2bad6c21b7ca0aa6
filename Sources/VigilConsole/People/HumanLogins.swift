// SPDX-License-Identifier: Apache-2.0
// The console's own way to bind an OS account of a device to a person, without an OpenID provider:
// the device starts a login for an email of the people table, the console makes a six-digit code
// that only admins see, an admin who knows the person reads it out to them, the person enters it on
// the device. Every step, and every refusal, goes into the console's audit log.
import Foundation
import HTTPTypes
import VigilAPI
import VigilAudit

struct HumanLogins: Sendable {
    let store: any ConsoleStore
    let audit: ConsoleAudit
    let lifetime: Int64
    let attempts: Int
    let perHour: Int
    let bindingLifetime: Int64
    let clock: @Sendable () -> Int64

    func start(device: DeviceStanding, _ ask: LoginStartRequest) async throws -> LoginStarted {
        let email = ask.email.lowercased()
        let actor = "device:\(device.id)"
        let target = "\(device.id)/uid \(ask.uid)"
        guard Self.isEmail(email), !ask.user.isEmpty, ask.user.utf8.count <= 64 else {
            let refusal = Refusal(.badRequest, "bad_login", "a login names an email address and the OS account's name (1-64 bytes)")
            try audit.record("login.start", actor: actor, target: target, decision: .deny, reason: refusal.reason)
            throw refusal
        }
        guard try await store.person(email: email) != nil else {
            try audit.record("login.start", actor: actor, target: target, decision: .deny, reason: "\(email) is not among the console's people")
            throw Refusal(.notFound, "unknown_person", "\(email) is not among the console's people; an admin adds them first")
        }
        let now = clock()
        let recent = try await store.logins().count { $0.deviceID == device.id && $0.uid == ask.uid && $0.createdAt > now - 3600 }
        guard recent < perHour else {
            let reason = "uid \(ask.uid) of this device started \(recent) logins in the last hour (the limit is \(perHour))"
            try audit.record("login.start", actor: actor, target: target, decision: .deny, reason: reason)
            throw Refusal(.tooManyRequests, "too_many_logins", reason)
        }
        let login = PendingLoginRecord(
            id: "login_" + EnrollmentService.randomHex(8), deviceID: device.id, uid: ask.uid, user: ask.user, email: email, code: Self.newCode(),
            createdAt: now, expiresAt: now + lifetime, attemptsLeft: attempts)
        try await store.insertLogin(login)
        try audit.record(
            "login.start", actor: actor, target: target,
            details: ["login": login.id, "email": email, "user": ask.user, "expiresAt": "\(login.expiresAt)"])
        return LoginStarted(id: login.id, expiresAt: login.expiresAt, attempts: attempts)
    }

    func complete(device: DeviceStanding, id: String, _ ask: LoginCompleteRequest) async throws -> HumanBinding {
        let actor = "device:\(device.id)"
        // Only six digits are ever compared: anything else is a wrong code (and spends an attempt).
        let code = ask.code.trimmingCharacters(in: .whitespaces)
        let outcome = try await store.completeLogin(id: id, deviceID: device.id, uid: ask.uid, code: code, at: clock(), lifetime: bindingLifetime)
        switch outcome {
        case .bound(let binding):
            try audit.record(
                "login.complete", actor: actor, target: "\(device.id)/uid \(binding.uid)",
                details: [
                    "login": id, "email": binding.email, "subject": binding.subject, "user": binding.user, "method": binding.method,
                    "teams": binding.teams.joined(separator: ","), "roles": binding.roles.joined(separator: ","), "expiresAt": "\(binding.expiresAt)",
                ])
            return binding
        case .refused(let refusal):
            try audit.record("login.complete", actor: actor, target: id, decision: .deny, reason: refusal.description, details: ["login": id])
            throw Refusal(Self.status(refusal), refusal.code, refusal.description)
        }
    }

    /// The binding of `uid` on the asking device; expired ones are not answered.
    func binding(device: DeviceStanding, uid: UInt32) async throws -> HumanBinding {
        guard let binding = try await store.binding(deviceID: device.id, uid: uid) else {
            throw Refusal(.notFound, "no_binding", "uid \(uid) of device \(device.id) is bound to no person")
        }
        guard clock() < binding.expiresAt else {
            throw Refusal(.notFound, "binding_expired", "the binding of uid \(uid) expired; vigil login binds it again")
        }
        return binding
    }

    /// Adds or changes a person of the people table.
    func addPerson(_ ask: AddPersonRequest, actor: String) async throws -> PersonRecord {
        let email = ask.email.lowercased()
        guard Self.isEmail(email) else { throw Refusal(.badRequest, "bad_email", "\(ask.email) is not an email address") }
        for name in ask.teams + ask.roles where !EnrollmentService.isName(name) {
            throw Refusal(.badRequest, "bad_name", "a team or role name is 1-64 letters, digits, '-', '_' or '.', not \(name)")
        }
        let person = PersonRecord(
            email: email, subject: "console:" + email, teams: ask.teams, roles: ask.roles, createdAt: clock(), createdBy: actor)
        try await store.upsertPerson(person)
        try audit.record(
            "person.set", actor: actor, target: email,
            details: ["teams": ask.teams.joined(separator: ","), "roles": ask.roles.joined(separator: ",")])
        return person
    }

    static func status(_ refusal: LoginRefusal) -> HTTPResponse.Status {
        switch refusal {
        case .unknown, .personUnknown: .notFound
        case .used: .conflict
        case .expired: .gone
        case .noAttemptsLeft: .tooManyRequests
        case .wrongCode: .forbidden
        }
    }

    /// Six decimal digits, uniform (rejection sampling inside `random(in:)`).
    static func newCode() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = UInt32.random(in: 0..<1_000_000, using: &generator)
        let digits = String(value)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// Enough to refuse what is plainly not an address (no mail is sent to it).
    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return text.utf8.count <= 254 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !text.contains(where: { $0.isWhitespace || $0.isNewline })
    }
}

/// POST /admin/v1/people: a person (new, or their teams and roles replaced).
public struct AddPersonRequest: Codable, Sendable {
    public var email: String
    public var teams: [String]
    public var roles: [String]
    public var actor: String?

    public init(email: String, teams: [String], roles: [String], actor: String?) {
        self.email = email
        self.teams = teams
        self.roles = roles
        self.actor = actor
    }
}

/// A login waiting for its code, as admins see it: the code is what they read out to the person.
public struct PendingLoginSummary: Codable, Sendable, Equatable {
    public var id: String
    public var deviceID: String
    public var uid: UInt32
    public var user: String
    public var email: String
    public var code: String
    public var createdAt: Int64
    public var expiresAt: Int64
    public var attemptsLeft: Int

    init(_ record: PendingLoginRecord) {
        id = record.id
        deviceID = record.deviceID
        uid = record.uid
        user = record.user
        email = record.email
        code = record.code
        createdAt = record.createdAt
        expiresAt = record.expiresAt
        attemptsLeft = record.attemptsLeft
    }
}
