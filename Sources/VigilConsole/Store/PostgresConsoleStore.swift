// SPDX-License-Identifier: Apache-2.0
// The fleet store: PostgreSQL through postgres-nio's connection pool, which several console
// replicas share. Every atomic operation is one transaction; rows another replica may touch at the
// same moment are locked (the token being spent, the policy version counter). Changes other replicas
// must act on (a new policy version, a revoked device) are announced with NOTIFY inside the
// transaction that makes them, so they are delivered exactly when they commit.
import Crypto
import Foundation
import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle
import Synchronization
import VigilAPI

public final class PostgresConsoleStore: ConsoleStore, SharedNonces, Service {
    /// NOTIFY channels; the payload is only a key (a version, a device id), the rest is re-read.
    enum Channel {
        static let policy = "vigil_policy"
        static let deviceRevoked = "vigil_device_revoked"
    }

    let client: PostgresClient
    public let url: PostgresURL
    private let logger: Logger
    private let migrated = StartGate()
    /// When expired nonces were last deleted (console clock).
    private let lastPrune = Mutex<Int64>(0)

    /// Makes the pool; nothing connects until ``run()``, which migrates the schema and then serves.
    /// Operations called before the migrations finish wait for them.
    public init(url: PostgresURL, logger: Logger) {
        self.url = url
        self.logger = logger
        client = PostgresClient(configuration: Self.configuration(url), backgroundLogger: logger)
    }

    static func configuration(_ url: PostgresURL) -> PostgresClient.Configuration {
        let password = password(url)
        var configuration: PostgresClient.Configuration
        switch url.endpoint {
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS =
                switch url.sslMode {
                case .disable: .disable
                case .prefer: .prefer(tlsConfiguration(url))
                case .require, .verifyFull: .require(tlsConfiguration(url))
                }
            configuration = .init(host: host, port: port, username: url.user, password: password, database: url.database, tls: tls)
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: url.user, password: password, database: url.database)
        }
        configuration.options.additionalStartupParameters = [("application_name", "vigil-console")]
        // A few connections always open: the burst of device requests after a policy change that
        // follows a quiet minute starts on them, not on new connections' authentication.
        configuration.options.minimumConnections = 4
        return configuration
    }

    /// The same server for one connection of its own: the migrations, whose failure (a wrong
    /// password, no such database) is then the server's own answer at once, not the pool's retries.
    static func connectionConfiguration(_ url: PostgresURL) throws -> PostgresConnection.Configuration {
        let password = password(url)
        var configuration: PostgresConnection.Configuration
        switch url.endpoint {
        case .tcp(let host, let port):
            let tls: PostgresConnection.Configuration.TLS =
                switch url.sslMode {
                case .disable: .disable
                case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration(url)))
                case .require, .verifyFull: .require(try NIOSSLContext(configuration: tlsConfiguration(url)))
                }
            configuration = .init(host: host, port: port, username: url.user, password: password, database: url.database, tls: tls)
        case .unixSocket(let path):
            configuration = .init(unixSocketPath: path, username: url.user, password: password, database: url.database)
        }
        configuration.options.additionalStartupParameters = [("application_name", "vigil-console migrations")]
        return configuration
    }

    /// libpq's rule: no password in the URL, then PGPASSWORD (keeps it off command lines).
    private static func password(_ url: PostgresURL) -> String? { url.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"] }

    /// As libpq: prefer and require encrypt without checking the certificate; verify-full checks it and the name.
    private static func tlsConfiguration(_ url: PostgresURL) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if url.sslMode != .verifyFull { configuration.certificateVerification = .none }
        return configuration
    }

    /// Runs the pool until graceful shutdown, and migrates on a connection of its own meanwhile;
    /// nothing leases from the pool before the migrations are done (``ready()``).
    public func run() async throws {
        defer { migrated.fail(ConsoleStoreError.database("\(url): the console stopped before its schema was migrated")) }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            do {
                let connection = try await PostgresConnection.connect(configuration: try Self.connectionConfiguration(url), id: 0, logger: logger)
                do {
                    try await PostgresMigrations.migrate(connection, logger: logger)
                    try? await connection.close().get()
                } catch {
                    try? await connection.close().get()
                    throw error
                }
                migrated.open()
                logger.info("console database ready", metadata: ["database": "\(url)"])
            } catch {
                let failure = ConsoleStoreError.database("\(url): \(Self.message(error))")
                migrated.fail(failure)
                throw failure
            }
        }
    }

    /// Returns once the schema is migrated (throws if that failed).
    func ready() async throws { try await migrated.wait() }

    public func schemaVersion() async throws -> Int {
        try await statement { connection in
            try await connection.query("SELECT count(*) FROM schema_migrations", logger: logger).collect().first?.decode(Int.self) ?? 0
        }
    }

    public func insertToken(_ token: EnrollTokenRecord) async throws {
        try await statement { connection in
            _ = try await connection.query(
                """
                INSERT INTO enroll_token (id, secret_hash, team, created_at, expires_at, uses_left, issued_by, revoked_at, require_tpm)
                VALUES (\(token.id), \(token.secretHash), \(token.team), \(token.createdAt), \(token.expiresAt), \(token.usesLeft),
                        \(token.issuedBy), \(token.revokedAt), \(token.requireTPM))
                """, logger: logger
            ).collect()
        }
    }

    public func tokens() async throws -> [EnrollTokenRecord] {
        try await statement { connection in
            try await connection.query("SELECT \(unescaped: Self.tokenColumns) FROM enroll_token ORDER BY created_at, id", logger: logger)
                .collect().map(Self.token)
        }
    }

    public func revokeToken(id: String, at time: Int64) async throws -> Bool {
        try await statement { connection in
            try await !connection.query(
                "UPDATE enroll_token SET revoked_at = COALESCE(revoked_at, \(time)) WHERE id = \(id) RETURNING id", logger: logger
            ).collect().isEmpty
        }
    }

    public func enroll(tokenID: String, secretHash: String, device: DeviceRecord, at time: Int64) async throws -> DeviceRecord {
        try await transaction { connection in
            // FOR UPDATE: two replicas enrolling with the last use of one token are serialised here.
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.tokenColumns) FROM enroll_token WHERE id = \(tokenID) FOR UPDATE", logger: logger
            ).collect()
            guard let row = rows.first else { throw ConsoleStoreError.tokenUnknown(tokenID) }
            let token = try Self.token(row)
            guard digestsEqual(token.secretHash, secretHash) else { throw ConsoleStoreError.tokenSecretMismatch(tokenID) }
            guard token.revokedAt == nil else { throw ConsoleStoreError.tokenRevoked(tokenID) }
            guard time < token.expiresAt else { throw ConsoleStoreError.tokenExpired(tokenID) }
            guard token.usesLeft > 0 else { throw ConsoleStoreError.tokenUsedUp(tokenID) }
            guard !token.requireTPM || device.keyHolder == "tpm" else { throw ConsoleStoreError.tpmRequired(tokenID) }
            let known = try await connection.query("SELECT 1 FROM device WHERE key_id = \(device.keyID)", logger: logger).collect()
            guard known.isEmpty else { throw ConsoleStoreError.keyAlreadyEnrolled(device.keyID) }
            try await connection.query("UPDATE enroll_token SET uses_left = uses_left - 1 WHERE id = \(tokenID)", logger: logger)
            var enrolled = device
            enrolled.team = token.team
            enrolled.tokenID = tokenID
            do {
                try await connection.query(
                    """
                    INSERT INTO device (id, key_id, public_key, team, facts, token_id, enrolled_at, last_seen, counters, key_kind, key_holder)
                    VALUES (\(enrolled.id), \(enrolled.keyID), \(enrolled.publicKey), \(enrolled.team), \(try Self.json(enrolled.facts))::jsonb,
                            \(tokenID), \(enrolled.enrolledAt), \(enrolled.lastSeen), \(try Self.json(enrolled.counters))::jsonb,
                            \(enrolled.keyKind), \(enrolled.keyHolder))
                    """, logger: logger)
            } catch let error as PSQLError where error.serverInfo?[.constraintName] == "device_key_id_key" {
                // The same key enrolled through another token at the same moment: the unique key decided.
                throw ConsoleStoreError.keyAlreadyEnrolled(device.keyID)
            }
            return enrolled
        }
    }

    public func device(id: String) async throws -> DeviceRecord? {
        try await statement { connection in
            try await connection.query("SELECT \(unescaped: Self.deviceColumns) FROM device WHERE id = \(id)", logger: logger).collect().first
                .map(Self.device)
        }
    }

    public func standing(keyID: String) async throws -> DeviceStanding? {
        try await statement { connection in
            try await connection.query("SELECT \(unescaped: Self.standingColumns) FROM device WHERE key_id = \(keyID)", logger: logger).collect()
                .first.map(Self.standing)
        }
    }

    public func devices() async throws -> [DeviceRecord] {
        try await statement { connection in
            try await connection.query("SELECT \(unescaped: Self.deviceColumns) FROM device ORDER BY enrolled_at, id", logger: logger).collect()
                .map(Self.device)
        }
    }

    public func revokeDevice(id: String, reason: String, at time: Int64) async throws -> DeviceRecord? {
        try await transaction { connection in
            let rows = try await connection.query(
                """
                UPDATE device SET revoked_reason = CASE WHEN revoked_at IS NULL THEN \(reason) ELSE revoked_reason END,
                    revoked_at = COALESCE(revoked_at, \(time)) WHERE id = \(id) RETURNING \(unescaped: Self.deviceColumns)
                """, logger: logger
            ).collect()
            guard let row = rows.first else { return nil }
            try await connection.query("SELECT pg_notify(\(Channel.deviceRevoked), \(id))", logger: logger)
            return try Self.device(row)
        }
    }

    public func recordReport(deviceID: String, report: DeviceReport, at time: Int64) async throws {
        let activity = try report.activity.map(Self.json)
        // The device row and its history entry in one statement (a fleet reports after every change:
        // one round trip, not a transaction's five); then the history trimmed, which a failed trim leaves to the next report.
        try await statement { connection in
            let rows = try await connection.query(
                """
                WITH updated AS (
                    UPDATE device SET facts = \(try Self.json(report.facts))::jsonb, policy_version = \(report.policyVersion),
                        counters = \(try Self.json(report.counters))::jsonb, activity = \(activity)::jsonb, last_seen = \(time)
                    WHERE id = \(deviceID) RETURNING id)
                INSERT INTO device_report (device_id, at, report) SELECT id, \(time), \(try Self.json(report))::jsonb FROM updated
                RETURNING device_id
                """, logger: logger
            ).collect()
            guard !rows.isEmpty else { throw ConsoleStoreError.deviceUnknown(deviceID) }
            try await connection.query(
                """
                DELETE FROM device_report WHERE device_id = \(deviceID) AND id <= (
                    SELECT id FROM device_report WHERE device_id = \(deviceID) ORDER BY id DESC LIMIT 1 OFFSET \(reportHistoryLimit))
                """, logger: logger)
        }
    }

    public func reports(deviceID: String, limit: Int) async throws -> [DeviceReportRecord] {
        try await statement { connection in
            try await connection.query(
                "SELECT device_id, at, report::text AS report FROM device_report WHERE device_id = \(deviceID) ORDER BY id DESC LIMIT \(limit)",
                logger: logger
            ).collect().map { row in
                let row = row.makeRandomAccess()
                return DeviceReportRecord(
                    deviceID: try row["device_id"].decode(String.self), at: try row["at"].decode(Int64.self),
                    report: try Self.decode(DeviceReport.self, try row["report"].decode(String.self), column: "device_report.report"))
            }
        }
    }

    public func insertPolicy(document: String, author: String, comment: String?, at time: Int64, base: Int?) async throws -> PolicyBundle {
        try await transaction { connection in
            // One writer at a time takes the next number (and checks the base); readers are not blocked.
            try await connection.query("LOCK TABLE policy_version IN SHARE ROW EXCLUSIVE MODE", logger: logger)
            let row = try await connection.query("SELECT MAX(version) FROM policy_version", logger: logger).collect().first
            let latest = try row?.decode(Int?.self) ?? 0
            if let base, base != latest { throw ConsoleStoreError.policyBaseStale(base: base, latest: latest) }
            let next = latest + 1
            try await connection.query(
                """
                INSERT INTO policy_version (version, document, author, comment, created_at)
                VALUES (\(next), \(document), \(author), \(comment), \(time))
                """, logger: logger)
            try await connection.query("SELECT pg_notify(\(Channel.policy), \(String(next)))", logger: logger)
            return PolicyBundle(version: next, document: document, author: author, createdAt: time, comment: comment)
        }
    }

    public func latestPolicy() async throws -> PolicyBundle? {
        try await statement { connection in
            try await connection.query("SELECT \(unescaped: Self.policyColumns) FROM policy_version ORDER BY version DESC LIMIT 1", logger: logger)
                .collect().first.map(Self.policy)
        }
    }

    public func policy(version: Int) async throws -> PolicyBundle? {
        try await statement { connection in
            try await connection.query("SELECT \(unescaped: Self.policyColumns) FROM policy_version WHERE version = \(version)", logger: logger)
                .collect().first.map(Self.policy)
        }
    }

    public func policies(withDocuments: Bool) async throws -> [PolicyBundle] {
        // Without documents: an empty one, as SQLite answers, and the text never leaves the server.
        let document = withDocuments ? "document" : "'' AS document"
        return try await statement { connection in
            try await connection.query(
                "SELECT version, \(unescaped: document), author, comment, created_at FROM policy_version ORDER BY version DESC", logger: logger
            ).collect().map(Self.policy)
        }
    }

    // MARK: admins and their sessions

    public func insertAdmin(_ admin: AdminRecord) async throws {
        // ON CONFLICT: two replicas adding one name at once, the key decides and the loser is told.
        let inserted = try await statement { connection in
            try await connection.query(
                """
                INSERT INTO admin_account (name, password_hash, role, password_is_temporary, totp_secret, totp_last_step, created_at,
                    created_by, disabled_at)
                VALUES (\(admin.name), \(admin.passwordHash), \(admin.role.rawValue), \(admin.passwordIsTemporary), \(admin.totpSecret),
                        \(admin.totpLastStep), \(admin.createdAt), \(admin.createdBy), \(admin.disabledAt))
                ON CONFLICT (name) DO NOTHING RETURNING name
                """, logger: logger
            ).collect()
        }
        guard !inserted.isEmpty else { throw ConsoleStoreError.adminExists(admin.name) }
    }

    public func admin(name: String) async throws -> AdminRecord? {
        try await statement { connection in
            try await connection.query("SELECT \(unescaped: Self.adminColumns) FROM admin_account WHERE name = \(name)", logger: logger).collect()
                .first.map(Self.admin)
        }
    }

    public func admins() async throws -> [AdminRecord] {
        try await statement { connection in
            try await connection.query("SELECT \(unescaped: Self.adminColumns) FROM admin_account ORDER BY name", logger: logger).collect()
                .map(Self.admin)
        }
    }

    public func updateAdmin(_ admin: AdminRecord) async throws {
        let updated = try await statement { connection in
            try await connection.query(
                """
                UPDATE admin_account SET password_hash = \(admin.passwordHash), role = \(admin.role.rawValue),
                    password_is_temporary = \(admin.passwordIsTemporary), totp_secret = \(admin.totpSecret),
                    totp_last_step = \(admin.totpLastStep), disabled_at = \(admin.disabledAt)
                WHERE name = \(admin.name) RETURNING name
                """, logger: logger
            ).collect()
        }
        guard !updated.isEmpty else { throw ConsoleStoreError.adminUnknown(admin.name) }
    }

    public func spendTOTPStep(name: String, step: Int64) async throws -> Bool {
        // One UPDATE: a second replica's UPDATE of the row waits for this one and re-checks the step.
        try await statement { connection in
            try await !connection.query(
                """
                UPDATE admin_account SET totp_last_step = \(step)
                WHERE name = \(name) AND (totp_last_step IS NULL OR totp_last_step < \(step)) RETURNING name
                """, logger: logger
            ).collect().isEmpty
        }
    }

    public func insertSession(_ session: WebSessionRecord) async throws {
        try await statement { connection in
            _ = try await connection.query(
                """
                INSERT INTO web_session (id_hash, admin, csrf_token, created_at, expires_at, last_seen)
                VALUES (\(session.idHash), \(session.admin), \(session.csrfToken), \(session.createdAt), \(session.expiresAt), \(session.lastSeen))
                """, logger: logger
            ).collect()
        }
    }

    public func session(idHash: String) async throws -> WebSessionRecord? {
        try await statement { connection in
            try await connection.query(
                "SELECT id_hash, admin, csrf_token, created_at, expires_at, last_seen FROM web_session WHERE id_hash = \(idHash)", logger: logger
            ).collect().first.map { row in
                let row = row.makeRandomAccess()
                return WebSessionRecord(
                    idHash: try row["id_hash"].decode(String.self), admin: try row["admin"].decode(String.self),
                    csrfToken: try row["csrf_token"].decode(String.self), createdAt: try row["created_at"].decode(Int64.self),
                    expiresAt: try row["expires_at"].decode(Int64.self), lastSeen: try row["last_seen"].decode(Int64.self))
            }
        }
    }

    public func touchSession(idHash: String, at time: Int64) async throws {
        try await statement { connection in
            _ = try await connection.query("UPDATE web_session SET last_seen = \(time) WHERE id_hash = \(idHash)", logger: logger).collect()
        }
    }

    public func deleteSession(idHash: String) async throws {
        try await statement { connection in
            _ = try await connection.query("DELETE FROM web_session WHERE id_hash = \(idHash)", logger: logger).collect()
        }
    }

    public func deleteSessions(admin: String) async throws -> Int {
        try await statement { connection in
            try await connection.query("DELETE FROM web_session WHERE admin = \(admin) RETURNING 1", logger: logger).collect().count
        }
    }

    public func deleteExpiredSessions(before time: Int64) async throws -> Int {
        try await statement { connection in
            try await connection.query("DELETE FROM web_session WHERE expires_at < \(time) RETURNING 1", logger: logger).collect().count
        }
    }

    // MARK: people, logins, bindings

    public func upsertPerson(_ person: PersonRecord) async throws {
        let (teams, roles) = (try Self.json(person.teams), try Self.json(person.roles))
        try await statement { connection in
            try await connection.query(
                """
                INSERT INTO person (email, subject, teams, roles, created_at, created_by)
                VALUES (\(person.email), \(person.subject), \(teams)::jsonb, \(roles)::jsonb, \(person.createdAt), \(person.createdBy))
                ON CONFLICT (email) DO UPDATE SET subject = excluded.subject, teams = excluded.teams, roles = excluded.roles
                """, logger: logger)
        }
    }

    public func person(email: String) async throws -> PersonRecord? {
        try await statement { connection in
            try await connection.query("SELECT \(unescaped: Self.personColumns) FROM person WHERE email = \(email)", logger: logger).collect()
                .first.map(Self.person)
        }
    }

    public func people() async throws -> [PersonRecord] {
        try await statement { connection in
            try await connection.query("SELECT \(unescaped: Self.personColumns) FROM person ORDER BY email", logger: logger).collect()
                .map(Self.person)
        }
    }

    public func insertLogin(_ login: PendingLoginRecord) async throws {
        try await statement { connection in
            try await connection.query(
                """
                INSERT INTO human_login (id, device_id, os_uid, os_user, email, code, created_at, expires_at, attempts_left, used_at)
                VALUES (\(login.id), \(login.deviceID), \(Int64(login.uid)), \(login.user), \(login.email), \(login.code), \(login.createdAt),
                        \(login.expiresAt), \(login.attemptsLeft), \(login.usedAt))
                """, logger: logger)
        }
    }

    public func logins() async throws -> [PendingLoginRecord] {
        try await statement { connection in
            try await connection.query("SELECT \(unescaped: Self.loginColumns) FROM human_login ORDER BY created_at DESC, id", logger: logger)
                .collect().map(Self.login)
        }
    }

    public func completeLogin(id: String, deviceID: String, uid: UInt32, code: String, at time: Int64, lifetime: Int64) async throws -> LoginOutcome {
        // FOR UPDATE: two replicas given the same code at once are serialised here; the second sees it used.
        try await transaction { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.loginColumns) FROM human_login WHERE id = \(id) AND device_id = \(deviceID) AND os_uid = \(Int64(uid)) FOR UPDATE",
                logger: logger
            ).collect()
            guard let row = rows.first else { return .refused(.unknown) }
            let login = try Self.login(row)
            if let refusal = LoginCheck.refusal(login, code: code, at: time) {
                if case .wrongCode = refusal {
                    try await connection.query("UPDATE human_login SET attempts_left = attempts_left - 1 WHERE id = \(id)", logger: logger)
                }
                return .refused(refusal)
            }
            guard
                let person = try await connection.query(
                    "SELECT \(unescaped: Self.personColumns) FROM person WHERE email = \(login.email)", logger: logger
                ).collect().first.map(Self.person)
            else { return .refused(.personUnknown(login.email)) }
            try await connection.query("UPDATE human_login SET used_at = \(time) WHERE id = \(id)", logger: logger)
            try await connection.query(
                """
                INSERT INTO human_binding (device_id, os_uid, os_user, email, method, verified_at, expires_at)
                VALUES (\(deviceID), \(Int64(login.uid)), \(login.user), \(person.email), \(consoleCodeMethod), \(time), \(time + lifetime))
                ON CONFLICT (device_id, os_uid) DO UPDATE SET os_user = excluded.os_user, email = excluded.email, method = excluded.method,
                    verified_at = excluded.verified_at, expires_at = excluded.expires_at
                """, logger: logger)
            return .bound(
                HumanBinding(
                    deviceID: deviceID, uid: login.uid, user: login.user, subject: person.subject, email: person.email, teams: person.teams,
                    roles: person.roles, method: consoleCodeMethod, verifiedAt: time, expiresAt: time + lifetime))
        }
    }

    public func binding(deviceID: String, uid: UInt32) async throws -> HumanBinding? {
        try await statement { connection in
            try await connection.query(
                "\(unescaped: Self.bindingQuery) WHERE b.device_id = \(deviceID) AND b.os_uid = \(Int64(uid))", logger: logger
            ).collect().first.map(Self.binding)
        }
    }

    public func bindings() async throws -> [HumanBinding] {
        try await statement { connection in
            try await connection.query("\(unescaped: Self.bindingQuery) ORDER BY b.device_id, b.os_uid", logger: logger).collect().map(Self.binding)
        }
    }

    private static let personColumns = "email, subject, teams::text AS teams, roles::text AS roles, created_at, created_by"
    private static let loginColumns = "id, device_id, os_uid, os_user, email, code, created_at, expires_at, attempts_left, used_at"
    private static let bindingQuery = """
        SELECT b.device_id, b.os_uid, b.os_user, b.email, b.method, b.verified_at, b.expires_at, p.subject,
            p.teams::text AS teams, p.roles::text AS roles
        FROM human_binding b JOIN person p ON p.email = b.email
        """

    private static func person(_ row: PostgresRow) throws -> PersonRecord {
        let row = row.makeRandomAccess()
        return PersonRecord(
            email: try row["email"].decode(String.self), subject: try row["subject"].decode(String.self),
            teams: try decode([String].self, try row["teams"].decode(String.self), column: "person.teams"),
            roles: try decode([String].self, try row["roles"].decode(String.self), column: "person.roles"),
            createdAt: try row["created_at"].decode(Int64.self), createdBy: try row["created_by"].decode(String.self))
    }

    private static func login(_ row: PostgresRow) throws -> PendingLoginRecord {
        let row = row.makeRandomAccess()
        return PendingLoginRecord(
            id: try row["id"].decode(String.self), deviceID: try row["device_id"].decode(String.self),
            uid: UInt32(truncatingIfNeeded: try row["os_uid"].decode(Int64.self)), user: try row["os_user"].decode(String.self),
            email: try row["email"].decode(String.self), code: try row["code"].decode(String.self),
            createdAt: try row["created_at"].decode(Int64.self), expiresAt: try row["expires_at"].decode(Int64.self),
            attemptsLeft: try row["attempts_left"].decode(Int.self), usedAt: try row["used_at"].decode(Int64?.self))
    }

    private static func binding(_ row: PostgresRow) throws -> HumanBinding {
        let row = row.makeRandomAccess()
        return HumanBinding(
            deviceID: try row["device_id"].decode(String.self), uid: UInt32(truncatingIfNeeded: try row["os_uid"].decode(Int64.self)),
            user: try row["os_user"].decode(String.self), subject: try row["subject"].decode(String.self),
            email: try row["email"].decode(String.self),
            teams: try decode([String].self, try row["teams"].decode(String.self), column: "person.teams"),
            roles: try decode([String].self, try row["roles"].decode(String.self), column: "person.roles"),
            method: try row["method"].decode(String.self), verifiedAt: try row["verified_at"].decode(Int64.self),
            expiresAt: try row["expires_at"].decode(Int64.self))
    }

    // MARK: shared nonces

    public func spend(nonce: String, keyID: String, now: Int64, window: Int64) async throws -> Bool {
        let digest = Self.nonceDigest(keyID: keyID, nonce: nonce)
        let fresh = try await statement { connection in
            // A row past its expiry that pruning has not reached yet counts as absent.
            try await !connection.query(
                """
                INSERT INTO request_nonce (digest, expires_at) VALUES (\(digest), \(now + window))
                ON CONFLICT (digest) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE request_nonce.expires_at <= \(now)
                RETURNING 1
                """, logger: logger
            ).collect().isEmpty
        }
        try await pruneNonces(now: now)
        return fresh
    }

    /// Deletes expired nonces, at most once a minute.
    private func pruneNonces(now: Int64) async throws {
        let due = lastPrune.withLock { last in
            guard now - last >= 60 else { return false }
            last = now
            return true
        }
        guard due else { return }
        try await statement { connection in
            _ = try await connection.query("DELETE FROM request_nonce WHERE expires_at <= \(now)", logger: logger).collect()
        }
    }

    public func spendReadingDevice(nonce: String, keyID: String, now: Int64, window: Int64) async throws -> (fresh: Bool, device: DeviceStanding?) {
        let digest = Self.nonceDigest(keyID: keyID, nonce: nonce)
        let row = try await statement { connection in
            // The INSERT runs whether or not a device row matches (a data-modifying WITH always does).
            try await connection.query(
                """
                WITH spent AS (
                    INSERT INTO request_nonce (digest, expires_at) VALUES (\(digest), \(now + window))
                    ON CONFLICT (digest) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE request_nonce.expires_at <= \(now)
                    RETURNING 1)
                SELECT EXISTS (SELECT 1 FROM spent) AS fresh, device.* FROM (SELECT 1) AS one
                LEFT JOIN (SELECT \(unescaped: Self.standingColumns) FROM device WHERE key_id = \(keyID)) AS device ON true
                """, logger: logger
            ).collect().first
        }
        try await pruneNonces(now: now)
        guard let row else { throw ConsoleStoreError.database("the nonce and device query returned no row") }
        let fresh = try row.makeRandomAccess()["fresh"].decode(Bool.self)
        let device = try row.makeRandomAccess()["id"].decode(String?.self) == nil ? nil : Self.standing(row)
        return (fresh, device)
    }

    /// Expired nonces still stored (pruned at most once a minute by ``spend(nonce:keyID:now:window:)``).
    func storedNonces() async throws -> Int {
        try await statement { connection in
            try await connection.query("SELECT count(*) FROM request_nonce", logger: logger).collect().first?.decode(Int.self) ?? 0
        }
    }

    /// Hex SHA-256 over (length of keyid, keyid, nonce): a bounded key, whatever the strings' sizes.
    static func nonceDigest(keyID: String, nonce: String) -> String {
        var hash = SHA256()
        withUnsafeBytes(of: UInt64(keyID.utf8.count).bigEndian) { hash.update(bufferPointer: $0) }
        hash.update(data: Array(keyID.utf8))
        hash.update(data: Array(nonce.utf8))
        // Hex by hand: String(format:) was a visible part of every device request.
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in hash.finalize() { hex += [digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]] }
        return String(decoding: hex, as: UTF8.self)
    }

    // MARK: rows

    private static let tokenColumns = "id, secret_hash, team, created_at, expires_at, uses_left, issued_by, revoked_at, require_tpm"
    private static let deviceColumns = """
        id, key_id, public_key, team, facts::text AS facts, token_id, enrolled_at, last_seen, revoked_at, revoked_reason, policy_version,
        counters::text AS counters, activity::text AS activity, key_kind, key_holder
        """
    private static let standingColumns = "id, key_id, public_key, team, revoked_at, revoked_reason"
    private static let adminColumns = """
        name, password_hash, role, password_is_temporary, totp_secret, totp_last_step, created_at, created_by, disabled_at
        """
    private static let policyColumns = "version, document, author, comment, created_at"

    private static func token(_ row: PostgresRow) throws -> EnrollTokenRecord {
        let row = row.makeRandomAccess()
        return EnrollTokenRecord(
            id: try row["id"].decode(String.self), secretHash: try row["secret_hash"].decode(String.self), team: try row["team"].decode(String?.self),
            createdAt: try row["created_at"].decode(Int64.self), expiresAt: try row["expires_at"].decode(Int64.self),
            usesLeft: try row["uses_left"].decode(Int.self), issuedBy: try row["issued_by"].decode(String.self),
            revokedAt: try row["revoked_at"].decode(Int64?.self), requireTPM: try row["require_tpm"].decode(Bool.self))
    }

    private static func standing(_ row: PostgresRow) throws -> DeviceStanding {
        let row = row.makeRandomAccess()
        return DeviceStanding(
            id: try row["id"].decode(String.self), keyID: try row["key_id"].decode(String.self), publicKey: try row["public_key"].decode(String.self),
            team: try row["team"].decode(String?.self), revokedAt: try row["revoked_at"].decode(Int64?.self),
            revokedReason: try row["revoked_reason"].decode(String?.self))
    }

    private static func device(_ row: PostgresRow) throws -> DeviceRecord {
        let row = row.makeRandomAccess()
        return DeviceRecord(
            id: try row["id"].decode(String.self), keyID: try row["key_id"].decode(String.self), publicKey: try row["public_key"].decode(String.self),
            team: try row["team"].decode(String?.self),
            facts: try decode(DeviceFacts.self, try row["facts"].decode(String.self), column: "device.facts"),
            tokenID: try row["token_id"].decode(String.self), enrolledAt: try row["enrolled_at"].decode(Int64.self),
            lastSeen: try row["last_seen"].decode(Int64.self), revokedAt: try row["revoked_at"].decode(Int64?.self),
            revokedReason: try row["revoked_reason"].decode(String?.self), policyVersion: try row["policy_version"].decode(Int?.self),
            counters: try decode([String: UInt64].self, try row["counters"].decode(String.self), column: "device.counters"),
            activity: try row["activity"].decode(String?.self).map { try decode(DeviceActivity.self, $0, column: "device.activity") },
            keyKind: try row["key_kind"].decode(String.self), keyHolder: try row["key_holder"].decode(String.self))
    }

    private static func admin(_ row: PostgresRow) throws -> AdminRecord {
        let row = row.makeRandomAccess()
        let name = try row["name"].decode(String.self)
        let roleName = try row["role"].decode(String.self)
        guard let role = AdminRole(rawValue: roleName) else {
            throw ConsoleStoreError.database("admin_account.role of \(name) is \(roleName), not a role")
        }
        return AdminRecord(
            name: name, passwordHash: try row["password_hash"].decode(String.self), role: role,
            passwordIsTemporary: try row["password_is_temporary"].decode(Bool.self), totpSecret: try row["totp_secret"].decode(String?.self),
            totpLastStep: try row["totp_last_step"].decode(Int64?.self), createdAt: try row["created_at"].decode(Int64.self),
            createdBy: try row["created_by"].decode(String.self), disabledAt: try row["disabled_at"].decode(Int64?.self))
    }

    private static func policy(_ row: PostgresRow) throws -> PolicyBundle {
        let row = row.makeRandomAccess()
        return PolicyBundle(
            version: try row["version"].decode(Int.self), document: try row["document"].decode(String.self),
            author: try row["author"].decode(String.self),
            createdAt: try row["created_at"].decode(Int64.self), comment: try row["comment"].decode(String?.self))
    }

    private static func json(_ value: some Encodable) throws -> String { try StoredJSON.encode(value) }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String, column: String) throws -> T {
        try StoredJSON.decode(type, text, column: column)
    }

    // MARK: access

    /// One statement (autocommit) on a pooled connection, once the schema is migrated.
    private func statement<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await migrated.wait()
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// A transaction: committed when `body` returns, rolled back when it throws.
    private func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await migrated.wait()
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// The store's own refusals pass through; everything else is a database error with the server's words.
    static func storeError(_ error: any Error) -> ConsoleStoreError {
        if let refusal = error as? ConsoleStoreError { return refusal }
        if let transaction = error as? PostgresTransactionError, let refusal = transaction.closureError as? ConsoleStoreError,
            transaction.rollbackError == nil
        {
            return refusal
        }
        return .database(message(error))
    }

    /// What went wrong, as the server said it (PSQLError's own description hides it on purpose).
    static func message(_ error: any Error) -> String {
        switch error {
        case let error as ConsoleStoreError:
            return error.description
        case let error as PostgresTransactionError:
            let parts = [
                error.beginError.map { "BEGIN: \(message($0))" }, error.closureError.map { message($0) },
                error.rollbackError.map { "ROLLBACK: \(message($0))" }, error.commitError.map { "COMMIT: \(message($0))" },
            ]
            return parts.compactMap { $0 }.joined(separator: "; ")
        case let error as PSQLError:
            if let server = error.serverInfo, let text = server[.message] {
                return "\(text) (SQLSTATE \(server[.sqlState] ?? "?"))" + (server[.detail].map { ": \($0)" } ?? "")
            }
            return "\(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
        default:
            return "\(error)"
        }
    }
}

/// Opens once: those waiting go on when the migrations are done, or get their failure.
final class StartGate: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Void, any Error>])
        case open
        case failed(any Error)
    }

    private let state = Mutex(State.waiting([]))

    func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let result: Result<Void, any Error>? = state.withLock { state in
                switch state {
                case .waiting(let waiting):
                    state = .waiting(waiting + [continuation])
                    return nil
                case .open: return .success(())
                case .failed(let error): return .failure(error)
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }

    func open() { settle(.success(())) }

    /// No effect once open or failed.
    func fail(_ error: any Error) { settle(.failure(error)) }

    private func settle(_ result: Result<Void, any Error>) {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard case .waiting(let waiting) = state else { return [] }
            switch result {
            case .success: state = .open
            case .failure(let error): state = .failed(error)
            }
            return waiting
        }
        for continuation in waiting { continuation.resume(with: result) }
    }
}
