// SPDX-License-Identifier: Apache-2.0
// C2SP signed-note: a text body, a blank line, then `— <key name> base64(key ID ‖ signature)` lines.
import Foundation

/// A C2SP signed note: body text (ending in `\n`), an empty line, and one or more signature lines
/// `— <name> <base64(4-byte key ID ‖ signature)>\n` (U+2014 em dash).
public struct SignedNote: Hashable, Sendable {
    public struct Signature: Hashable, Sendable {
        public var name: String
        public var keyID: UInt32
        public var signature: [UInt8]
    }

    public var body: String
    public var signatures: [Signature]

    /// Signs `body` with `signer`.
    public static func sign(body: String, with signer: some AuditSigner) throws(AuditError) -> SignedNote {
        let key = signer.verifierKey
        let signature = try signer.sign(Array(body.utf8))
        return SignedNote(body: body, signatures: [Signature(name: key.name, keyID: key.keyID, signature: signature)])
    }

    init(body: String, signatures: [Signature]) {
        self.body = body
        self.signatures = signatures
    }

    /// The serialized note.
    public var text: String {
        var text = body + "\n"
        for s in signatures {
            let id = withUnsafeBytes(of: s.keyID.bigEndian) { Array($0) }
            text += "\u{2014} \(s.name) \(Data(id + s.signature).base64EncodedString())\n"
        }
        return text
    }

    /// Parses a note; `nil` when malformed (no blank-line separator, a bad signature line, no signature).
    public init?(text: String) {
        guard text.hasSuffix("\n"), let split = text.range(of: "\n\n") else { return nil }
        body = String(text[..<split.lowerBound]) + "\n"
        let lines = text[split.upperBound...].dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        var parsed: [Signature] = []
        for line in lines {
            guard line.hasPrefix("\u{2014} ") else { return nil }
            let fields = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, !fields[0].isEmpty, let raw = Data(base64Encoded: String(fields[1])), raw.count > 4
            else { return nil }
            let id = raw.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            parsed.append(Signature(name: String(fields[0]), keyID: id, signature: Array(raw.dropFirst(4))))
        }
        guard !parsed.isEmpty else { return nil }
        signatures = parsed
    }

    /// `true` when some signature line names `key` (name and key ID) and verifies over the body.
    /// Lines by other keys are ignored, as signed-note requires.
    public func isSigned(by key: NoteVerifierKey) -> Bool {
        let message = Array(body.utf8)
        return signatures.contains { $0.name == key.name && $0.keyID == key.keyID && key.isValidSignature($0.signature, for: message) }
    }
}
