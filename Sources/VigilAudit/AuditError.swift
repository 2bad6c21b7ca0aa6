// SPDX-License-Identifier: Apache-2.0
// The one error type of VigilAudit: a code, a message, and the evidence that led to it.
import Foundation

/// A failure of an audit-log operation.
///
/// Outcomes such as "this log does not verify" are values (``VerificationReport``) when you ask
/// the verifier; they become an `AuditError` with code ``Code/logDoesNotVerify`` only when an
/// operation (opening the writer) cannot proceed because of them, and then carry the report.
public struct AuditError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. A struct, so new codes are not a breaking change.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case io, keyMissing, keyInsecure, keyInvalid, logDoesNotVerify, logLocked
            case entryTooLarge, encoding, closed, failedEarlier, invalidArgument, proofInvalid
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A system call failed; see ``AuditError/errno`` and ``AuditError/path``.
        public static let io = Code(.io)
        /// The signing key file does not exist.
        public static let keyMissing = Code(.keyMissing)
        /// The signing key file is readable or writable by group/others, or not owned by us.
        public static let keyInsecure = Code(.keyInsecure)
        /// A key or verifier-key string could not be parsed, or does not match its key ID.
        public static let keyInvalid = Code(.keyInvalid)
        /// The existing log failed verification; the writer refuses to append. See ``AuditError/report``.
        public static let logDoesNotVerify = Code(.logDoesNotVerify)
        /// Another writer holds the log's lock.
        public static let logLocked = Code(.logLocked)
        /// An entry encodes to more than the 1 MiB record limit.
        public static let entryTooLarge = Code(.entryTooLarge)
        /// An entry could not be encoded or decoded.
        public static let encoding = Code(.encoding)
        /// The log was closed.
        public static let closed = Code(.closed)
        /// An earlier write failed; the on-disk state is unknown until the log is reopened and verified.
        public static let failedEarlier = Code(.failedEarlier)
        /// A caller-supplied argument is out of range or malformed.
        public static let invalidArgument = Code(.invalidArgument)
        /// A proof file is malformed (a proof that is well-formed but wrong is a `false` result, not this).
        public static let proofInvalid = Code(.proofInvalid)

        public var description: String { wrapped.rawValue }
    }

    public let code: Code
    public let message: String
    /// The file concerned, when there is one.
    public let path: String?
    /// The C `errno` for ``Code/io`` failures.
    public let errno: Int32?
    /// For ``Code/logDoesNotVerify``: the full report, naming the first bad index and its evidence.
    public let report: VerificationReport?

    public init(
        _ code: Code, _ message: String, path: String? = nil, errno: Int32? = nil,
        report: VerificationReport? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
        self.report = report
    }

    public var description: String {
        var text = "audit \(code): \(message)"
        if let path { text += " [\(path)]" }
        if let errno { text += " (errno \(errno): \(String(cString: strerror(errno))))" }
        return text
    }
}
