// SPDX-License-Identifier: Apache-2.0
// Where each part of a log lives inside its directory.
/// The files of one audit-log directory. See `VigilAudit.docc/VigilAudit.md` for each file's format.
public struct AuditLogLayout: Sendable, Hashable {
    public let directory: String

    public init(directory: String) {
        var path = directory
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.directory = path
    }

    /// Framed Merkle leaves, in index order.
    public var entries: String { directory + "/entries" }
    /// Framed signed checkpoints, in the order they were issued.
    public var checkpoints: String { directory + "/checkpoints" }
    /// The latest checkpoint note alone, replaced atomically: the rollback witness.
    public var latestCheckpoint: String { directory + "/checkpoint" }
    /// The verifier key the log was created with (convenience; pin the key elsewhere).
    public var publicKey: String { directory + "/audit.pub" }
    /// The default private-key location used by `vigil audit keygen DIR`.
    public var defaultPrivateKey: String { directory + "/audit.key" }
    /// `flock(2)` target that keeps a second writer out.
    public var lock: String { directory + "/lock" }

    /// Where the writer preserves a torn tail's bytes before excluding them.
    func tornTailEvidence(file: String, offset: Int) -> String { "\(directory)/\(file).torn-at-\(offset)" }
}
