// SPDX-License-Identifier: Apache-2.0
// Every system call VigilAudit makes, in one place: open, write-all, fsync, rename, flock, read.
import Foundation
import VigilHost
#if canImport(Glibc)
    import Glibc
#endif

/// Thin, throwing wrappers over POSIX file calls. Each retries `EINTR` and reports `errno` and path.
enum PosixFile {
    static func fail(_ what: String, _ path: String, _ err: Int32 = Glibc.errno) -> AuditError {
        AuditError(.io, "\(what) failed", path: path, errno: err)
    }

    /// Opens `path` for appending; creates it (mode 0600, must not exist) when `create`.
    /// The corresponding C call is `open(2)` with `O_WRONLY|O_APPEND|O_CLOEXEC`.
    static func openAppend(_ path: String, create: Bool) throws(AuditError) -> Int32 {
        var flags = O_WRONLY | O_APPEND | O_CLOEXEC
        if create { flags |= O_CREAT | O_EXCL }
        let fd = retrying { Glibc.open(path, flags, 0o600) }
        guard fd >= 0 else { throw fail("open for append", path) }
        return fd
    }

    static func openDirectory(_ path: String) throws(AuditError) -> Int32 {
        let fd = retrying { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw fail("open directory", path) }
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(AuditError) {
        let err: Int32? = bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if Glibc.errno == EINTR { continue }
                    return Glibc.errno
                }
                done += n
            }
            return nil
        }
        if let err { throw fail("write", path, err) }
    }

    /// `fsync(2)`: data and metadata (including the new size) are on stable storage when it returns.
    static func sync(_ fd: Int32, path: String) throws(AuditError) {
        guard retrying({ Glibc.fsync(fd) }) == 0 else { throw fail("fsync", path) }
    }

    /// `fdatasync(2)`: the data and the metadata needed to read it back (the new size) are on
    /// stable storage when it returns; timestamps may lag. Enough for an append, and cheaper.
    static func syncData(_ fd: Int32, path: String) throws(AuditError) {
        guard retrying({ Glibc.fdatasync(fd) }) == 0 else { throw fail("fdatasync", path) }
    }

    /// Makes a directory's entries (creations, renames) durable: `fsync(2)` on the directory.
    static func syncDirectory(_ path: String) throws(AuditError) {
        let fd = try openDirectory(path)
        defer { Glibc.close(fd) }
        try sync(fd, path: path)
    }

    static func truncate(_ fd: Int32, to length: Int, path: String) throws(AuditError) {
        guard retrying({ Glibc.ftruncate(fd, off_t(length)) }) == 0 else { throw fail("ftruncate", path) }
    }

    /// Reads a whole file; `nil` when it does not exist.
    static func readAll(_ path: String) throws(AuditError) -> [UInt8]? {
        let fd = retrying { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0 {
            if Glibc.errno == ENOENT { return nil }
            throw fail("open for reading", path)
        }
        defer { Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail("fstat", path) }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw fail("read", path)
            }
            if n == 0 { break }
            done += n
        }
        if done < bytes.count { bytes.removeLast(bytes.count - done) }
        return bytes
    }

    /// Replaces `path` durably (`DurableFile.replace`: temporary file, fsync, rename, fsync the directory).
    static func replaceAtomically(_ path: String, with bytes: [UInt8], mode: mode_t = 0o600) throws(AuditError) {
        do {
            try DurableFile.replace(path, with: bytes, mode: mode)
        } catch {
            throw fail(error.operation, error.path, error.code)
        }
    }

    /// Writes a new file that must not exist yet (`O_EXCL`), with `mode`, and makes it durable.
    static func createExclusive(_ path: String, with bytes: [UInt8], mode: mode_t) throws(AuditError) {
        let fd = retrying { Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw fail("create (must not exist)", path) }
        defer { Glibc.close(fd) }
        guard fchmod(fd, mode) == 0 else { throw fail("fchmod", path) }
        try writeAll(fd, bytes, path: path)
        try sync(fd, path: path)
        let directory = (path as NSString).deletingLastPathComponent
        try syncDirectory(directory.isEmpty ? "." : directory)
    }

    /// Takes an exclusive, non-blocking `flock(2)` on `path` (created if needed); returns the fd to hold.
    static func lockExclusive(_ path: String) throws(AuditError) -> Int32 {
        let fd = retrying { Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw fail("open lock file", path) }
        if retrying({ flock(fd, LOCK_EX | LOCK_NB) }) != 0 {
            let err = Glibc.errno
            Glibc.close(fd)
            if err == EWOULDBLOCK { throw AuditError(.logLocked, "another writer holds the log", path: path) }
            throw fail("flock", path, err)
        }
        return fd
    }

    static func fileExists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    private static func retrying(_ call: () -> Int32) -> Int32 {
        while true {
            let result = call()
            if result < 0 && Glibc.errno == EINTR { continue }
            return result
        }
    }
}
