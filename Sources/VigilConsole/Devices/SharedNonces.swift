// SPDX-License-Identifier: Apache-2.0
// Replay protection across console replicas. Each replica keeps its own in-memory NonceCache (a
// replay to the same replica is refused without a round trip); behind several replicas a request
// accepted by one must also be refused by the others, so the nonce is spent once more where they
// all look: the shared database.

/// Nonces that every replica of one console sees.
public protocol SharedNonces: Sendable {
    /// Records (`keyID`, `nonce`) until `now + window` and returns true; false when it is already
    /// recorded and not expired: a replay.
    func spend(nonce: String, keyID: String, now: Int64, window: Int64) async throws -> Bool

    /// `spend`, and the standing of the device enrolled with `keyID` as it is now, in one round trip: after a policy
    /// change every device asks at once, and each request needs both.
    func spendReadingDevice(nonce: String, keyID: String, now: Int64, window: Int64) async throws -> (fresh: Bool, device: DeviceStanding?)
}
