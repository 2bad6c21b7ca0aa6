// SPDX-License-Identifier: Apache-2.0
// The people, logins and bindings of the store, on every backend: a code is good once, before its
// expiry, for its own OS account and device, and a wrong one spends an attempt even though it fails.
import Foundation
import Testing
import VigilAPI

@testable import VigilConsole

private func samplePerson(_ email: String = "ana@example.com", teams: [String] = ["infra"], roles: [String] = ["sre"]) -> PersonRecord {
    PersonRecord(email: email, subject: "console:" + email, teams: teams, roles: roles, createdAt: 1_000, createdBy: "alice")
}

private func sampleLogin(_ id: String = "login_1", uid: UInt32 = 1001, expiresAt: Int64 = 2_000, attempts: Int = 3) -> PendingLoginRecord {
    PendingLoginRecord(
        id: id, deviceID: "dev_1", uid: uid, user: "ana", email: "ana@example.com", code: "123456", createdAt: 1_600, expiresAt: expiresAt,
        attemptsLeft: attempts)
}

/// A store with a device enrolled and one person.
private func prepared(_ store: any ConsoleStore) async throws {
    try await store.insertToken(sampleToken(uses: 2))
    _ = try await store.enroll(tokenID: "tok_a", secretHash: "aa", device: sampleDevice(), at: 1_500)
    try await store.upsertPerson(samplePerson())
}

@Suite struct HumanBindingStoreTests {
    @Test(arguments: StoreBackend.allCases) func theRightCodeBindsOnceAndTheBindingCarriesThePersonsTeams(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await prepared(store)
            try await store.insertLogin(sampleLogin())
            #expect(try await store.logins().map(\.id) == ["login_1"])
            let outcome = try await store.completeLogin(id: "login_1", deviceID: "dev_1", uid: 1001, code: "123456", at: 1_700, lifetime: 100)
            guard case .bound(let binding) = outcome else {
                Issue.record("not bound: \(outcome)")
                return
            }
            #expect(binding.email == "ana@example.com" && binding.teams == ["infra"] && binding.roles == ["sre"])
            #expect(binding.method == consoleCodeMethod && binding.verifiedAt == 1_700 && binding.expiresAt == 1_800)
            #expect(try await store.binding(deviceID: "dev_1", uid: 1001) == binding)
            #expect(try await store.binding(deviceID: "dev_1", uid: 1002) == nil)
            #expect(try await store.logins().first?.usedAt == 1_700)
            // Good once.
            #expect(
                try await store.completeLogin(id: "login_1", deviceID: "dev_1", uid: 1001, code: "123456", at: 1_701, lifetime: 100)
                    == .refused(.used))
            // The person's teams as they are now: an admin's change reaches the binding.
            try await store.upsertPerson(samplePerson(teams: ["payments"], roles: []))
            #expect(try await store.binding(deviceID: "dev_1", uid: 1001)?.teams == ["payments"])
            #expect(try await store.bindings().map(\.uid) == [1001])
            #expect(try await store.people().map(\.teams) == [["payments"]])
        }
    }

    @Test(arguments: StoreBackend.allCases) func wrongCodesSpendAttemptsAndExpiredOrForeignLoginsAreRefused(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await prepared(store)
            try await store.insertLogin(sampleLogin(attempts: 2))
            #expect(
                try await store.completeLogin(id: "login_1", deviceID: "dev_1", uid: 1001, code: "000000", at: 1_700, lifetime: 100)
                    == .refused(.wrongCode(attemptsLeft: 1)))
            #expect(try await store.logins().first?.attemptsLeft == 1)
            // Another OS account of the device, or another device, cannot complete it.
            #expect(
                try await store.completeLogin(id: "login_1", deviceID: "dev_1", uid: 1002, code: "123456", at: 1_700, lifetime: 100)
                    == .refused(.unknown))
            #expect(
                try await store.completeLogin(id: "login_1", deviceID: "dev_2", uid: 1001, code: "123456", at: 1_700, lifetime: 100)
                    == .refused(.unknown))
            #expect(
                try await store.completeLogin(id: "login_1", deviceID: "dev_1", uid: 1001, code: "12345", at: 1_700, lifetime: 100)
                    == .refused(.wrongCode(attemptsLeft: 0)))
            // Spent: even the right code is refused now.
            #expect(
                try await store.completeLogin(id: "login_1", deviceID: "dev_1", uid: 1001, code: "123456", at: 1_700, lifetime: 100)
                    == .refused(.noAttemptsLeft))
            try await store.insertLogin(sampleLogin("login_2", expiresAt: 1_800))
            #expect(
                try await store.completeLogin(id: "login_2", deviceID: "dev_1", uid: 1001, code: "123456", at: 1_800, lifetime: 100)
                    == .refused(.expired))
            #expect(try await store.bindings().isEmpty)
            #expect(try await store.logins().allSatisfy { !$0.isPending(at: 1_800) })
        }
    }

    @Test(arguments: StoreBackend.allCases) func aNewLoginReplacesTheAccountsBinding(backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await prepared(store)
            try await store.upsertPerson(samplePerson("bo@example.com", teams: ["web"], roles: []))
            try await store.insertLogin(sampleLogin())
            _ = try await store.completeLogin(id: "login_1", deviceID: "dev_1", uid: 1001, code: "123456", at: 1_700, lifetime: 100)
            var second = sampleLogin("login_2")
            second.email = "bo@example.com"
            try await store.insertLogin(second)
            _ = try await store.completeLogin(id: "login_2", deviceID: "dev_1", uid: 1001, code: "123456", at: 1_750, lifetime: 100)
            let binding = try await store.binding(deviceID: "dev_1", uid: 1001)
            #expect(binding?.email == "bo@example.com" && binding?.teams == ["web"] && binding?.expiresAt == 1_850)
            #expect(try await store.bindings().count == 1)
        }
    }
}
