// SPDX-License-Identifier: Apache-2.0
// The executable hash cache on disk: one line per binary,
//
//   v1 DEVICE INODE SIZE MTIME_S MTIME_NS CTIME_S CTIME_NS SHA256
//
// appended with one write(2) each (O_APPEND: whole lines even with several writers). A digest
// here is believed as if Vigil had just read the file, so the file is only used when it could
// only have been written by this user: a regular file, not a symlink, owned by the effective
// user, writable by no one else, in a directory of the same kind. Otherwise Vigil hashes as if
// there were no file, and says why (`problem`).
import Foundation
import Glibc
import Synchronization
import VigilCore

public final class HashCacheFile: Sendable {
    /// Where one-shot commands (`vigil trace`, `vigil run`) keep it; vigild keeps its own in
    /// its state directory.
    public static let systemPath = "/var/cache/vigil/exe-sha256"

    public let path: String
    /// Lines over this are not loaded (and the file is started again): the cache is bounded.
    public let maxBytes: Int
    private let state = Mutex<State>(State())

    struct State {
        var fd: Int32 = -1
        var problem: String?
        var skippedLines = 0
        var appendFailures = 0
    }

    /// Why the file is not used (nil when it is).
    public var problem: String? { state.withLock { $0.problem } }
    /// What a command prints on stderr when the file is not used (nil when it is).
    public var degradedWarning: String? {
        problem.map { "vigil: degraded: executable hash cache not used (every binary is read): \($0)" }
    }
    /// Lines that did not parse (a torn last line after a crash, say): ignored.
    public var skippedLines: Int { state.withLock { $0.skippedLines } }
    public var appendFailures: Int { state.withLock { $0.appendFailures } }

    /// Opens (creating it and its directory, mode 0700/0600) the cache at `path`.
    public init(path: String, maxBytes: Int = 8 << 20) {
        self.path = path
        self.maxBytes = maxBytes
        let directory = (path as NSString).deletingLastPathComponent
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            state.withLock { $0.problem = "\(directory): \(String(cString: strerror(errno)))" }
            return
        }
        if let reason = Self.untrustedDirectory(directory) {
            state.withLock { $0.problem = reason }
            return
        }
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            state.withLock { $0.problem = "\(path): \(String(cString: strerror(errno)))" }
            return
        }
        var info = stat()
        if fstat(fd, &info) != 0 || (info.st_mode & S_IFMT) != S_IFREG || info.st_uid != geteuid() || info.st_mode & 0o077 != 0 {
            close(fd)
            state.withLock { $0.problem = "\(path): not a regular file of uid \(geteuid()) with mode 0600" }
            return
        }
        state.withLock { $0.fd = fd }
    }

    deinit { state.withLock { if $0.fd >= 0 { close($0.fd) } } }

    private static func untrustedDirectory(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return "\(path): \(String(cString: strerror(errno)))" }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return "\(path): not a directory" }
        guard info.st_uid == geteuid(), info.st_mode & 0o022 == 0 else {
            return "\(path): not owned by uid \(geteuid()) or writable by others"
        }
        return nil
    }

    /// Every entry of the file (the last one wins for an identity).
    func load() -> [FileIdentity: String] {
        state.withLock { state in
            guard state.fd >= 0 else { return [:] }
            var info = stat()
            guard fstat(state.fd, &info) == 0 else { return [:] }
            if Int(info.st_size) > maxBytes {
                _ = ftruncate(state.fd, 0)  // bounded: start again rather than grow forever
                return [:]
            }
            var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
            let n = bytes.withUnsafeMutableBytes { pread(state.fd, $0.baseAddress, $0.count, 0) }
            guard n >= 0 else { return [:] }
            var entries: [FileIdentity: String] = [:]
            for line in bytes[0..<n].split(separator: UInt8(ascii: "\n")) {
                if let (identity, digest) = Self.parse(line) { entries[identity] = digest } else { state.skippedLines += 1 }
            }
            return entries
        }
    }

    func append(_ identity: FileIdentity, _ digest: String) {
        let line = Array(Self.line(identity, digest).utf8)
        state.withLock { state in
            guard state.fd >= 0 else { return }
            let n = line.withUnsafeBytes { write(state.fd, $0.baseAddress, $0.count) }
            if n != line.count { state.appendFailures += 1 }
        }
    }

    static func line(_ i: FileIdentity, _ digest: String) -> String {
        "v1 \(i.device) \(i.inode) \(i.size) \(i.mtimeSeconds) \(i.mtimeNanoseconds) \(i.ctimeSeconds) \(i.ctimeNanoseconds) \(digest)\n"
    }

    static func parse(_ line: ArraySlice<UInt8>) -> (FileIdentity, String)? {
        let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard fields.count == 9, fields[0] == "v1",
            let device = UInt64(fields[1]), let inode = UInt64(fields[2]), let size = Int64(fields[3]),
            let ms = Int64(fields[4]), let mns = Int64(fields[5]), let cs = Int64(fields[6]), let cns = Int64(fields[7]),
            fields[8].utf8.count == 64, fields[8].utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        return (
            FileIdentity(
                device: device, inode: inode, size: size, mtimeSeconds: ms, mtimeNanoseconds: mns,
                ctimeSeconds: cs, ctimeNanoseconds: cns), fields[8]
        )
    }
}
