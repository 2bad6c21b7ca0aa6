// SPDX-License-Identifier: Apache-2.0
// C2SP tlog-checkpoint bodies: origin, decimal size, base64 root hash.
/// A checkpoint body (C2SP tlog-checkpoint): the log's claim "my first `size` entries have this root".
///
/// Text form: `<origin>\n<decimal size>\n<base64 root>\n`. Vigil writes no extension lines;
/// parsed extension lines are kept (and are covered by the signature).
public struct Checkpoint: Hashable, Sendable, CustomStringConvertible {
    public var origin: String
    public var size: Int
    public var root: MerkleHash
    public var extensions: [String]

    public init(origin: String, size: Int, root: MerkleHash, extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
    }

    /// The exact note body that is signed.
    public var body: String {
        var text = "\(origin)\n\(size)\n\(root.base64)\n"
        for line in extensions { text += line + "\n" }
        return text
    }

    /// Parses a note body; `nil` when it is not a checkpoint (the caller names the evidence).
    public init?(body: String) {
        guard body.hasSuffix("\n") else { return nil }
        let lines = body.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 3, !lines[0].isEmpty,
            let size = Int(lines[1]), size >= 0, String(size) == lines[1],
            let root = MerkleHash(base64: lines[2])
        else { return nil }
        guard lines.dropFirst(3).allSatisfy({ !$0.isEmpty }) else { return nil }
        self.init(origin: String(lines[0]), size: size, root: root, extensions: lines.dropFirst(3).map(String.init))
    }

    public var description: String { "checkpoint(\(origin), size \(size), root \(root.base64))" }
}
