// SPDX-License-Identifier: Apache-2.0
// `vigil status` names the device key in force: its kind, id and holder, and that it is not attested.
import Foundation
import Testing
import VigilAPI

@Suite struct StatusDeviceKeyTests {
    static func status(deviceKey: DaemonStatus.SigningKey?) -> DaemonStatus {
        DaemonStatus(
            pid: 42, startedAt: 0, enforcementMode: "enforce", device: "d1",
            policy: PolicyInfo(path: "/etc/vigil/policy.yaml", version: "v1", loadedAt: 0),
            sensor: .init(
                programs: [:], degraded: [], emitted: 0, kernelDropped: 0, consumerDropped: 0, decodeErrors: 0, gaps: 0, networkDenied: 0,
                execKilled: 0, openKilled: 0),
            hooks: .init(
                url: "http://127.0.0.1:7378/v1/hook", failClosed: true, calls: 0, denied: 0, rejectedCallers: 0, failures: 0, trustedBinaries: []),
            audit: .init(directory: "/var/lib/vigil/audit", entries: 3, appended: 3, failures: 0), deviceKey: deviceKey, sessions: [],
            recentlyEnded: [], unmanagedAgents: [], attribution: [:], timelineFailures: 0, orphanEvents: 0, errors: 0, recentErrors: [],
            scope: "all")
    }

    @Test func theTextSaysWhichKeyAndWhereItIsHeld() throws {
        let tpm = DaemonStatusText.render(
            Self.status(deviceKey: .init(kind: "ECDSA P-256", keyID: "5cd252fb", verifierKey: "vigil/h+5cd252fb+AjBZ", holder: "tpm")))
        #expect(tpm.contains("device key"))
        #expect(tpm.contains("ECDSA P-256 5cd252fb, held in the TPM, not attested"))
        let file = DaemonStatusText.render(
            Self.status(deviceKey: .init(kind: "Ed25519", keyID: "847de205", verifierKey: "vigil/h+847de205+AQ", holder: "file")))
        #expect(file.contains("Ed25519 847de205, in a file (no TPM), not attested"))
        #expect(!DaemonStatusText.render(Self.status(deviceKey: nil)).contains("device key"))
        // Enrolled: the console's requests are signed by the key the enrolment names.
        var enrolled = Self.status(deviceKey: nil)
        enrolled.policy.console = ConsoleUplinkInfo(url: "https://console:8443", deviceID: "dev_1", team: nil, keyHolder: "tpm")
        #expect(DaemonStatusText.render(enrolled).contains("requests signed by the TPM's key (not attested)"))
    }

    @Test func anOlderDaemonsStatusWithoutTheKeyStillDecodes() throws {
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Self.status(deviceKey: nil))) as! [String: Any]
        json.removeValue(forKey: "deviceKey")
        let decoded = try JSONDecoder().decode(DaemonStatus.self, from: JSONSerialization.data(withJSONObject: json))
        #expect(decoded.deviceKey == nil)
    }
}
