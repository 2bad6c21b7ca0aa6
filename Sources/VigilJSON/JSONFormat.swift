// SPDX-License-Identifier: Apache-2.0
// The named, versioned spellings the JSON writer knows. Two of them are hashed (audit leaves,
// posture snapshots), so each is frozen: a new spelling is a new format, never an edit to one.

/// How the writer spells strings. Everything else is common to every format: object keys in UTF-8
/// byte order (``JSONValue`` objects; streamed fields in the order written), no whitespace, integers
/// as plain decimals, `"` and `\` escaped, `/` and every non-control character (DEL, U+2028,
/// non-ASCII) as is, other control characters as `\u00xx` in lower case.
public struct JSONFormat: Sendable, Hashable, CustomStringConvertible {
    /// Which control characters have a two-character escape.
    public enum ControlEscapes: Sendable, Hashable {
        /// `\n`, `\r`, `\t`; `\b` and `\f` are `\u0008` and `\u000c`.
        case newlineReturnTab
        /// All five of RFC 8259: `\b`, `\f`, `\n`, `\r`, `\t`.
        case rfc8259
    }

    /// The format's name and version, as the vectors that pin it say it.
    public let name: String
    public let controlEscapes: ControlEscapes

    public var description: String { name }

    /// The audit entry inside a Merkle leaf (`"v":1`): every log written so far hashes these bytes.
    public static let auditEntryV1 = JSONFormat(name: "audit-entry/v1", controlEscapes: .newlineReturnTab)

    /// The posture snapshot whose SHA-256 is `PostureSnapshot.hash` (and audit entries' `postureRef`).
    public static let postureSnapshotV1 = JSONFormat(name: "posture-snapshot/v1", controlEscapes: .rfc8259)

    /// Output nothing hashes (trace lines, timelines, OCSF export): RFC 8259's short escapes. Free to
    /// change, unlike the versioned formats.
    public static let plain = JSONFormat(name: "plain", controlEscapes: .rfc8259)
}
