// SPDX-License-Identifier: Apache-2.0
// One suite every store backend must pass: each test runs once on SQLite and once on PostgreSQL,
// every time on a database of its own. Without a PostgreSQL server only SQLite's cases run, and
// `postgresIsAmongTheBackends` says why it is skipped (fails under VIGIL_REQUIRE_PRIVILEGED=1);
// see VigilTestSupport's PostgresServer.
import Foundation
import Testing
import VigilAPI
import VigilTestSupport

@testable import VigilConsole

enum StoreBackend: String, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// The backends this run tests: PostgreSQL only where a server is (a skipped test case would be
    /// reported as passed, so the absence is reported once, by a test that is skipped).
    static let allCases: [StoreBackend] = Privileges.missing([.postgres]) == nil ? [.sqlite, .postgres] : [.sqlite]

    var testDescription: String { rawValue }

    /// Every migration this backend has: what a fresh database is brought to.
    var migrations: Int {
        switch self {
        case .sqlite: SQLiteConsoleStore.migrations.count
        case .postgres: PostgresMigrations.all.count
        }
    }

    /// Runs `body` on a new database of this backend; `open` makes a store on it, as often as the
    /// test asks (a restart, a second replica), each running until `body` returns.
    func withDatabase(_ body: (_ open: @escaping @Sendable () async throws -> any ConsoleStore) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let path = TemporaryDirectory.make() + "/console.db"
            try await body { try SQLiteConsoleStore(path: path) }
        case .postgres:
            try await PostgresTestDatabase.with { url in
                let services = RunningServices()
                do {
                    try await body {
                        let store = PostgresConsoleStore(url: try PostgresURL(parsing: url), logger: PostgresTestDatabase.logger)
                        services.start(store)
                        return store
                    }
                } catch {
                    await services.stop()
                    throw error
                }
                await services.stop()
            }
        }
    }

    func withStore(_ body: (any ConsoleStore) async throws -> Void) async throws {
        try await withDatabase { open in try await body(try await open()) }
    }
}

enum TemporaryDirectory {
    static func make() -> String {
        var template = Array("/tmp/vigil-console-test-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }
}

let sampleFacts = DeviceFacts(hostname: "dev-1", os: "Debian 12", kernel: "6.18", vigilVersion: "0.1.0-dev", enforcementMode: "enforce", posture: [:])

func sampleToken(_ id: String = "tok_a", secretHash: String = "aa", team: String? = "infra", expiresAt: Int64 = 2_000, uses: Int = 1)
    -> EnrollTokenRecord
{
    EnrollTokenRecord(id: id, secretHash: secretHash, team: team, createdAt: 1_000, expiresAt: expiresAt, usesLeft: uses, issuedBy: "alice")
}

func sampleDevice(_ id: String = "dev_1", keyID: String = "sha256:k1") -> DeviceRecord {
    DeviceRecord(
        id: id, keyID: keyID, publicKey: "ecdsa-p256-sha256:x", team: nil, facts: sampleFacts, tokenID: "", enrolledAt: 1_500, lastSeen: 1_500)
}

@Suite struct StoreConformanceTests {
    @Test(.requires(.postgres)) func postgresIsAmongTheBackends() {
        #expect(StoreBackend.allCases == [.sqlite, .postgres])
    }

    @Test(arguments: StoreBackend.allCases) func migrationsRunOnceAndReopen(backend: StoreBackend) async throws {
        try await backend.withDatabase { open in
            let first = try await open()
            #expect(try await first.schemaVersion() == backend.migrations)
            try await first.insertToken(sampleToken())
            let again = try await open()
            #expect(try await again.schemaVersion() == backend.migrations)
            #expect(try await again.tokens().map(\.id) == ["tok_a"])
        }
    }

    @Test(arguments: StoreBackend.allCases) func enrolSpendsAUseAndTakesTheTokensTeam(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.insertToken(sampleToken(uses: 2))
            let enrolled = try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice(), at: 1_600)
            #expect(enrolled.team == "infra")
            #expect(enrolled.tokenID == "tok_a")
            #expect(try await store.tokens().first?.usesLeft == 1)
            #expect(try await store.standing(keyID: "sha256:k1")?.id == "dev_1")
            #expect(try await store.standing(keyID: "sha256:k1")?.team == "infra")
            #expect(try await store.standing(keyID: "sha256:nobody") == nil)
            #expect(try await store.device(id: "dev_1")?.facts == sampleFacts)
        }
    }

    @Test(arguments: StoreBackend.allCases) func aTokenRequiringATPMTakesOnlyTPMKeysAndKeepsTheHolder(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            var token = sampleToken(uses: 2)
            token.requireTPM = true
            try await store.insertToken(token)
            #expect(try await store.tokens().first?.requireTPM == true)
            await #expect(throws: ConsoleStoreError.tpmRequired("tok_a")) {
                try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice(), at: 1_600)
            }
            #expect(try await store.devices().isEmpty)
            #expect(try await store.tokens().first?.usesLeft == 2)
            var held = sampleDevice()
            held.keyHolder = "tpm"
            _ = try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: held, at: 1_600)
            let stored = try #require(try await store.device(id: "dev_1"))
            #expect(stored.keyHolder == "tpm")
            #expect(stored.keyKind == "ecdsa-p256-sha256")
            #expect(try await store.devices().map(\.keyHolder) == ["tpm"])
            // A token without the requirement: a file key, recorded as one.
            try await store.insertToken(sampleToken("tok_b"))
            var filed = sampleDevice("dev_2", keyID: "sha256:k2")
            filed.keyKind = "ed25519"
            _ = try await store.enroll(tokenID: "tok_b", secretHash: "aa", device: filed, at: 1_601)
            let second = try #require(try await store.device(id: "dev_2"))
            #expect(second.keyHolder == "file")
            #expect(second.keyKind == "ed25519")
        }
    }

    @Test(arguments: StoreBackend.allCases) func everyTokenFailureChangesNothing(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.insertToken(sampleToken("tok_a"))
            try await store.insertToken(sampleToken("tok_old", expiresAt: 1_100))
            try await store.insertToken(sampleToken("tok_rev"))
            #expect(try await store.revokeToken(id: "tok_rev", at: 1_200))
            let cases: [(String, String, ConsoleStoreError)] = [
                ("tok_missing", "aa", .tokenUnknown("tok_missing")),
                ("tok_a", "ab", .tokenSecretMismatch("tok_a")),
                ("tok_a", "a", .tokenSecretMismatch("tok_a")),
                ("tok_old", "aa", .tokenExpired("tok_old")),
                ("tok_rev", "aa", .tokenRevoked("tok_rev")),
            ]
            for (id, hash, expected) in cases {
                await #expect(throws: expected) { try await store.enroll(tokenID: id, secretHash: hash, device: sampleDevice(), at: 1_600) }
            }
            #expect(try await store.devices().isEmpty)
            #expect(try await store.tokens().map(\.usesLeft) == [1, 1, 1])
            // Used up: the second enrolment with a one-use token is refused and inserts nothing.
            _ = try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice(), at: 1_600)
            await #expect(throws: ConsoleStoreError.tokenUsedUp("tok_a")) {
                try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice("dev_2", keyID: "sha256:k2"), at: 1_601)
            }
            #expect(try await store.devices().map(\.id) == ["dev_1"])
        }
    }

    @Test(arguments: StoreBackend.allCases) func aKeyEnrolsOnce(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.insertToken(sampleToken(uses: 5))
            _ = try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice(), at: 1_600)
            await #expect(throws: ConsoleStoreError.keyAlreadyEnrolled("sha256:k1")) {
                try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice("dev_2"), at: 1_601)
            }
            #expect(try await store.tokens().first?.usesLeft == 4)
        }
    }

    @Test(arguments: StoreBackend.allCases) func revokeKeepsTheFirstTimeAndReason(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.insertToken(sampleToken())
            _ = try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice(), at: 1_600)
            let first = try await store.revokeDevice(id: "dev_1", reason: "lost laptop", at: 1_700)
            #expect(first?.revokedAt == 1_700)
            let second = try await store.revokeDevice(id: "dev_1", reason: "again", at: 1_800)
            #expect(second?.revokedAt == 1_700)
            #expect(second?.revokedReason == "lost laptop")
            // What every signed request reads sees the revocation at once.
            let standing = try await store.standing(keyID: "sha256:k1")
            #expect(standing?.revokedAt == 1_700)
            #expect(standing?.revokedReason == "lost laptop")
            #expect(try await store.revokeDevice(id: "dev_nope", reason: "x", at: 1_800) == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func reportsUpdateFactsAndLastSeen(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.insertToken(sampleToken())
            _ = try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice(), at: 1_600)
            var facts = sampleFacts
            facts.enforcementMode = "monitor"
            try await store.recordReport(
                deviceID: "dev_1", report: DeviceReport(facts: facts, policyVersion: 7, counters: ["kernelDropped": 3]), at: 1_900)
            let device = try #require(try await store.device(id: "dev_1"))
            #expect(device.facts.enforcementMode == "monitor")
            #expect(device.policyVersion == 7)
            #expect(device.counters == ["kernelDropped": 3])
            #expect(device.lastSeen == 1_900)
            await #expect(throws: ConsoleStoreError.deviceUnknown("dev_x")) {
                try await store.recordReport(deviceID: "dev_x", report: DeviceReport(facts: facts), at: 1_900)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func tokensAreListedAndRevokedOnce(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.insertToken(sampleToken("tok_b", team: nil))
            try await store.insertToken(sampleToken("tok_a"))
            #expect(try await store.tokens() == [sampleToken("tok_a"), sampleToken("tok_b", team: nil)])
            #expect(try await store.revokeToken(id: "tok_a", at: 1_100))
            #expect(try await store.revokeToken(id: "tok_a", at: 1_200))
            #expect(try await store.tokens().first?.revokedAt == 1_100)
            #expect(try await !store.revokeToken(id: "tok_nope", at: 1_200))
        }
    }

    @Test(arguments: StoreBackend.allCases) func policyVersionsAreNumberedAndKept(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            #expect(try await store.latestPolicy() == nil)
            let first = try await store.insertPolicy(document: "one", author: "alice", comment: nil, at: 1_000)
            let second = try await store.insertPolicy(document: "two", author: "bob", comment: "why", at: 1_100)
            #expect(first == PolicyBundle(version: 1, document: "one", author: "alice", createdAt: 1_000, comment: nil))
            #expect(second == PolicyBundle(version: 2, document: "two", author: "bob", createdAt: 1_100, comment: "why"))
            #expect(try await store.latestPolicy() == second)
            #expect(try await store.policy(version: 1) == first)
            #expect(try await store.policy(version: 3) == nil)
            #expect(try await store.policies(withDocuments: true) == [second, first])
            #expect(try await store.policies(withDocuments: false).map(\.document) == ["", ""])
            #expect(try await store.policies(withDocuments: false).map(\.version) == [2, 1])
        }
    }

    /// Several writers at once (replicas, or admin calls racing) still get one number each.
    @Test(arguments: StoreBackend.allCases) func concurrentPolicyChangesGetDistinctVersions(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let versions = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<8 {
                    group.addTask { try await store.insertPolicy(document: "doc \(index)", author: "a", comment: nil, at: 1_000).version }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(versions.sorted() == Array(1...8))
            #expect(try await store.latestPolicy()?.version == 8)
        }
    }

    /// The last uses of one token, spent at once: exactly that many devices enrol, the rest are told it is used up.
    @Test(arguments: StoreBackend.allCases) func concurrentEnrolmentsSpendEachUseOnce(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.insertToken(sampleToken(uses: 3))
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        do {
                            _ = try await store.enroll(
                                tokenID: "tok_a", secretHash: "aa", device: sampleDevice("dev_\(index)", keyID: "sha256:k\(index)"), at: 1_600)
                            return "enrolled"
                        } catch let error as ConsoleStoreError {
                            return "\(error)"
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == "enrolled" }.count == 3)
            #expect(outcomes.filter { $0 == ConsoleStoreError.tokenUsedUp("tok_a").description }.count == 5, "\(outcomes)")
            #expect(try await store.tokens().first?.usesLeft == 0)
            #expect(try await store.devices().count == 3)
        }
    }

    /// A failure of the database itself is a `.database` error with the backend's own words.
    @Test(arguments: StoreBackend.allCases) func databaseErrorsCarryTheBackendsMessage(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.insertToken(sampleToken())
            let error = await #expect(throws: ConsoleStoreError.self) { try await store.insertToken(sampleToken()) }
            guard case .database(let message) = error else {
                Issue.record("expected a database error, got \(String(describing: error))")
                return
            }
            let expected =
                switch backend {
                case .sqlite: "UNIQUE constraint failed: enroll_token.id"
                case .postgres: "duplicate key value violates unique constraint \"enroll_token_pkey\" (SQLSTATE 23505)"
                }
            #expect(message.contains(expected), "\(message)")
        }
    }

    @Test(arguments: StoreBackend.allCases) func aPolicyVersionFollowsOnlyTheBaseItNames(backend: StoreBackend) async throws {
        try await backend.withStore { (store: any ConsoleStore) async throws in
            #expect(try await store.insertPolicy(document: "a", author: "x", comment: nil, at: 1, base: 0).version == 1)
            #expect(try await store.insertPolicy(document: "b", author: "x", comment: nil, at: 2, base: 1).version == 2)
            await #expect(throws: ConsoleStoreError.policyBaseStale(base: 1, latest: 2)) {
                try await store.insertPolicy(document: "c", author: "y", comment: nil, at: 3, base: 1)
            }
            await #expect(throws: ConsoleStoreError.policyBaseStale(base: 0, latest: 2)) {
                try await store.insertPolicy(document: "c", author: "y", comment: nil, at: 3, base: 0)
            }
            #expect(try await store.latestPolicy()?.document == "b")
            // Two edits against v2 at once: exactly one is stored.
            let results = await withTaskGroup(of: Bool.self) { group in
                for document in ["d", "e"] {
                    group.addTask { (try? await store.insertPolicy(document: document, author: "z", comment: nil, at: 4, base: 2)) != nil }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1)
            #expect(try await store.latestPolicy()?.version == 3)
            // No base: appended whatever the newest is (a whole document pushed).
            #expect(try await store.insertPolicy(document: "f", author: "x", comment: nil, at: 5).version == 4)
        }
    }

    @Test(arguments: StoreBackend.allCases) func reportsKeepTheActivityAndABoundedHistory(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.insertToken(sampleToken())
            _ = try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice(), at: 1_600)
            #expect(try await store.device(id: "dev_1")?.activity == nil)
            let activity = DeviceActivity(
                sessions: [.init(id: "s1", agent: "claude-code", user: "dev", startedAt: 1_650, toolCalls: 4, denied: 1)],
                unmanagedAgents: [.init(pid: 42, agent: "aider", user: "dev", exe: "/usr/bin/aider", firstSeen: 1_640)], hooksDropIn: "ok",
                errors: 0)
            for index in 0..<(reportHistoryLimit + 3) {
                try await store.recordReport(
                    deviceID: "dev_1", report: DeviceReport(facts: sampleFacts, policyVersion: index, activity: activity), at: Int64(2_000 + index))
            }
            #expect(try await store.device(id: "dev_1")?.activity == activity)
            let newest = try await store.reports(deviceID: "dev_1", limit: 2)
            #expect(newest.map(\.at) == [Int64(2_000 + reportHistoryLimit + 2), Int64(2_000 + reportHistoryLimit + 1)])
            #expect(newest.first?.report.activity == activity)
            let all = try await store.reports(deviceID: "dev_1", limit: 10_000)
            #expect(all.count == reportHistoryLimit)
            #expect(all.last?.report.policyVersion == 3)
            #expect(try await store.reports(deviceID: "dev_x", limit: 10).isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases) func adminAccountsAreNamedOnce(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let alice = AdminRecord(
                name: "alice", passwordHash: "$2b$04$x", role: .admin, passwordIsTemporary: true, createdAt: 1_000, createdBy: "root")
            try await store.insertAdmin(alice)
            try await store.insertAdmin(
                AdminRecord(name: "bob", passwordHash: "$2b$04$y", role: .auditor, passwordIsTemporary: false, createdAt: 1_001, createdBy: "alice"))
            await #expect(throws: ConsoleStoreError.adminExists("alice")) { try await store.insertAdmin(alice) }
            #expect(try await store.admin(name: "alice") == alice)
            #expect(try await store.admin(name: "carol") == nil)
            #expect(try await store.admins().map(\.name) == ["alice", "bob"])
            var changed = alice
            changed.passwordHash = "$2b$04$z"
            changed.passwordIsTemporary = false
            changed.role = .policyEditor
            changed.totpSecret = "JBSWY3DPEHPK3PXP"
            changed.disabledAt = 1_500
            try await store.updateAdmin(changed)
            #expect(try await store.admin(name: "alice") == changed)
            var unknown = alice
            unknown.name = "carol"
            await #expect(throws: ConsoleStoreError.adminUnknown("carol")) { try await store.updateAdmin(unknown) }
        }
    }

    /// A TOTP code is good once: the same step spent at once on several connections (replicas) succeeds once.
    @Test(arguments: StoreBackend.allCases) func aTOTPStepIsSpentOnce(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.insertAdmin(
                AdminRecord(name: "alice", passwordHash: "h", role: .admin, passwordIsTemporary: false, createdAt: 1_000, createdBy: "root"))
            let spent = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 { group.addTask { try await store.spendTOTPStep(name: "alice", step: 100) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(spent.filter { $0 }.count == 1)
            #expect(try await !store.spendTOTPStep(name: "alice", step: 99))
            #expect(try await store.spendTOTPStep(name: "alice", step: 101))
            #expect(try await store.admin(name: "alice")?.totpLastStep == 101)
            #expect(try await !store.spendTOTPStep(name: "nobody", step: 200))
        }
    }

    @Test(arguments: StoreBackend.allCases) func sessionsLiveUntilDeleted(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            for name in ["alice", "bob"] {
                try await store.insertAdmin(
                    AdminRecord(name: name, passwordHash: "h", role: .admin, passwordIsTemporary: false, createdAt: 1_000, createdBy: "root"))
            }
            func session(_ id: String, _ admin: String, expires: Int64) -> WebSessionRecord {
                WebSessionRecord(idHash: id, admin: admin, csrfToken: "csrf-\(id)", createdAt: 1_000, expiresAt: expires, lastSeen: 1_000)
            }
            try await store.insertSession(session("s1", "alice", expires: 5_000))
            try await store.insertSession(session("s2", "alice", expires: 9_000))
            try await store.insertSession(session("s3", "bob", expires: 2_000))
            try await store.insertSession(session("s4", "bob", expires: 9_000))
            #expect(try await store.session(idHash: "s1") == session("s1", "alice", expires: 5_000))
            try await store.touchSession(idHash: "s1", at: 1_200)
            #expect(try await store.session(idHash: "s1")?.lastSeen == 1_200)
            try await store.deleteSession(idHash: "s1")
            #expect(try await store.session(idHash: "s1") == nil)
            #expect(try await store.deleteExpiredSessions(before: 3_000) == 1)
            #expect(try await store.session(idHash: "s3") == nil)
            #expect(try await store.deleteSessions(admin: "alice") == 1)
            #expect(try await store.session(idHash: "s2") == nil)
            #expect(try await store.session(idHash: "s4")?.admin == "bob")
        }
    }
}
