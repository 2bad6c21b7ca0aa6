// SPDX-License-Identifier: Apache-2.0
// Signed-note keys, notes and checkpoints; the key file's permission rules.
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
