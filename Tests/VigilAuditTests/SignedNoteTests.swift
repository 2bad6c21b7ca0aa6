// SPDX-License-Identifier: Apache-2.0
// Signed-note keys, notes and checkpoints; the key file's permission rules.
import Crypto
import Foundation
import Testing
@testable import VigilAudit

@Suite("Signed notes, keys and checkpoints")
struct SignedNoteTests {
    @Test func verifierKeyRoundTripsAndChecksKeyID() throws {
        let signer = try Ed25519FileSigner.generate(name: "vigil/host-1")
        let text = signer.verifierKey.description
        #expect(text.hasPrefix("vigil/host-1+"))
        #expect(try NoteVerifierKey(parsing: text) == signer.verifierKey)
        let parts = text.split(separator: "+")
        let wrongID = "\(parts[0])+00000000+\(parts[2])"
        #expect(throws: AuditError.self) { try NoteVerifierKey(parsing: wrongID) }
        let renamed = "other+\(parts[1])+\(parts[2])"
        #expect(throws: AuditError.self) { try NoteVerifierKey(parsing: renamed) }
        #expect(throws: AuditError.self) { try Ed25519FileSigner.generate(name: "bad name") }
        #expect(throws: AuditError.self) { try Ed25519FileSigner.generate(name: "a+b") }
    }

    @Test func keyIDFollowsC2SPDefinition() throws {
        // SHA-256("vigil/x" || 0x0A || 0x01 || 32 zero bytes)[:4], computed independently with Python's hashlib.
        let key = try NoteVerifierKey(name: "vigil/x", ed25519PublicKey: [UInt8](repeating: 0, count: 32))
        #expect(key.hexID == "847de205")
    }

    @Test func noteSignsAndVerifiesAndRejectsOthers() throws {
        let signer = try Ed25519FileSigner.generate(name: "log.example/a")
        let other = try Ed25519FileSigner.generate(name: "log.example/a")
        let checkpoint = Checkpoint(origin: "log.example/a", size: 42, root: RFC6962.leafHash([1]))
        let note = try SignedNote.sign(body: checkpoint.body, with: signer)
        let parsed = try #require(SignedNote(text: note.text))
        #expect(parsed == note)
        #expect(parsed.isSigned(by: signer.verifierKey))
        #expect(!parsed.isSigned(by: other.verifierKey))
        #expect(Checkpoint(body: parsed.body) == checkpoint)
        #expect(note.text.contains("\n\n\u{2014} log.example/a "))
        // A changed body no longer verifies; an unknown extra signature line is ignored.
        var changed = parsed
        changed.body = changed.body.replacingOccurrences(of: "\n42\n", with: "\n43\n")
        #expect(!changed.isSigned(by: signer.verifierKey))
        let cosigned = try #require(SignedNote(text: note.text + "\u{2014} witness.example AAAAAAAAAAAAAAA=\n"))
        #expect(cosigned.isSigned(by: signer.verifierKey))
    }

    @Test func checkpointParsingIsStrict() {
        let root = RFC6962.leafHash([9]).base64
        #expect(Checkpoint(body: "o\n5\n\(root)\n") != nil)
        #expect(Checkpoint(body: "o\n05\n\(root)\n") == nil)
        #expect(Checkpoint(body: "o\n-1\n\(root)\n") == nil)
        #expect(Checkpoint(body: "o\n5\nnotbase64\n") == nil)
        #expect(Checkpoint(body: "o\n5\n\(root)") == nil)
    }

    @Test func keyFileMustBePrivateAndPresent() throws {
        let dir = try TestLog.temporaryDirectory()
        let path = dir + "/k.key"
        #expect {
            try Ed25519FileSigner(keyFile: path)
        } throws: { ($0 as? AuditError)?.code == .keyMissing }
        let signer = try Ed25519FileSigner.generate(name: "vigil/k")
        try signer.write(toKeyFile: path)
        var st = stat()
        stat(path, &st)
        #expect(st.st_mode & 0o777 == 0o600)
        #expect(try Ed25519FileSigner(keyFile: path).verifierKey == signer.verifierKey)
        #expect(throws: AuditError.self) { try signer.write(toKeyFile: path) }  // never overwrites
        chmod(path, 0o644)
        #expect {
            try Ed25519FileSigner(keyFile: path)
        } throws: { ($0 as? AuditError)?.code == .keyInsecure }
        chmod(path, 0o640)
        #expect {
            try Ed25519FileSigner(keyFile: path)
        } throws: { ($0 as? AuditError)?.code == .keyInsecure }
    }
}

@Suite("ECDSA P-256 signed notes (type 0x02)")
struct ECDSANoteTests {
    @Test func keyIDIsTheHashOfTheSPKIAlone() throws {
        // Private scalar 1: the public key is P-256's generator G. SHA-256 of its DER SPKI
        // (3059…0004 ‖ Gx ‖ Gy, 91 bytes), computed independently with Python's hashlib: 5cd252fb.
        let d = [UInt8](repeating: 0, count: 31) + [1]
        let key = try P256.Signing.PrivateKey(rawRepresentation: d).publicKey
        let verifier = try NoteVerifierKey(name: "vigil/x", ecdsaP256PublicKey: key)
        #expect(verifier.hexID == "5cd252fb")
        #expect(try NoteVerifierKey(name: "another/name", ecdsaP256PublicKey: key).hexID == "5cd252fb")
        #expect(verifier.kind == "ECDSA P-256")
        #expect(verifier.description.hasPrefix("vigil/x+5cd252fb+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABGsX0fLhLEJH"))
        #expect(try NoteVerifierKey(parsing: verifier.description) == verifier)
    }

    @Test func derSignaturesVerifyAndOthersDoNot() throws {
        let signer = try P256NoteSigner(name: "log.example/p")
        let checkpoint = Checkpoint(
            origin: "log.example/p", size: 3, root: RFC6962.leafHash([2]), extensions: [KeyHolder.file.checkpointExtension])
        let note = try SignedNote.sign(body: checkpoint.body, with: signer)
        let parsed = try #require(SignedNote(text: note.text))
        #expect(parsed.isSigned(by: signer.verifierKey))
        #expect(KeyHolder(checkpoint: try #require(Checkpoint(body: parsed.body))) == .file)
        // The raw r‖s form of the same signature is not type 0x02's encoding.
        let der = try #require(parsed.signatures.first).signature
        let raw = Array(try P256.Signing.ECDSASignature(derRepresentation: der).rawRepresentation)
        #expect(!signer.verifierKey.isValidSignature(raw, for: Array(parsed.body.utf8)))
        #expect(!signer.verifierKey.isValidSignature(der, for: Array("other\n".utf8)))
        let other = try P256NoteSigner(name: "log.example/p")
        #expect(!parsed.isSigned(by: other.verifierKey))
    }

    @Test func malformedKeysAreRefused() throws {
        let good = try P256NoteSigner(name: "vigil/x").verifierKey.description
        let parts = good.split(separator: "+", maxSplits: 2)
        #expect(throws: AuditError.self) { try NoteVerifierKey(parsing: "\(parts[0])+00000000+\(parts[2])") }
        // Type 0x02 with 32 bytes that are no SPKI; an unknown type 0x05.
        let junk = Data([0x02] + [UInt8](repeating: 7, count: 32)).base64EncodedString()
        #expect(throws: AuditError.self) { try NoteVerifierKey(parsing: "vigil/x+00000000+\(junk)") }
        let unknown = Data([0x05] + [UInt8](repeating: 7, count: 32)).base64EncodedString()
        #expect(throws: AuditError.self) { try NoteVerifierKey(parsing: "vigil/x+00000000+\(unknown)") }
    }
}
