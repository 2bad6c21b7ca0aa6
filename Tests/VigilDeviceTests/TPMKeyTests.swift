// SPDX-License-Identifier: Apache-2.0
// The TPM-held device key against swtpm (started per test, fresh state), the checkpoint signer on
// it, and the file keys behind the same seams. Without swtpm these are skipped with the reason, or
// fail under VIGIL_REQUIRE_PRIVILEGED=1.
import Crypto
import Foundation
import Glibc
import Testing
import VigilAPI
import VigilAudit
import VigilDevice
import VigilHost
import VigilSignatures
import VigilTestSupport

private func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "vigil-device-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    return path
}

private func entries(_ count: Int) -> [AuditEntry] {
    (0..<count).map { AuditEntry(kind: .exec, deviceId: "d", action: .init(argv: ["/bin/true", "\($0)"]), decision: .allow) }
}

/// Runs `vigil` (built with the tests) and returns its exit status and standard output.
private func runVigil(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try Privileges.product("vigil"))
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

@Suite("TPM device key (swtpm)", .requires(.swtpm), .serialized)
struct TPMKeyTests {
    @Test func aKeyMadeInTheTPMSignsCheckpointsThatVigilAuditVerifyAccepts() throws {
        let tpm = try SoftwareTPM()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = DeviceKeyFiles(stateDirectory: directory)
        let signer = try AuditKeys.open(directory: directory + "/audit", files: files, name: "vigil/tpm-test", source: .tpm(tcti: tpm.tcti))
        #expect(signer.keyHolder == .tpm)
        #expect(signer.verifierKey.signatureType == NoteVerifierKey.ecdsaP256)
        let blob = try #require(try FileStatus.of(files.tpmBlob))
        #expect(blob.permissions == 0o600)

        let log = try AuditLog.open(directory: directory + "/audit", signer: signer, options: .init(checkpointEvery: 4))
        for _ in 0..<4 { _ = try log.append(entries(5)) }
        try log.close()

        let report = try AuditVerifier.verify(directory: directory + "/audit", publicKey: signer.verifierKey)
        #expect(report.isValid, "\(report)")
        #expect(report.checkpoints == 5, "the size-0 checkpoint and one per batch")
        #expect(report.signers.map(\.holder) == [.tpm])
        #expect(report.signers.first?.kind == "ECDSA P-256")

        let (status, output) = try runVigil(["audit", "verify", directory + "/audit", "--key", signer.verifierKey.description])
        #expect(status == 0, "\(output)")
        #expect(output.hasPrefix("OK: "))
        #expect(output.contains("signed by ECDSA P-256 key vigil/tpm-test id \(signer.verifierKey.hexID), held in a TPM"))
        #expect(output.contains("not attested"))

        // OpenSSL, an implementation of its own, verifies the last checkpoint's DER signature with the SPKI.
        let note = try #require(SignedNote(text: try String(contentsOfFile: directory + "/audit/checkpoint", encoding: .utf8)))
        try Data(signer.verifierKey.publicKey).write(to: URL(fileURLWithPath: directory + "/pub.der"))
        try Data(try #require(note.signatures.first).signature).write(to: URL(fileURLWithPath: directory + "/sig.der"))
        try Data(note.body.utf8).write(to: URL(fileURLWithPath: directory + "/body"))
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "dgst", "-sha256", "-keyform", "DER", "-verify", directory + "/pub.der", "-signature", directory + "/sig.der", directory + "/body",
        ]
        openssl.standardOutput = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0, "openssl did not verify the TPM's checkpoint signature")

        // The signatures are the TPM's: a different P-256 key with the same name does not verify them.
        let other = try NoteVerifierKey(name: "vigil/tpm-test", ecdsaP256PublicKey: P256.Signing.PrivateKey().publicKey)
        let forged = try AuditVerifier.verify(directory: directory + "/audit", publicKey: other)
        #expect(forged.failure?.kind == .checkpointSignature)
    }

    @Test func theKeySurvivesAnSwtpmRestartWithTheSameState() throws {
        let tpm = try SoftwareTPM()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let blob = directory + "/device-key.tpm"
        var key: TPMKey? = try TPMKey.create(tcti: tpm.tcti, blobPath: blob)
        let publicKey = try #require(key).publicKey
        let message = Array("checkpoint body\n".utf8)
        #expect(publicKey.isValidSignature(try #require(key).signature(for: message), for: message))

        tpm.stop()
        #expect(throws: TPMError.self) { try TPMKey.load(tcti: tpm.tcti, blobPath: blob) }
        // While it is down, signing fails (the reopen too), and says so.
        #expect(throws: TPMError.self) { try key?.signature(for: message) }
        try tpm.start()

        // The live key reconnects and signs.
        let after = try #require(key).signature(for: message)
        #expect(publicKey.isValidSignature(after, for: message))
        // A new process's load of the blob is the same key. (swtpm serves one connection at a time:
        // the first key lets go of its own before the second opens one.)
        key = nil
        let reloaded = try TPMKey.load(tcti: tpm.tcti, blobPath: blob)
        #expect(reloaded.publicKey.rawRepresentation == publicKey.rawRepresentation)
        #expect(publicKey.isValidSignature(try reloaded.signature(for: message), for: message))
        // DER for checkpoints, the same signature's raw r‖s for requests.
        let digest = SHA256.hash(data: message)
        let der = try reloaded.derSignature(forDigest: digest)
        #expect(der.first == 0x30)
        #expect(publicKey.isValidSignature(try P256.Signing.ECDSASignature(derRepresentation: der), for: digest))
        // Making another key over the blob would lose this one: refused.
        #expect(throws: TPMError.self) { try TPMKey.create(tcti: tpm.tcti, blobPath: blob) }
    }

    @Test func requestSignaturesAreRawAndVerifyAsEcdsaP256() throws {
        let tpm = try SoftwareTPM()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let signing = TPMMessageSigningKey(try TPMKey.create(tcti: tpm.tcti, blobPath: directory + "/device-key.tpm"))
        let base = Array("\"@method\": POST\n\"@signature-params\": (\"@method\")".utf8)
        let signature = try signing.signature(for: base)
        #expect(signature.count == 64)
        #expect(signing.publicKey.isValidSignature(signature, for: base))
        #expect(signing.publicKey.algorithm == .ecdsaP256SHA256)
        // Many signatures in a row: nothing is left loaded per call (swtpm has 3 object slots).
        for _ in 0..<20 { _ = try signing.signature(for: base) }
    }

    @Test(.requires(.tpm2Tools)) func aLockedOutTPMIsReportedAsSuchNeverReplaced() throws {
        let tpm = try SoftwareTPM()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = DeviceKeyFiles(stateDirectory: directory)
        // In a scope of its own: the key lets go of its connection at the end (swtpm serves one
        // client at a time, and tpm2-tools needs it).
        do {
            let signer = try AuditKeys.open(directory: directory + "/audit", files: files, name: "vigil/x", source: .tpm(tcti: tpm.tcti))
            try AuditLog.open(directory: directory + "/audit", signer: signer).close()
        }
        try tpm.lockOut(scratch: directory)

        do {
            _ = try TPMKey.load(tcti: tpm.tcti, blobPath: files.tpmBlob)
            Issue.record("the key loaded in lockout")
        } catch {
            #expect(error.code.map { $0 & 0xFFF } == 0x921)
            #expect(error.description.contains("dictionary-attack lockout"))
        }
        // The log signed by the TPM key does not open with any other key.
        do {
            _ = try AuditKeys.open(directory: directory + "/audit", files: files, name: "vigil/x", source: .tpm(tcti: tpm.tcti))
            Issue.record("a signer was returned for a locked-out TPM")
        } catch {
            #expect(error.description.contains("lockout"))
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/audit/audit.key"))
    }

    @Test func aTPMThatIsNamedButAbsentIsAnErrorNotAFileKey() throws {
        // A port nothing listens on: what a configured TPM that went away looks like.
        let tpm = try SoftwareTPM()
        let tcti = tpm.tcti
        tpm.stop()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            _ = try TPMKey.create(tcti: tcti, blobPath: directory + "/device-key.tpm")
            Issue.record("a key was made without a TPM")
        } catch {
            #expect(error.isCommunicationError)
            #expect(error.description.contains(tcti))
        }
        let files = DeviceKeyFiles(stateDirectory: directory)
        #expect(throws: AuditError.self) {
            try AuditKeys.open(directory: directory + "/audit", files: files, name: "vigil/x", source: .tpm(tcti: tcti))
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/audit/audit.key"), "no file key was made instead")
        #expect(!FileManager.default.fileExists(atPath: files.tpmBlob))
    }
}

@Suite("Device key choice and file keys")
struct DeviceKeyChoiceTests {
    @Test func theEnvironmentNamesTheTPMElseTheDeviceElseAFileKey() {
        #expect(DeviceKeySource.current(environment: ["VIGIL_TPM_TCTI": "swtpm:port=1"]) == .tpm(tcti: "swtpm:port=1"))
        let fallback = DeviceKeySource.current(environment: [:])
        #expect(fallback == (FileManager.default.fileExists(atPath: "/dev/tpmrm0") ? .tpm(tcti: "device:/dev/tpmrm0") : .file))
    }

    @Test func aNewLogWithoutATPMGetsAnEd25519FileKeyAndKeepsIt() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = DeviceKeyFiles(stateDirectory: directory)
        let signer = try AuditKeys.open(directory: directory + "/audit", files: files, name: "vigil/x", source: .file)
        #expect(signer.keyHolder == .file)
        #expect(signer.verifierKey.signatureType == NoteVerifierKey.ed25519)
        try AuditLog.open(directory: directory + "/audit", signer: signer).close()
        // Reopened later, even where a TPM has appeared, the log keeps its file key.
        let again = try AuditKeys.open(directory: directory + "/audit", files: files, name: "vigil/x", source: .tpm(tcti: "swtpm:port=1"))
        #expect(again.verifierKey == signer.verifierKey)
    }

    @Test func aLogSignedByTheTPMKeyRefusesToOpenWithoutOne() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let p256 = try P256NoteSigner(name: "vigil/x")
        try AuditLog.open(directory: directory + "/audit", signer: p256).close()
        #expect(throws: AuditError.self) {
            try AuditKeys.open(directory: directory + "/audit", files: DeviceKeyFiles(stateDirectory: directory), name: "vigil/x", source: .file)
        }
    }
}
