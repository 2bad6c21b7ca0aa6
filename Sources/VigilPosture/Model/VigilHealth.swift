// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// Vigil's own health, as reported by the sensor service (which lives outside this module).

/// The sensor's state, supplied by the caller when it takes a snapshot.
public struct VigilHealth: Codable, Sendable, Hashable {
    /// The BPF programs are loaded and attached.
    public var sensorAttached: Bool
    /// The enforcement mode in force (`enforce`, `flag-only`, …), as the daemon names it.
    public var enforcementMode: String
    /// Events lost so far (ring-buffer drops plus queue drops).
    public var drops: Int
    /// Who reported these values (`vigild sensor service`), for the evidence.
    public var reporter: String

    public init(sensorAttached: Bool, enforcementMode: String, drops: Int, reporter: String) {
        self.sensorAttached = sensorAttached
        self.enforcementMode = enforcementMode
        self.drops = drops
        self.reporter = reporter
    }

    /// The three `vigil_*` facts; all `unknown` when `health` is `nil`.
    public static func observations(_ health: VigilHealth?) -> [PostureKey: PostureObservation] {
        guard let health else {
            let unknown = PostureObservation(.unknown(reason: "Vigil health not supplied (no running daemon reported it)"))
            return [.vigilSensorAttached: unknown, .vigilEnforcementMode: unknown, .vigilDrops: unknown]
        }
        let evidence = [PostureEvidence(source: health.reporter, detail: "reported by caller")]
        return [
            .vigilSensorAttached: PostureObservation(.bool(health.sensorAttached), evidence: evidence),
            .vigilEnforcementMode: PostureObservation(.string(health.enforcementMode), evidence: evidence),
            .vigilDrops: PostureObservation(.int(health.drops), evidence: evidence),
        ]
    }
}
