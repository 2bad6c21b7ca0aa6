// SPDX-License-Identifier: Apache-2.0
// Replicas on one PostgreSQL database serve one fleet: what one of them changes reaches the device
// streams the others hold. The store NOTIFYs inside the transaction of a change (a policy version:
// its number; a revoked device: its id); this service LISTENs on one pooled connection and acts on
// this replica's streams, re-reading everything else from the store. NOTIFY is not kept for a
// listener that is away, so on every (re)connection the state is read again once both channels
// listen: what committed before is read, what commits after is notified, nothing falls between.
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import VigilAPI

final class PostgresChangeFeed: Service {
    private let store: PostgresConsoleStore
    private let policies: PolicyPublisher
    private let logger: Logger
    private let retryDelay: Duration
    /// How many times the feed has been listening and in step (tests wait on it).
    private let synced = Mutex(0)

    init(store: PostgresConsoleStore, policies: PolicyPublisher, logger: Logger, retryDelay: Duration = .seconds(1)) {
        self.store = store
        self.policies = policies
        self.logger = logger
        self.retryDelay = retryDelay
    }

    var syncs: Int { synced.withLock { $0 } }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.listen()
                } catch {
                    guard !Task.isCancelled else { return }
                    self.logger.warning(
                        "replica notifications interrupted; listening again",
                        metadata: ["error": "\(PostgresConsoleStore.message(error))", "retry": "\(self.retryDelay)"])
                }
                try? await Task.sleep(for: self.retryDelay)
            }
        }
    }

    private struct Interrupted: Error, CustomStringConvertible {
        var description: String { "the listening connection stopped delivering notifications" }
    }

    private func listen() async throws {
        try await store.ready()
        try await store.client.withConnection { connection in
            try await connection.listen(on: PostgresConsoleStore.Channel.policy) { versions in
                try await connection.listen(on: PostgresConsoleStore.Channel.deviceRevoked) { revoked in
                    try await resync()
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for try await notification in versions {
                                guard let version = Int(notification.payload) else { continue }
                                self.policies.publish(version)
                            }
                            throw Interrupted()
                        }
                        group.addTask {
                            for try await notification in revoked { try await self.cutIfRevoked(notification.payload) }
                            throw Interrupted()
                        }
                        // Either ends only by failing; the other is cancelled with it.
                        try await group.next()
                    }
                }
            }
        }
    }

    /// After a (re)connection: the newest version, and every streaming device's revocation, from the store.
    private func resync() async throws {
        if let latest = try await store.latestPolicy() { policies.publish(latest.version) }
        for device in policies.connectedDevices { try await cutIfRevoked(device) }
        synced.withLock { $0 += 1 }
        logger.debug("replica notifications listening", metadata: ["policyVersion": "\(policies.version)"])
    }

    private func cutIfRevoked(_ deviceID: String) async throws {
        guard try await store.device(id: deviceID)?.revokedAt != nil else { return }
        policies.disconnect(device: deviceID)
    }
}
