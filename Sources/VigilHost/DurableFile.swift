// SPDX-License-Identifier: Apache-2.0
// Durable file writes: one atomic replace for every small file Vigil rewrites (the audit log's
// checkpoints and key, the managed-settings drop-in and its install record, the daemon's port file
// and session summaries).
import Glibc
import SystemPackage

/// A file operation that failed, naming the file.
public struct HostFileError: Error, Sendable, CustomStringConvertible {
    /// The step that failed: `create`, `write`, `chown`, `chmod`, `fsync`, `rename`, `fsync directory`.
    public var operation: String
    public var path: String
    public var errno: Errno

    public init(_ operation: String, _ path: String, _ errno: Errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The errno value, for callers that keep their own error type.
    public var code: Int32 { errno.rawValue }
    /// strerror(3) of the error.
    public var reason: String { String(cString: strerror(errno.rawValue)) }
    public var description: String { "\(operation) \(path) failed: \(reason)" }
}

public enum DurableFile {
    /// Replaces `path` with `bytes` so that readers, and the file system after a crash, see the old
    /// file or the new one, never half: a temporary file in the same directory (opened without
    /// following a symlink), fchown to `owner` if given, fchmod to `mode` (exactly, whatever the
    /// umask), fsync, rename over `path`, fsync the directory. A symlink at `path` is replaced by
    /// the file, never followed. The temporary file is removed when a step fails.
    public static func replace(
        _ path: String, with bytes: some Sequence<UInt8>, mode: UInt32, owner: (uid: UInt32, gid: UInt32)? = nil
    ) throws(HostFileError) {
        let target = FilePath(path)
        var directory = target.removingLastComponent()
        if directory.isEmpty { directory = "." }
        guard let name = target.lastComponent else { throw HostFileError("replace", path, .invalidArgument) }
        let temporary = directory.appending(".\(name).vigil-tmp-\(getpid())")
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(
                temporary, .writeOnly, options: [.create, .truncate, .noFollow, .closeOnExec], permissions: [.ownerReadWrite],
                retryOnInterrupt: true)
        } catch {
            throw HostFileError("create", temporary.string, Errno(error))
        }
        var renamed = false
        defer {
            try? fd.close()
            if !renamed { _ = unlink(temporary.string) }
        }
        do {
            _ = try fd.writeAll(bytes)
        } catch {
            throw HostFileError("write", temporary.string, Errno(error))
        }
        if let owner, fchown(fd.rawValue, owner.uid, owner.gid) != 0 { throw HostFileError("chown", temporary.string, .current) }
        guard fchmod(fd.rawValue, mode_t(mode)) == 0 else { throw HostFileError("chmod", temporary.string, .current) }
        try sync(fd, path: temporary.string)
        guard rename(temporary.string, path) == 0 else { throw HostFileError("rename", path, .current) }
        renamed = true
        try syncDirectory(directory.string)
    }

    /// fsync(2), retried on EINTR.
    public static func sync(_ fd: FileDescriptor, path: String) throws(HostFileError) {
        while fsync(fd.rawValue) != 0 {
            if Glibc.errno != EINTR { throw HostFileError("fsync", path, .current) }
        }
    }

    /// fsync(2) of a directory, so that a rename or a new entry in it survives a crash.
    public static func syncDirectory(_ path: String) throws(HostFileError) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.directory, .closeOnExec], retryOnInterrupt: true)
        } catch {
            throw HostFileError("fsync directory", path, Errno(error))
        }
        defer { try? fd.close() }
        do throws(HostFileError) {
            try sync(fd, path: path)
        } catch {
            throw HostFileError("fsync directory", path, error.errno)
        }
    }
}

extension Errno {
    /// The calling thread's errno.
    static var current: Errno { Errno(rawValue: Glibc.errno) }
}

extension Errno {
    /// What swift-system threw (always an Errno on Linux), else EIO.
    init(_ error: any Error) { self = (error as? Errno) ?? .ioError }
}
