// SPDX-License-Identifier: Apache-2.0
// Who is behind each OS account of this device, as the console says: asked lazily, the first time
// an account is seen and again after `refreshAfter`, and kept in memory so a hook call reads it
// without a round trip. Without an enrolment nobody is verified. A console that cannot be reached
// leaves the last answer in force until the binding's own expiry.
import Dispatch
import Foundation
import Synchronization
import VigilAPI
import VigilFleet
import VigilHost
import VigilPolicy

final class HumanBindings: Sendable {
    struct Entry: Sendable {
        var user: String
        var binding: HumanBinding?
        /// Unix seconds of the last answer (or failed question).
        var checkedAt: Int64
        var problem: String?
    }

    /// How long an answer is used before the console is asked again; after a failure, `retryAfter`.
    let refreshAfter: Int64
    let retryAfter: Int64
    /// The longest a hook call waits for the console on an account it has not seen.
    let wait: DispatchTimeInterval
    private let clock: @Sendable () -> Int64
    private let entries = Mutex<[UInt32: Entry]>([:])
    private let console = Mutex<ConsoleClient?>(nil)

    init(
        refreshAfter: Int64 = 300, retryAfter: Int64 = 30, wait: DispatchTimeInterval = .seconds(2),
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.refreshAfter = refreshAfter
        self.retryAfter = retryAfter
        self.wait = wait
        self.clock = clock
    }

    /// The enrolment's console (nil: not enrolled). A change forgets every answer: they were another console's.
    func setConsole(_ client: ConsoleClient?) {
        console.withLock { $0 = client }
        entries.withLock { $0.removeAll() }
    }

    var client: ConsoleClient? { console.withLock { $0 } }

    /// The identity policy decides `account` by: its person's when bound, else the account's own
    /// (its groups as teams), unverified.
    func identity(of account: Account, deviceTeams: [String], device: String?) -> Identity {
        guard let binding = binding(uid: account.uid, user: account.name) else {
            return Identity(user: account.name, teams: account.groups + deviceTeams, device: device)
        }
        return .verified(
            user: account.name, email: binding.email, teams: binding.teams, roles: binding.roles, deviceTeams: deviceTeams, device: device)
    }

    /// The binding in force for `uid` now (asking the console when the answer is missing or old).
    func binding(uid: UInt32, user: String) -> HumanBinding? {
        let now = clock()
        let kept = entries.withLock { $0[uid] }
        if let kept, now - kept.checkedAt < refreshAfter { return Self.valid(kept.binding, at: now) }
        guard let client else { return nil }
        switch Self.blocking(wait, { () async throws(FleetError) in try await client.binding(uid: uid) }) {
        case .success(let binding):
            remember(uid, Entry(user: user, binding: binding, checkedAt: now))
            return Self.valid(binding, at: now)
        case .failure(let error):
            // Asked again after `retryAfter`, not on every call; the last answer holds till its expiry.
            remember(uid, Entry(user: user, binding: kept?.binding, checkedAt: now - refreshAfter + retryAfter, problem: error.description))
            return Self.valid(kept?.binding, at: now)
        }
    }

    /// A login just completed: in force at once.
    func remember(_ binding: HumanBinding) {
        remember(binding.uid, Entry(user: binding.user, binding: binding, checkedAt: clock()))
    }

    private func remember(_ uid: UInt32, _ entry: Entry) { entries.withLock { $0[uid] = entry } }

    /// What `vigil status` shows: the accounts seen, each with its person or why none.
    func status(visibleTo uid: UInt32) -> [AccountBinding] {
        let now = clock()
        return entries.withLock { $0 }.filter { uid == 0 || $0.key == uid }.sorted { $0.key < $1.key }.map { key, entry in
            AccountBinding(
                uid: key, user: entry.user, binding: Self.valid(entry.binding, at: now), checkedAt: entry.checkedAt, problem: entry.problem)
        }
    }

    private static func valid(_ binding: HumanBinding?, at now: Int64) -> HumanBinding? {
        guard let binding, now < binding.expiresAt else { return nil }
        return binding
    }

    /// Runs `work` on the concurrency pool and waits for it at most `timeout`, from a thread that
    /// may block (the hook and API servers' own threads).
    static func blocking<T: Sendable>(
        _ timeout: DispatchTimeInterval, _ work: @escaping @Sendable () async throws(FleetError) -> T
    ) -> Result<T, FleetError> {
        let result = Mutex<Result<T, FleetError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = Task {
            let outcome: Result<T, FleetError>
            do throws(FleetError) {
                outcome = .success(try await work())
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else {
            task.cancel()
            return .failure(FleetError(.connect, "the console did not answer in time"))
        }
        return result.withLock { $0 } ?? .failure(FleetError(.connect, "the console did not answer"))
    }
}
