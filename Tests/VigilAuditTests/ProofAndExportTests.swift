// SPDX-License-Identifier: Apache-2.0
// Inclusion proofs (tlog-proof, verified offline) and the OCSF export.
import Foundation
import Testing
import VigilExport
@testable import VigilAudit

@Suite("Inclusion proofs and OCSF export")
struct ProofAndExportTests {
    @Test func proofsVerifyOfflineAndTamperedProofsFail() throws {
        let (dir, signer) = try TestLog.make(count: 100)
        for index in [0, 1, 42, 63, 64, 99] {
            let proof = try AuditVerifier.prove(directory: dir, index: index, publicKey: signer.verifierKey)
            let parsed = try InclusionProof(parsing: proof.text)
            #expect(parsed == proof)
            #expect(proof.text.hasPrefix("c2sp.org/tlog-proof@v1\nextra "))
            let result = parsed.verify(key: signer.verifierKey)
            #expect(result.isValid, "\(result.reason ?? "")")
            #expect(result.checkpoint?.size == 100)
            #expect(result.leaf?.entry == TestLog.entry(index))
        }
        let proof = try AuditVerifier.prove(directory: dir, index: 42, publicKey: signer.verifierKey)
        var badHash = proof
        badHash.hashes[1] = RFC6962.leafHash([0])
        #expect(!badHash.verify(key: signer.verifierKey).isValid)
        var badLeaf = proof
        badLeaf.leaf = Array(String(decoding: proof.leaf, as: UTF8.self).replacingOccurrences(of: "\"deny\"", with: "\"allow\"").utf8)
        badLeaf.leaf = Array(String(decoding: badLeaf.leaf, as: UTF8.self).replacingOccurrences(of: "/usr/bin/curl", with: "/usr/bin/wget").utf8)
        #expect(!badLeaf.verify(key: signer.verifierKey).isValid)
        var badIndex = proof
        badIndex.index = 43
        #expect(!badIndex.verify(key: signer.verifierKey).isValid)
        let stranger = try Ed25519FileSigner.generate(name: "vigil/test")
        #expect(!proof.verify(key: stranger.verifierKey).isValid)
        #expect(throws: AuditError.self) { try InclusionProof(parsing: "c2sp.org/tlog-proof@v1\nindex 1\n\nx") }
    }

    @Test func proofNeedsACoveringCheckpointAndAValidLog() throws {
        let (dir, signer) = try TestLog.make(count: 20)
        let log = try AuditLog.open(directory: dir, signer: signer, options: TestLog.options(every: 1000))
        try log.append(TestLog.entry(20))
        #expect {
            try AuditVerifier.prove(directory: dir, index: 20, publicKey: signer.verifierKey)
        } throws: { ($0 as? AuditError)?.code == .invalidArgument }
        try log.close()
        _ = try AuditVerifier.prove(directory: dir, index: 20, publicKey: signer.verifierKey)
        var bytes = try TestLog.read(dir + "/entries")
        bytes[bytes.count - 10] ^= 1
        try TestLog.write(dir + "/entries", bytes)
        #expect {
            try AuditVerifier.prove(directory: dir, index: 3, publicKey: signer.verifierKey)
        } throws: { ($0 as? AuditError)?.code == .logDoesNotVerify }
    }

    @Test func ocsfExportMapsEachKindAndAlerts() throws {
        let (dir, signer) = try TestLog.make(count: 30)
        let log = try AuditLog.open(directory: dir, signer: signer, options: TestLog.options())
        try log.append(.gap(deviceId: "dev-1", source: "sensor.ringbuf", lost: 5))
        try log.append(AuditEntry(kind: .toolCall, deviceId: "dev-1", action: .init(toolName: "Bash", toolInput: "ls"), decision: .ask))
        try log.close()
        let lines = try OCSFExport.lines(directory: dir, publicKey: signer.verifierKey)
        let events = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        // 30 entries + 6 deny findings (i % 5 == 0) + gap finding + tool call.
        #expect(events.count == 38)
        func classes(_ uid: Int) -> [[String: Any]] { events.filter { $0["class_uid"] as? Int == uid } }
        #expect(classes(1007).count == 10 && classes(1001).count == 10 && classes(4001).count == 10)
        #expect(classes(2004).count == 7 && classes(6003).count == 1)
        let exec = try #require(classes(1007).first)
        #expect(exec["type_uid"] as? Int == 100701)
        #expect(exec["action_id"] as? Int == 2 && exec["disposition_id"] as? Int == 2)  // entry 0 is a deny
        let process = try #require(exec["process"] as? [String: Any])
        #expect((process["cmd_line"] as? String)?.hasPrefix("/usr/bin/curl") == true)
        #expect((process["parent_process"] as? [String: Any])?["pid"] as? Int == 99)
        let file = try #require(classes(1001).first?["file"] as? [String: Any])
        #expect(file["path"] as? String == "/home/dev/.ssh/id_1")
        let network = try #require(classes(4001).first?["dst_endpoint"] as? [String: Any])
        #expect(network["port"] as? Int == 443)
        #expect(classes(2004).filter { $0["is_alert"] as? Bool == true }.count == 7)
        let metadata = try #require(exec["metadata"] as? [String: Any])
        #expect(metadata["uid"] as? String == "vigil/test/0")
    }

    @Test func exportRefusesAnUnverifiedLog() throws {
        let (dir, signer) = try TestLog.make(count: 10)
        var bytes = try TestLog.read(dir + "/entries")
        bytes[100] ^= 1
        try TestLog.write(dir + "/entries", bytes)
        #expect {
            try OCSFExport.lines(directory: dir, publicKey: signer.verifierKey)
        } throws: { ($0 as? AuditError)?.report?.failure != nil }
    }
}
