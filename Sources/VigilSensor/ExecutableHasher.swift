// SHA-256 of executables, cached by (device, inode, mtime, size) so each binary is read once
// while unchanged. Reads through /proc/PID/exe when the process is alive: that is the file the
// kernel executed, even if its path was replaced or deleted since.
import Crypto
import Foundation
import Glibc
import Synchronization

public final class ExecutableHasher: Sendable {
    struct Key: Hashable {
        var device: UInt64, inode: UInt64, mtime: Int, mtimeNanoseconds: Int, size: Int64
    }
    private let cache = Mutex<[Key: String]>([:])
    public let maxBytes: Int64

    public init(maxBytes: Int64 = 512 << 20) { self.maxBytes = maxBytes }

    /// Hex SHA-256 of the executable of `pid` (falling back to `path`), or nil if unreadable.
    public func hash(pid: Int32?, path: String) -> String? {
        var fd: Int32 = -1
        if let pid { fd = open("/proc/\(pid)/exe", O_RDONLY | O_CLOEXEC) }
        if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size <= maxBytes else { return nil }
        let key = Key(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), mtime: info.st_mtim.tv_sec,
                      mtimeNanoseconds: info.st_mtim.tv_nsec, size: Int64(info.st_size))
        if let cached = cache.withLock({ $0[key] }) { return cached }
        var hasher = Crypto.SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        let digest = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        cache.withLock { $0[key] = digest }
        return digest
    }
}
