// SPDX-License-Identifier: Apache-2.0
// The embedded store: one SQLite file through GRDB, in WAL mode so that the CLI (enroll-token,
// revoke) and a running console share it. Migrations are versioned and run at open.
import Foundation
import GRDB
import VigilAPI

public final class SQLiteConsoleStore: ConsoleStore {
    private let pool: DatabasePool

    /// Opens (or creates) the database at `path` and brings its schema up to date.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw ConsoleStoreError.database("cannot open \(path): \(error)")
        }
    }

    /// Every schema change is a new, named migration appended here; applied ones are never edited.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("1-tokens-devices") { db in
            try db.execute(
                sql: """
                    CREATE TABLE enroll_token (
                        id TEXT PRIMARY KEY NOT NULL,
                        secret_hash TEXT NOT NULL,
                        team TEXT,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL,
                        uses_left INTEGER NOT NULL CHECK (uses_left >= 0),
                        issued_by TEXT NOT NULL,
                        revoked_at INTEGER
                    );
                    CREATE TABLE device (
                        id TEXT PRIMARY KEY NOT NULL,
                        key_id TEXT NOT NULL UNIQUE,
                        public_key TEXT NOT NULL,
                        team TEXT,
                        facts TEXT NOT NULL,
                        token_id TEXT NOT NULL REFERENCES enroll_token(id),
                        enrolled_at INTEGER NOT NULL,
                        last_seen INTEGER NOT NULL,
                        revoked_at INTEGER,
                        revoked_reason TEXT,
                        policy_version INTEGER,
                        counters TEXT NOT NULL DEFAULT '{}'
                    );
                    """)
        }
        migrator.registerMigration("2-policy-versions") { db in
            try db.execute(
                sql: """
                    CREATE TABLE policy_version (
                        version INTEGER PRIMARY KEY NOT NULL,
                        document TEXT NOT NULL,
                        author TEXT NOT NULL,
                        comment TEXT,
                        created_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("3-admins-sessions-reports") { db in
            try db.execute(
                sql: """
                    ALTER TABLE device ADD COLUMN activity TEXT;
                    CREATE TABLE device_report (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        device_id TEXT NOT NULL REFERENCES device(id),
                        at INTEGER NOT NULL,
                        report TEXT NOT NULL
                    );
                    CREATE INDEX device_report_by_device ON device_report(device_id, id);
                    CREATE TABLE admin_account (
                        name TEXT PRIMARY KEY NOT NULL,
                        password_hash TEXT NOT NULL,
                        role TEXT NOT NULL,
                        password_is_temporary INTEGER NOT NULL,
                        totp_secret TEXT,
                        totp_last_step INTEGER,
                        created_at INTEGER NOT NULL,
                        created_by TEXT NOT NULL,
                        disabled_at INTEGER
                    );
                    CREATE TABLE web_session (
                        id_hash TEXT PRIMARY KEY NOT NULL,
                        admin TEXT NOT NULL REFERENCES admin_account(name),
                        csrf_token TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL,
                        last_seen INTEGER NOT NULL
                    );
                    """)
        }
        // The device key's kind and holder (devices enrolled before had a P-256 file key, or an
        // ed25519 one if they registered it), and tokens that admit only TPM-held keys.
        migrator.registerMigration("4-device-key-holder") { db in
            try db.execute(
                sql: """
                    ALTER TABLE device ADD COLUMN key_kind TEXT NOT NULL DEFAULT 'ecdsa-p256-sha256';
                    ALTER TABLE device ADD COLUMN key_holder TEXT NOT NULL DEFAULT 'file';
                    UPDATE device SET key_kind = 'ed25519' WHERE public_key LIKE 'ed25519:%';
                    ALTER TABLE enroll_token ADD COLUMN require_tpm INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        // Issue 15: the people admins keep, the logins that bind an OS account of a device to one of
        // them (by a one-time code), and the bindings; a binding's teams and roles are its person's.
        migrator.registerMigration("5-people-logins-bindings") { db in
            try db.execute(
                sql: """
                    CREATE TABLE person (
                        email TEXT PRIMARY KEY NOT NULL,
                        subject TEXT NOT NULL,
                        teams TEXT NOT NULL,
                        roles TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        created_by TEXT NOT NULL
                    );
                    CREATE TABLE human_login (
                        id TEXT PRIMARY KEY NOT NULL,
                        device_id TEXT NOT NULL REFERENCES device(id),
                        os_uid INTEGER NOT NULL,
                        os_user TEXT NOT NULL,
                        email TEXT NOT NULL REFERENCES person(email),
                        code TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL,
                        attempts_left INTEGER NOT NULL CHECK (attempts_left >= 0),
                        used_at INTEGER
                    );
                    CREATE TABLE human_binding (
                        device_id TEXT NOT NULL REFERENCES device(id),
                        os_uid INTEGER NOT NULL,
                        os_user TEXT NOT NULL,
                        email TEXT NOT NULL,
                        method TEXT NOT NULL,
                        verified_at INTEGER NOT NULL,
                        expires_at INTEGER NOT NULL,
                        PRIMARY KEY (device_id, os_uid)
                    );
                    """)
        }
        return migrator
    }

    /// The migrations' names, in order: `schemaVersion()` of an up-to-date database is their count.
    static var migrations: [String] { migrator.migrations }

    public func schemaVersion() async throws -> Int {
        try await run { db in try Self.migrator.appliedMigrations(db).count }
    }

    public func insertToken(_ token: EnrollTokenRecord) async throws {
        try await run { db in
            try db.execute(
                sql: """
                    INSERT INTO enroll_token (id, secret_hash, team, created_at, expires_at, uses_left, issued_by, revoked_at, require_tpm)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    token.id, token.secretHash, token.team, token.createdAt, token.expiresAt, token.usesLeft, token.issuedBy, token.revokedAt,
                    token.requireTPM,
                ])
        }
    }

    public func tokens() async throws -> [EnrollTokenRecord] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM enroll_token ORDER BY created_at, id").map(Self.token) }
    }

    public func revokeToken(id: String, at time: Int64) async throws -> Bool {
        try await run { db in
            try db.execute(sql: "UPDATE enroll_token SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", arguments: [time, id])
            return db.changesCount > 0
        }
    }

    public func enroll(tokenID: String, secretHash: String, device: DeviceRecord, at time: Int64) async throws -> DeviceRecord {
        try await run { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM enroll_token WHERE id = ?", arguments: [tokenID]) else {
                throw ConsoleStoreError.tokenUnknown(tokenID)
            }
            let token = Self.token(row)
            guard digestsEqual(token.secretHash, secretHash) else { throw ConsoleStoreError.tokenSecretMismatch(tokenID) }
            guard token.revokedAt == nil else { throw ConsoleStoreError.tokenRevoked(tokenID) }
            guard time < token.expiresAt else { throw ConsoleStoreError.tokenExpired(tokenID) }
            guard token.usesLeft > 0 else { throw ConsoleStoreError.tokenUsedUp(tokenID) }
            guard !token.requireTPM || device.keyHolder == "tpm" else { throw ConsoleStoreError.tpmRequired(tokenID) }
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM device WHERE key_id = ?)", arguments: [device.keyID]) == true {
                throw ConsoleStoreError.keyAlreadyEnrolled(device.keyID)
            }
            try db.execute(sql: "UPDATE enroll_token SET uses_left = uses_left - 1 WHERE id = ?", arguments: [tokenID])
            var enrolled = device
            enrolled.team = token.team
            enrolled.tokenID = tokenID
            try db.execute(
                sql: """
                    INSERT INTO device (id, key_id, public_key, team, facts, token_id, enrolled_at, last_seen, counters, key_kind, key_holder)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    enrolled.id, enrolled.keyID, enrolled.publicKey, enrolled.team, try Self.json(enrolled.facts), tokenID,
                    enrolled.enrolledAt, enrolled.lastSeen, try Self.json(enrolled.counters), enrolled.keyKind, enrolled.keyHolder,
                ])
            return enrolled
        }
    }

    public func device(id: String) async throws -> DeviceRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM device WHERE id = ?", arguments: [id]).map(Self.device) }
    }

    public func standing(keyID: String) async throws -> DeviceStanding? {
        try await read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, key_id, public_key, team, revoked_at, revoked_reason FROM device WHERE key_id = ?"),
                arguments: [keyID]
            ).map(Self.standing)
        }
    }

    public func devices() async throws -> [DeviceRecord] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM device ORDER BY enrolled_at, id").map(Self.device) }
    }

    public func revokeDevice(id: String, reason: String, at time: Int64) async throws -> DeviceRecord? {
        try await run { db in
            try db.execute(
                sql: """
                    UPDATE device SET revoked_reason = CASE WHEN revoked_at IS NULL THEN ? ELSE revoked_reason END,
                        revoked_at = COALESCE(revoked_at, ?) WHERE id = ?
                    """,
                arguments: [reason, time, id])
            return try Row.fetchOne(db, sql: "SELECT * FROM device WHERE id = ?", arguments: [id]).map(Self.device)
        }
    }

    public func recordReport(deviceID: String, report: DeviceReport, at time: Int64) async throws {
        try await run { db in
            try db.cachedStatement(sql: "UPDATE device SET facts = ?, policy_version = ?, counters = ?, activity = ?, last_seen = ? WHERE id = ?")
                .execute(
                    arguments: [
                        try Self.json(report.facts), report.policyVersion, try Self.json(report.counters), try report.activity.map(Self.json), time,
                        deviceID,
                    ])
            guard db.changesCount > 0 else { throw ConsoleStoreError.deviceUnknown(deviceID) }
            try db.cachedStatement(sql: "INSERT INTO device_report (device_id, at, report) VALUES (?, ?, ?)").execute(
                arguments: [deviceID, time, try Self.json(report)])
            try db.cachedStatement(
                sql: """
                    DELETE FROM device_report WHERE device_id = ? AND id <= (
                        SELECT id FROM device_report WHERE device_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
                    """
            ).execute(arguments: [deviceID, deviceID, reportHistoryLimit])
        }
    }

    public func reports(deviceID: String, limit: Int) async throws -> [DeviceReportRecord] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM device_report WHERE device_id = ? ORDER BY id DESC LIMIT ?", arguments: [deviceID, limit]
            ).map { row in
                DeviceReportRecord(
                    deviceID: row["device_id"], at: row["at"],
                    report: try Self.decode(DeviceReport.self, row["report"], column: "device_report.report"))
            }
        }
    }

    public func insertPolicy(document: String, author: String, comment: String?, at time: Int64, base: Int?) async throws -> PolicyBundle {
        try await run { db in
            let latest = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM policy_version") ?? 0
            if let base, base != latest { throw ConsoleStoreError.policyBaseStale(base: base, latest: latest) }
            let next = latest + 1
            try db.execute(
                sql: "INSERT INTO policy_version (version, document, author, comment, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [next, document, author, comment, time])
            return PolicyBundle(version: next, document: document, author: author, createdAt: time, comment: comment)
        }
    }

    public func latestPolicy() async throws -> PolicyBundle? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM policy_version ORDER BY version DESC LIMIT 1")).map(Self.policy)
        }
    }

    public func policy(version: Int) async throws -> PolicyBundle? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM policy_version WHERE version = ?", arguments: [version]).map(Self.policy) }
    }

    public func policies(withDocuments: Bool) async throws -> [PolicyBundle] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM policy_version ORDER BY version DESC").map { row in
                var bundle = Self.policy(row)
                if !withDocuments { bundle.document = "" }
                return bundle
            }
        }
    }

    // MARK: admins and their sessions

    public func insertAdmin(_ admin: AdminRecord) async throws {
        try await run { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM admin_account WHERE name = ?)", arguments: [admin.name]) == true {
                throw ConsoleStoreError.adminExists(admin.name)
            }
            try db.execute(
                sql: """
                    INSERT INTO admin_account (name, password_hash, role, password_is_temporary, totp_secret, totp_last_step,
                        created_at, created_by, disabled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    admin.name, admin.passwordHash, admin.role.rawValue, admin.passwordIsTemporary, admin.totpSecret, admin.totpLastStep,
                    admin.createdAt, admin.createdBy, admin.disabledAt,
                ])
        }
    }

    public func admin(name: String) async throws -> AdminRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM admin_account WHERE name = ?", arguments: [name]).map(Self.admin) }
    }

    public func admins() async throws -> [AdminRecord] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM admin_account ORDER BY name").map(Self.admin) }
    }

    public func updateAdmin(_ admin: AdminRecord) async throws {
        try await run { db in
            try db.execute(
                sql: """
                    UPDATE admin_account SET password_hash = ?, role = ?, password_is_temporary = ?, totp_secret = ?,
                        totp_last_step = ?, disabled_at = ? WHERE name = ?
                    """,
                arguments: [
                    admin.passwordHash, admin.role.rawValue, admin.passwordIsTemporary, admin.totpSecret, admin.totpLastStep, admin.disabledAt,
                    admin.name,
                ])
            guard db.changesCount > 0 else { throw ConsoleStoreError.adminUnknown(admin.name) }
        }
    }

    public func spendTOTPStep(name: String, step: Int64) async throws -> Bool {
        try await run { db in
            try db.execute(
                sql: "UPDATE admin_account SET totp_last_step = ? WHERE name = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
                arguments: [step, name, step])
            return db.changesCount > 0
        }
    }

    public func insertSession(_ session: WebSessionRecord) async throws {
        try await run { db in
            try db.execute(
                sql: "INSERT INTO web_session (id_hash, admin, csrf_token, created_at, expires_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [session.idHash, session.admin, session.csrfToken, session.createdAt, session.expiresAt, session.lastSeen])
        }
    }

    public func session(idHash: String) async throws -> WebSessionRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM web_session WHERE id_hash = ?", arguments: [idHash]).map { row in
                WebSessionRecord(
                    idHash: row["id_hash"], admin: row["admin"], csrfToken: row["csrf_token"], createdAt: row["created_at"],
                    expiresAt: row["expires_at"], lastSeen: row["last_seen"])
            }
        }
    }

    public func touchSession(idHash: String, at time: Int64) async throws {
        try await run { db in try db.execute(sql: "UPDATE web_session SET last_seen = ? WHERE id_hash = ?", arguments: [time, idHash]) }
    }

    public func deleteSession(idHash: String) async throws {
        try await run { db in try db.execute(sql: "DELETE FROM web_session WHERE id_hash = ?", arguments: [idHash]) }
    }

    public func deleteSessions(admin: String) async throws -> Int {
        try await run { db in
            try db.execute(sql: "DELETE FROM web_session WHERE admin = ?", arguments: [admin])
            return db.changesCount
        }
    }

    public func deleteExpiredSessions(before time: Int64) async throws -> Int {
        try await run { db in
            try db.execute(sql: "DELETE FROM web_session WHERE expires_at < ?", arguments: [time])
            return db.changesCount
        }
    }

    // MARK: people, logins, bindings

    public func upsertPerson(_ person: PersonRecord) async throws {
        let (teams, roles) = (try Self.json(person.teams), try Self.json(person.roles))
        try await run { db in
            try db.execute(
                sql: """
                    INSERT INTO person (email, subject, teams, roles, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (email) DO UPDATE SET subject = excluded.subject, teams = excluded.teams, roles = excluded.roles
                    """,
                arguments: [person.email, person.subject, teams, roles, person.createdAt, person.createdBy])
        }
    }

    public func person(email: String) async throws -> PersonRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM person WHERE email = ?", arguments: [email]).map(Self.person) }
    }

    public func people() async throws -> [PersonRecord] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM person ORDER BY email").map(Self.person) }
    }

    public func insertLogin(_ login: PendingLoginRecord) async throws {
        try await run { db in
            try db.execute(
                sql: """
                    INSERT INTO human_login (id, device_id, os_uid, os_user, email, code, created_at, expires_at, attempts_left, used_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    login.id, login.deviceID, login.uid, login.user, login.email, login.code, login.createdAt, login.expiresAt, login.attemptsLeft,
                    login.usedAt,
                ])
        }
    }

    public func logins() async throws -> [PendingLoginRecord] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM human_login ORDER BY created_at DESC, id").map(Self.login) }
    }

    public func completeLogin(id: String, deviceID: String, uid: UInt32, code: String, at time: Int64, lifetime: Int64) async throws -> LoginOutcome {
        try await run { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM human_login WHERE id = ? AND device_id = ? AND os_uid = ?", arguments: [id, deviceID, uid])
            else { return .refused(.unknown) }
            let login = Self.login(row)
            if let refusal = LoginCheck.refusal(login, code: code, at: time) {
                if case .wrongCode = refusal {
                    try db.execute(sql: "UPDATE human_login SET attempts_left = attempts_left - 1 WHERE id = ?", arguments: [id])
                }
                return .refused(refusal)
            }
            guard let person = try Row.fetchOne(db, sql: "SELECT * FROM person WHERE email = ?", arguments: [login.email]).map(Self.person)
            else { return .refused(.personUnknown(login.email)) }
            try db.execute(sql: "UPDATE human_login SET used_at = ? WHERE id = ?", arguments: [time, id])
            try db.execute(
                sql: """
                    INSERT INTO human_binding (device_id, os_uid, os_user, email, method, verified_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (device_id, os_uid) DO UPDATE SET os_user = excluded.os_user, email = excluded.email, method = excluded.method,
                        verified_at = excluded.verified_at, expires_at = excluded.expires_at
                    """,
                arguments: [deviceID, login.uid, login.user, person.email, consoleCodeMethod, time, time + lifetime])
            return .bound(
                HumanBinding(
                    deviceID: deviceID, uid: login.uid, user: login.user, subject: person.subject, email: person.email, teams: person.teams,
                    roles: person.roles, method: consoleCodeMethod, verifiedAt: time, expiresAt: time + lifetime))
        }
    }

    public func binding(deviceID: String, uid: UInt32) async throws -> HumanBinding? {
        try await read { db in
            try Row.fetchOne(db, sql: Self.bindingQuery + " WHERE b.device_id = ? AND b.os_uid = ?", arguments: [deviceID, uid]).map(Self.binding)
        }
    }

    public func bindings() async throws -> [HumanBinding] {
        try await read { db in try Row.fetchAll(db, sql: Self.bindingQuery + " ORDER BY b.device_id, b.os_uid").map(Self.binding) }
    }

    private static let bindingQuery = """
        SELECT b.device_id, b.os_uid, b.os_user, b.email, b.method, b.verified_at, b.expires_at, p.subject, p.teams, p.roles
        FROM human_binding b JOIN person p ON p.email = b.email
        """

    private static func person(_ row: Row) throws -> PersonRecord {
        PersonRecord(
            email: row["email"], subject: row["subject"], teams: try decode([String].self, row["teams"], column: "person.teams"),
            roles: try decode([String].self, row["roles"], column: "person.roles"), createdAt: row["created_at"], createdBy: row["created_by"])
    }

    private static func login(_ row: Row) -> PendingLoginRecord {
        PendingLoginRecord(
            id: row["id"], deviceID: row["device_id"], uid: row["os_uid"], user: row["os_user"], email: row["email"], code: row["code"],
            createdAt: row["created_at"], expiresAt: row["expires_at"], attemptsLeft: row["attempts_left"], usedAt: row["used_at"])
    }

    private static func binding(_ row: Row) throws -> HumanBinding {
        HumanBinding(
            deviceID: row["device_id"], uid: row["os_uid"], user: row["os_user"], subject: row["subject"], email: row["email"],
            teams: try decode([String].self, row["teams"], column: "person.teams"),
            roles: try decode([String].self, row["roles"], column: "person.roles"), method: row["method"], verifiedAt: row["verified_at"],
            expiresAt: row["expires_at"])
    }

    // MARK: rows

    private static func admin(_ row: Row) throws -> AdminRecord {
        guard let role = AdminRole(rawValue: row["role"]) else {
            throw ConsoleStoreError.database("admin_account.role of \(row["name"] as String) is \(row["role"] as String), not a role")
        }
        return AdminRecord(
            name: row["name"], passwordHash: row["password_hash"], role: role, passwordIsTemporary: row["password_is_temporary"],
            totpSecret: row["totp_secret"], totpLastStep: row["totp_last_step"], createdAt: row["created_at"], createdBy: row["created_by"],
            disabledAt: row["disabled_at"])
    }

    private static func policy(_ row: Row) -> PolicyBundle {
        PolicyBundle(version: row["version"], document: row["document"], author: row["author"], createdAt: row["created_at"], comment: row["comment"])
    }

    private static func token(_ row: Row) -> EnrollTokenRecord {
        EnrollTokenRecord(
            id: row["id"], secretHash: row["secret_hash"], team: row["team"], createdAt: row["created_at"], expiresAt: row["expires_at"],
            usesLeft: row["uses_left"], issuedBy: row["issued_by"], revokedAt: row["revoked_at"], requireTPM: row["require_tpm"])
    }

    private static func standing(_ row: Row) -> DeviceStanding {
        DeviceStanding(
            id: row["id"], keyID: row["key_id"], publicKey: row["public_key"], team: row["team"], revokedAt: row["revoked_at"],
            revokedReason: row["revoked_reason"])
    }

    private static func device(_ row: Row) throws -> DeviceRecord {
        DeviceRecord(
            id: row["id"], keyID: row["key_id"], publicKey: row["public_key"], team: row["team"],
            facts: try decode(DeviceFacts.self, row["facts"], column: "device.facts"), tokenID: row["token_id"],
            enrolledAt: row["enrolled_at"], lastSeen: row["last_seen"], revokedAt: row["revoked_at"], revokedReason: row["revoked_reason"],
            policyVersion: row["policy_version"], counters: try decode([String: UInt64].self, row["counters"], column: "device.counters"),
            activity: try (row["activity"] as String?).map { try decode(DeviceActivity.self, $0, column: "device.activity") },
            keyKind: row["key_kind"], keyHolder: row["key_holder"])
    }

    private static func json(_ value: some Encodable) throws -> String { try StoredJSON.encode(value) }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String, column: String) throws -> T {
        try StoredJSON.decode(type, text, column: column)
    }

    // MARK: access

    /// A write transaction; the store's own errors pass through, GRDB's are named as database errors.
    private func run<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as ConsoleStoreError {
            throw error
        } catch {
            throw ConsoleStoreError.database("\(error)")
        }
    }

    private func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as ConsoleStoreError {
            throw error
        } catch {
            throw ConsoleStoreError.database("\(error)")
        }
    }
}
