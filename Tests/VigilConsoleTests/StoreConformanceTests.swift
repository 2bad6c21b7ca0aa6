// SPDX-License-Identifier: Apache-2.0
// One suite every store backend must pass (SQLite today; PostgreSQL joins the list when it lands).
import Foundation
import Testing
import VigilAPI

@testable import VigilConsole

enum StoreBackend: String, CaseIterable, CustomTestStringConvertible {
    case sqlite

    var testDescription: String { rawValue }

    func make() throws -> any ConsoleStore {
        switch self {
        case .sqlite: try SQLiteConsoleStore(path: TemporaryDirectory.make() + "/console.db")
        }
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
    @Test(arguments: StoreBackend.allCases) func migrationsRunOnceAndReopen(backend: StoreBackend) async throws {
        let directory = TemporaryDirectory.make()
        let first = try SQLiteConsoleStore(path: directory + "/c.db")
        #expect(try await first.schemaVersion() == 3)
        try await first.insertToken(sampleToken())
        let again = try SQLiteConsoleStore(path: directory + "/c.db")
        #expect(try await again.schemaVersion() == 3)
        #expect(try await again.tokens().map(\.id) == ["tok_a"])
    }

    @Test(arguments: StoreBackend.allCases) func enrolSpendsAUseAndTakesTheTokensTeam(backend: StoreBackend) async throws {
        let store = try backend.make()
        try await store.insertToken(sampleToken(uses: 2))
        let enrolled = try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice(), at: 1_600)
        #expect(enrolled.team == "infra")
        #expect(enrolled.tokenID == "tok_a")
        #expect(try await store.tokens().first?.usesLeft == 1)
        #expect(try await store.device(keyID: "sha256:k1")?.id == "dev_1")
        #expect(try await store.device(id: "dev_1")?.facts == sampleFacts)
    }

    @Test(arguments: StoreBackend.allCases) func everyTokenFailureChangesNothing(backend: StoreBackend) async throws {
        let store = try backend.make()
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

    @Test(arguments: StoreBackend.allCases) func aKeyEnrolsOnce(backend: StoreBackend) async throws {
        let store = try backend.make()
        try await store.insertToken(sampleToken(uses: 5))
        _ = try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice(), at: 1_600)
        await #expect(throws: ConsoleStoreError.keyAlreadyEnrolled("sha256:k1")) {
            try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice("dev_2"), at: 1_601)
        }
        #expect(try await store.tokens().first?.usesLeft == 4)
    }

    @Test(arguments: StoreBackend.allCases) func revokeKeepsTheFirstTimeAndReason(backend: StoreBackend) async throws {
        let store = try backend.make()
        try await store.insertToken(sampleToken())
        _ = try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice(), at: 1_600)
        let first = try await store.revokeDevice(id: "dev_1", reason: "lost laptop", at: 1_700)
        #expect(first?.revokedAt == 1_700)
        let second = try await store.revokeDevice(id: "dev_1", reason: "again", at: 1_800)
        #expect(second?.revokedAt == 1_700)
        #expect(second?.revokedReason == "lost laptop")
        #expect(try await store.revokeDevice(id: "dev_nope", reason: "x", at: 1_800) == nil)
    }

    @Test(arguments: StoreBackend.allCases) func reportsUpdateFactsAndLastSeen(backend: StoreBackend) async throws {
        let store = try backend.make()
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

    @Test(arguments: StoreBackend.allCases) func aPolicyVersionFollowsOnlyTheBaseItNames(backend: StoreBackend) async throws {
        let store = try backend.make()
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
