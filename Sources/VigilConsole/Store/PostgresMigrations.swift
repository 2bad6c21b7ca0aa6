// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL schema, as named, versioned migrations recorded in `schema_migrations`. They run at
// start in one transaction under an advisory lock, so replicas starting together migrate once:
// the second waits for the first and then finds nothing left to do. PostgreSQL's DDL is
// transactional, so a failed migration leaves the schema as it was.
import Logging
import PostgresNIO

enum PostgresMigrations {
    /// Every schema change is a new migration appended here; applied ones are never edited. The
    /// names of those SQLite also has are SQLite's (`SQLiteConsoleStore.migrator`).
    static let all: [(id: String, statements: [String])] = [
        (
            "1-tokens-devices",
            [
                """
                CREATE TABLE enroll_token (
                    id TEXT PRIMARY KEY,
                    secret_hash TEXT NOT NULL,
                    team TEXT,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    uses_left BIGINT NOT NULL CHECK (uses_left >= 0),
                    issued_by TEXT NOT NULL,
                    revoked_at BIGINT
                )
                """,
                """
                CREATE TABLE device (
                    id TEXT PRIMARY KEY,
                    key_id TEXT NOT NULL UNIQUE,
                    public_key TEXT NOT NULL,
                    team TEXT,
                    facts JSONB NOT NULL,
                    token_id TEXT NOT NULL REFERENCES enroll_token(id),
                    enrolled_at BIGINT NOT NULL,
                    last_seen BIGINT NOT NULL,
                    revoked_at BIGINT,
                    revoked_reason TEXT,
                    policy_version BIGINT,
                    counters JSONB NOT NULL DEFAULT '{}'
                )
                """,
            ]
        ),
        (
            "2-policy-versions",
            [
                """
                CREATE TABLE policy_version (
                    version BIGINT PRIMARY KEY,
                    document TEXT NOT NULL,
                    author TEXT NOT NULL,
                    comment TEXT,
                    created_at BIGINT NOT NULL
                )
                """
            ]
        ),
        (
            "3-admins-sessions-reports",
            [
                "ALTER TABLE device ADD COLUMN activity JSONB",
                """
                CREATE TABLE device_report (
                    id BIGSERIAL PRIMARY KEY,
                    device_id TEXT NOT NULL REFERENCES device(id),
                    at BIGINT NOT NULL,
                    report JSONB NOT NULL
                )
                """,
                "CREATE INDEX device_report_by_device ON device_report (device_id, id)",
                """
                CREATE TABLE admin_account (
                    name TEXT PRIMARY KEY,
                    password_hash TEXT NOT NULL,
                    role TEXT NOT NULL,
                    password_is_temporary BOOLEAN NOT NULL,
                    totp_secret TEXT,
                    totp_last_step BIGINT,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL,
                    disabled_at BIGINT
                )
                """,
                """
                CREATE TABLE web_session (
                    id_hash TEXT PRIMARY KEY,
                    admin TEXT NOT NULL REFERENCES admin_account(name),
                    csrf_token TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    last_seen BIGINT NOT NULL
                )
                """,
            ]
        ),
        // SQLite's 4: the device key's kind and holder, tokens that admit only TPM-held keys.
        (
            "4-device-key-holder",
            [
                "ALTER TABLE device ADD COLUMN key_kind TEXT NOT NULL DEFAULT 'ecdsa-p256-sha256'",
                "ALTER TABLE device ADD COLUMN key_holder TEXT NOT NULL DEFAULT 'file'",
                "UPDATE device SET key_kind = 'ed25519' WHERE public_key LIKE 'ed25519:%'",
                "ALTER TABLE enroll_token ADD COLUMN require_tpm BOOLEAN NOT NULL DEFAULT false",
            ]
        ),
        // SQLite's 5: the people admins keep, the logins that bind an OS account of a device to one of
        // them (by a one-time code), and the bindings; a binding's teams and roles are its person's.
        (
            "5-people-logins-bindings",
            [
                """
                CREATE TABLE person (
                    email TEXT PRIMARY KEY,
                    subject TEXT NOT NULL,
                    teams JSONB NOT NULL,
                    roles JSONB NOT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE human_login (
                    id TEXT PRIMARY KEY,
                    device_id TEXT NOT NULL REFERENCES device(id),
                    os_uid BIGINT NOT NULL,
                    os_user TEXT NOT NULL,
                    email TEXT NOT NULL REFERENCES person(email),
                    code TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    attempts_left BIGINT NOT NULL CHECK (attempts_left >= 0),
                    used_at BIGINT
                )
                """,
                """
                CREATE TABLE human_binding (
                    device_id TEXT NOT NULL REFERENCES device(id),
                    os_uid BIGINT NOT NULL,
                    os_user TEXT NOT NULL,
                    email TEXT NOT NULL,
                    method TEXT NOT NULL,
                    verified_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    PRIMARY KEY (device_id, os_uid)
                )
                """,
            ]
        ),
        // Replicas only: the RFC 9421 nonces every replica has accepted, so that none accepts one twice.
        (
            "pg-1-request-nonces",
            [
                "CREATE TABLE request_nonce (digest TEXT PRIMARY KEY, expires_at BIGINT NOT NULL)",
                "CREATE INDEX request_nonce_expiry ON request_nonce (expires_at)",
            ]
        ),
    ]

    /// `pg_advisory_xact_lock` key: "vigilsch" as eight bytes, unlikely to be another program's.
    static let lockKey: Int64 = 0x7669_6769_6c73_6368

    /// Applies what is missing; returns the ids applied now.
    @discardableResult
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: logger)
            let applied = Set(
                try await connection.query("SELECT id FROM schema_migrations", logger: logger).collect().map { try $0.decode(String.self) })
            var now: [String] = []
            for migration in all where !applied.contains(migration.id) {
                for statement in migration.statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await connection.query("INSERT INTO schema_migrations (id) VALUES (\(migration.id))", logger: logger)
                now.append(migration.id)
            }
            if !now.isEmpty { logger.info("console database migrated", metadata: ["applied": "\(now.joined(separator: ", "))"]) }
            return now
        }
    }
}
