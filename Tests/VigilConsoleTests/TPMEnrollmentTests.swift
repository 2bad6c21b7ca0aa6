// SPDX-License-Identifier: Apache-2.0
// A token that requires a TPM-held device key: a file key is refused (403 tpm_required, audited);
// a key made in swtpm enrols, signs its requests, and the console shows it as a TPM key.
import Foundation
import Testing
import VigilAPI
import VigilAudit
import VigilConsole
import VigilDevice
import VigilFleet
import VigilTestSupport

@Suite(.serialized) struct TPMEnrollmentTests {
    @Test func aTokenThatRequiresATPMRefusesAFileKeyAndSaysWhy() async throws {
        let live = try await LiveConsole.start()
        let token = try await live.issueToken(requireTPM: true)
        let device = FleetEnrollment(stateDirectory: TemporaryDirectory.make())
        do {
            _ = try await device.enroll(token: token, facts: sampleFacts, source: .file)
            Issue.record("a file key enrolled with a token that requires a TPM")
        } catch {
            #expect(error.status == 403)
            #expect(error.message.contains("tpm_required"))
        }
        #expect(try await live.console.store.devices().isEmpty)
        // The token keeps its use; the refusal is audited with the reason.
        #expect(try await live.console.store.tokens().first?.usesLeft == 1)
        let denied = try live.auditEntries("device.enroll").filter { $0.decision == .deny }
        #expect(denied.count == 1)
        #expect(denied.first?.extra["reason"]?.contains("requires a device key held in a TPM") == true)
        #expect(denied.first?.extra["keyHolder"] == "file")
        #expect(try live.auditEntries("token.issue").first?.extra["requireTPM"] == "true")

        // A token without the requirement takes the file key, and the console records it as one.
        let state = try await device.enroll(token: try await live.issueToken(), facts: sampleFacts, source: .file)
        #expect(state.keyHolder == "file")
        let summary = try await device.client(for: state, source: .file).call("GET", "/api/v1/device", as: DeviceSummary.self)
        #expect(summary.keyHolder == "file")
        #expect(summary.keyKind == "ecdsa-p256-sha256")
        try await live.stop()
    }

    @Test(.requires(.swtpm)) func aKeyMadeInTheTPMEnrolsAndSignsItsRequests() async throws {
        let tpm = try SoftwareTPM()
        let live = try await LiveConsole.start()
        let directory = TemporaryDirectory.make()
        let device = FleetEnrollment(stateDirectory: directory)
        let source = DeviceKeySource.tpm(tcti: tpm.tcti)
        let state = try await device.enroll(token: try await live.issueToken(requireTPM: true), facts: sampleFacts, source: source)
        #expect(state.keyHolder == "tpm")
        #expect(FileManager.default.fileExists(atPath: directory + "/device-key.tpm"))
        #expect(!FileManager.default.fileExists(atPath: device.keyPath), "no file key was made")
        let stored = try #require(try await live.console.store.device(id: state.deviceID))
        #expect(stored.keyHolder == "tpm")
        #expect(stored.keyKind == "ecdsa-p256-sha256")
        // Every later request is signed by the TPM (raw r‖s on the wire); the console verifies it.
        let summary = try await device.client(for: state, source: source).call("GET", "/api/v1/device", as: DeviceSummary.self)
        #expect(summary.id == state.deviceID)
        #expect(summary.keyHolder == "tpm")
        #expect(try live.auditEntries("device.enroll").first?.extra["keyHolder"] == "tpm")
        // Where the TPM has gone, the device does not sign with anything else.
        tpm.stop()
        #expect(throws: FleetError.self) { try device.client(for: state, source: source) }
        #expect(throws: FleetError.self) { try device.client(for: state, source: .file) }
        try await live.stop()
    }
}
