// SPDX-License-Identifier: Apache-2.0
// SHA-256 of executables, cached by FileIdentity (device, inode, size, mtime, ctime) so each
// binary is read once while unchanged. Reads through /proc/PID/exe when the process is alive:
// that is the file the kernel executed, even if its path was replaced or deleted since.
//
// The cache can persist in a file (`HashCacheFile`), so that a one-shot `vigil trace` or a
// restarted daemon does not read a 30 MB compiler or a 400 MB agent binary again.
import Crypto
import Foundation
import Glibc
import Synchronization
import VigilCore

extension FileIdentity {
    public init(_ info: stat) {
        self.init(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            mtimeSeconds: Int64(info.st_mtim.tv_sec), mtimeNanoseconds: Int64(info.st_mtim.tv_nsec),
            ctimeSeconds: Int64(info.st_ctim.tv_sec), ctimeNanoseconds: Int64(info.st_ctim.tv_nsec))
    }
}

/// Why an executable has no digest, in words the audit entry carries.
public struct HashFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

public final class ExecutableHasher: Sendable {
    private let cache = Mutex<[FileIdentity: String]>([:])
    private let mismatchCount = Atomic<Int>(0)
    private let store: HashCacheFile?
    public let maxBytes: Int64

    /// `store`: where digests persist between runs (loaded now, appended as files are hashed).
    public init(maxBytes: Int64 = 512 << 20, store: HashCacheFile? = nil) {
        self.maxBytes = maxBytes
        self.store = store
        if let store { cache.withLock { $0 = store.load() } }
    }

    /// Files found to be another inode than the one the kernel reported executing (the process
    /// exec'd again, or its path was replaced): left unhashed rather than hashed wrongly.
    public var mismatches: Int { mismatchCount.load(ordering: .relaxed) }

    /// Hex SHA-256 of the executable of `pid` (falling back to `path`), or nil if unreadable.
    ///
    /// `identity` is the inode as the kernel saw it at exec (`ExecEvent.exeIdentity`). With it,
    /// a binary already hashed costs no syscall at all — the common case, every exec of a known
    /// binary — and a file is only hashed if it is that very inode.
    public func hash(pid: Int32?, path: String, identity: FileIdentity? = nil) -> String? {
        try? hashResult(pid: pid, path: path, identity: identity).get()
    }

    /// `hash`, saying why when there is no digest (the audit entry records it).
    ///
    /// `inode`: the inode the process was seen running (a /proc scan's), checked when no full
    /// `identity` is known, so that a process that exec'd since is not given its new image's hash.
    public func hashResult(pid: Int32?, path: String, identity: FileIdentity? = nil, inode: UInt64? = nil) -> Result<String, HashFailure> {
        if let identity, let cached = cache.withLock({ $0[identity] }) { return .success(cached) }
        var candidates: [String] = []
        if let pid { candidates.append("/proc/\(pid)/exe") }
        if !path.isEmpty { candidates.append(path) }
        var sawAnotherInode = false
        var failures: [String] = []
        for candidate in candidates {
            let fd = open(candidate, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                failures.append("cannot open \(candidate): \(String(cString: strerror(errno)))")
                continue
            }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else { return .failure(HashFailure("cannot stat \(candidate): \(String(cString: strerror(errno)))")) }
            guard info.st_size <= maxBytes else {
                return .failure(HashFailure("\(candidate) is \(info.st_size) bytes, over the \(maxBytes)-byte hashing limit"))
            }
            let found = FileIdentity(info)
            if let identity, found != identity { sawAnotherInode = true; continue }
            if identity == nil, let inode, inode != 0, found.inode != inode { sawAnotherInode = true; continue }
            if let cached = cache.withLock({ $0[found] }) { return .success(cached) }
            guard let digest = Self.digest(of: fd) else {
                return .failure(HashFailure("cannot read \(candidate): \(String(cString: strerror(errno)))"))
            }
            // Still the same file after the read: a write meanwhile changes ctime.
            var after = stat()
            guard fstat(fd, &after) == 0, FileIdentity(after) == found else { return .failure(HashFailure("\(candidate) changed while it was read")) }
            cache.withLock { $0[found] = digest }
            store?.append(found, digest)
            return .success(digest)
        }
        if sawAnotherInode {
            mismatchCount.add(1, ordering: .relaxed)
            return .failure(HashFailure("the file is no longer the one the process runs (replaced, or the process exec'd since)"))
        }
        return .failure(HashFailure(failures.isEmpty ? "no executable path known" : failures.joined(separator: "; ")))
    }

    private static func digest(of fd: Int32) -> String? {
        var hasher = Crypto.SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
