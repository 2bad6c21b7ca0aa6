// SPDX-License-Identifier: Apache-2.0
// What only the PostgreSQL store has: its URL, its start (migrations under an advisory lock, a
// server that refuses), and the nonces replicas share. The rest is the conformance suite's.
import Foundation
import Logging
import Testing
import VigilTestSupport

@testable import VigilConsole

@Suite struct PostgresURLTests {
    @Test func theFormsLibpqAccepts() throws {
        let plain = try PostgresURL(parsing: "postgres://vigil@db.example:6543/console")
        #expect(plain.endpoint == .tcp(host: "db.example", port: 6543))
        #expect(plain.user == "vigil" && plain.password == nil && plain.database == "console" && plain.sslMode == .prefer)

        let full = try PostgresURL(parsing: "postgresql://vigil:p%40ss%3Aword@[::1]/fleet?sslmode=verify-full")
        #expect(full.endpoint == .tcp(host: "::1", port: 5432))
        #expect(full.password == "p@ss:word")
        #expect(full.sslMode == .verifyFull)
        #expect(full.description == "postgresql://vigil:***@[::1]/fleet?sslmode=verify-full")

        let socket = try PostgresURL(parsing: "postgres://vigil@/console?host=/var/run/postgresql")
        #expect(socket.endpoint == .unixSocket(path: "/var/run/postgresql/.s.PGSQL.5432"))
    }

    @Test(arguments: [
        ("postgres://db.example/console", "names no user"),
        ("postgres://vigil@db.example", "names no database"),
        ("postgres://vigil@db.example/a/b", "names no database"),
        ("postgres://vigil@/console", "names no host"),
        ("postgres://vigil:secret@db.example/console?sslmode=maybe", "sslmode maybe is not one of"),
        ("postgres://vigil:secret@db.example/console?connect_timeout=3", "the parameter connect_timeout is not supported"),
        ("postgres://vigil@db.example/console?host=relative", "must be a socket directory"),
        ("postgres://vigil@db.example:99999/console", "port 99999 is out of range"),
        ("postgres:/vigil@db.example/console", "names no user"),
    ])
    func malformedURLsAreRefusedByName(url: String, why: String) {
        #expect {
            try PostgresURL(parsing: url)
        } throws: { error in
            let text = "\(error)"
            return text.contains("database URL \(PostgresURL.redacted(url))") && text.contains(why) && !text.contains("secret")
        }
    }

    @Test func theConsoleNamesADatabaseItCannotUse() throws {
        let state = TemporaryDirectory.make() + "/console"
        for (database, expected) in [
            ("mysql://vigil@db/console", "database mysql://vigil@db/console: unsupported; use sqlite:PATH or postgres://"),
            ("postgres://vigil:secret@db", "database URL postgres://vigil:***@db: names no database"),
        ] {
            #expect {
                try Console(configuration: ConsoleConfiguration(stateDirectory: state, database: database, port: 0), logger: Logger(label: "t"))
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
        // A well-formed URL makes a console without connecting: the pool connects when it runs.
        let console = try Console(
            configuration: ConsoleConfiguration(stateDirectory: state, database: "postgresql://vigil@127.0.0.1:1/console", port: 0),
            logger: Logger(label: "t"))
        #expect(console.store is PostgresConsoleStore)
        #expect(console.storeServices.count == 2)
    }
}

@Suite(.requires(.postgres)) struct PostgresStoreTests {
    /// Replicas starting together on a new database: one migrates, the others wait on the advisory lock and find it done.
    @Test func replicasStartingTogetherMigrateOnce() async throws {
        try await StoreBackend.postgres.withDatabase { open in
            let stores = try await withThrowingTaskGroup(of: (any ConsoleStore).self) { group in
                for _ in 0..<4 { group.addTask { try await open() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for store in stores { #expect(try await store.schemaVersion() == PostgresMigrations.all.count) }
            try await stores[0].insertToken(sampleToken())
            #expect(try await stores[3].tokens().map(\.id) == ["tok_a"])
        }
    }

    @Test func aNonceIsSpentOnceUntilItExpires() async throws {
        try await StoreBackend.postgres.withDatabase { open in
            let store = try #require(try await open() as? PostgresConsoleStore)
            #expect(try await store.spend(nonce: "n1", keyID: "sha256:k1", now: 1_000, window: 420))
            #expect(try await !store.spend(nonce: "n1", keyID: "sha256:k1", now: 1_001, window: 420))
            // Another replica (another store on the database) sees it too.
            let other = try #require(try await open() as? PostgresConsoleStore)
            #expect(try await !other.spend(nonce: "n1", keyID: "sha256:k1", now: 1_419, window: 420))
            // The pair is the key: the same nonce under another key id is another nonce.
            #expect(try await other.spend(nonce: "n1", keyID: "sha256:k2", now: 1_002, window: 420))
            // Expired, not yet pruned: new again (its signature would be too old by then anyway).
            #expect(try await other.spend(nonce: "n1", keyID: "sha256:k1", now: 1_420, window: 420))
            #expect(try await store.storedNonces() == 2)
            // Pruned once a minute of the console's clock: everything expired at 2_000 goes.
            #expect(try await store.spend(nonce: "n2", keyID: "sha256:k1", now: 2_000, window: 420))
            #expect(try await store.storedNonces() == 1)
        }
    }

    @Test func aServerThatRefusesIsNamedWithItsMessage() async throws {
        var components = try #require(URLComponents(string: try PostgresServer.url))
        components.password = "wrong"
        let url = try PostgresURL(parsing: components.string!)
        let store = PostgresConsoleStore(url: url, logger: PostgresTestDatabase.logger)
        let run = Task { try await store.run() }
        await #expect {
            try await store.tokens()
        } throws: { error in
            "\(error)".contains(url.description) && "\(error)".contains("password authentication failed for user \"vigil_test\"")
        }
        let outcome = await run.result
        #expect(throws: ConsoleStoreError.self) { try outcome.get() }
    }
}
