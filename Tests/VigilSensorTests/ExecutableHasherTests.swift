// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Testing
import VigilCore
@testable import VigilSensor

/// What stat(2) says of `path`, as the hash cache keys it.
func identity(of path: String) throws -> FileIdentity {
    var info = stat()
    try #require(stat(path, &info) == 0)
    return FileIdentity(info)
}

@Suite struct ExecutableHasherTests {
    func scratchFile(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-hash-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// The kernel's identity of a known binary answers from the cache without touching the file:
    /// here the file is gone, and the digest still comes back.
    @Test func aKnownIdentityNeedsNoFile() throws {
        let path = try scratchFile("abc")
        let id = try identity(of: path)
        let hasher = ExecutableHasher()
        let sha = try #require(hasher.hash(pid: nil, path: path, identity: id))
        #expect(sha == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")  // FIPS 180-2 "abc"
        unlink(path)
        #expect(hasher.hash(pid: nil, path: path, identity: id) == sha)
        #expect(hasher.hash(pid: nil, path: path) == nil)  // without the identity it must read the file
    }

    /// A file that is not the inode the kernel executed (replaced since) is not hashed in its place.
    @Test func anotherInodeIsNotHashedAsTheExecutedOne() throws {
        let path = try scratchFile("abc")
        defer { unlink(path) }
        var id = try identity(of: path)
        id.mtimeNanoseconds += 1
        let hasher = ExecutableHasher()
        #expect(hasher.hash(pid: nil, path: path, identity: id) == nil)
        #expect(hasher.mismatches == 1)
        #expect(hasher.hash(pid: nil, path: path, identity: try identity(of: path)) != nil)
        #expect(hasher.mismatches == 1)
    }

    /// /proc/PID/exe is preferred, and checked against the identity too: this process's image
    /// is not the scratch file, so the path is tried next.
    @Test func procExeIsCheckedBeforeThePath() throws {
        let path = try scratchFile("abc")
        defer { unlink(path) }
        let hasher = ExecutableHasher()
        #expect(
            hasher.hash(pid: getpid(), path: path, identity: try identity(of: path))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hasher.mismatches == 0)
    }

    /// A process first seen without a hash (an ancestor that started before the session) is hashed
    /// through /proc/PID/exe, checked against the inode a /proc scan saw; when there is no digest the
    /// result says why.
    @Test func aRunningProcessIsHashedThroughProcAndEveryFailureHasAReason() throws {
        let path = try scratchFile("abc")
        defer { unlink(path) }
        let hasher = ExecutableHasher()
        var own = stat()
        try #require(stat("/proc/self/exe", &own) == 0)
        let expected = try #require(hasher.hash(pid: nil, path: "/proc/self/exe"))
        #expect(try hasher.hashResult(pid: getpid(), path: "", inode: UInt64(own.st_ino)).get() == expected)
        // Another inode than the scan saw (the process exec'd since): not given the new image's hash.
        guard case .failure(let moved) = hasher.hashResult(pid: getpid(), path: "", inode: UInt64(own.st_ino) &+ 1) else {
            Issue.record("hashed an image the process was not seen running")
            return
        }
        #expect(moved.reason.contains("no longer the one the process runs"), "\(moved)")
        guard case .failure(let gone) = hasher.hashResult(pid: Int32.max, path: path + ".gone") else {
            Issue.record("hashed a process that does not exist")
            return
        }
        #expect(gone.reason == "cannot open /proc/\(Int32.max)/exe: No such file or directory; cannot open \(path).gone: No such file or directory")
        guard case .failure(let big) = ExecutableHasher(maxBytes: 2).hashResult(pid: nil, path: path) else {
            Issue.record("hashed a file over the limit")
            return
        }
        #expect(big.reason == "\(path) is 3 bytes, over the 2-byte hashing limit")
    }

    /// Rewritten in place with the same size and its mtime put back: ctime still tells, and the
    /// new content is hashed, not the cached digest returned.
    @Test func aRewriteWithTheOldMtimeIsNotTheSameFile() throws {
        let path = try scratchFile("abc")
        defer { unlink(path) }
        let hasher = ExecutableHasher()
        let before = try identity(of: path)
        #expect(hasher.hash(pid: nil, path: path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        usleep(10_000)  // a ctime tick apart
        try "abd".write(toFile: path, atomically: false, encoding: .utf8)
        var times = [
            timespec(tv_sec: Int(before.mtimeSeconds), tv_nsec: Int(before.mtimeNanoseconds)),
            timespec(tv_sec: Int(before.mtimeSeconds), tv_nsec: Int(before.mtimeNanoseconds)),
        ]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let after = try identity(of: path)
        #expect(after.size == before.size && after.mtimeSeconds == before.mtimeSeconds && after.mtimeNanoseconds == before.mtimeNanoseconds)
        #expect(after != before)
        #expect(hasher.hash(pid: nil, path: path) == "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9")  // sha256("abd")
    }
}

@Suite struct HashCacheFileTests {
    func scratchDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-hashcache-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            .path
        try #require(mkdir(dir, 0o700) == 0)
        return dir
    }

    /// What one run hashed, the next run knows without reading the file (here: it is gone).
    @Test func digestsSurviveIntoTheNextRun() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let binary = dir + "/tool"
        try "abc".write(toFile: binary, atomically: false, encoding: .utf8)
        let id = try identity(of: binary)
        let first = ExecutableHasher(store: HashCacheFile(path: dir + "/cache/exe-sha256"))
        #expect(first.hash(pid: nil, path: binary, identity: id) != nil)
        unlink(binary)
        let store = HashCacheFile(path: dir + "/cache/exe-sha256")
        #expect(store.problem == nil && store.degradedWarning == nil)
        let second = ExecutableHasher(store: store)
        #expect(second.hash(pid: nil, path: binary, identity: id) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var info = stat()
        #expect(stat(dir + "/cache/exe-sha256", &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(dir + "/cache", &info) == 0 && info.st_mode & 0o777 == 0o700)
    }

    /// A torn last line (a crash mid-write) and garbage are skipped and counted; the good lines load.
    @Test func badLinesAreSkippedAndCounted() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let id = FileIdentity(device: 1, inode: 2, size: 3, mtimeSeconds: 4, mtimeNanoseconds: 5, ctimeSeconds: 6, ctimeNanoseconds: 7)
        let good = HashCacheFile.line(id, String(repeating: "ab", count: 32))
        try #require(mkdir(dir + "/c", 0o700) == 0)
        let text =
            "garbage\n" + good + "v1 1 2 3 4 5 6 7 ABCDEF\n" + "v1 1 2 3 4 5 6 7 " + String(repeating: "a", count: 64) + " extra\n" + "v1 9 9 9"
        try text.write(toFile: dir + "/c/h", atomically: false, encoding: .utf8)
        try #require(chmod(dir + "/c/h", 0o600) == 0)
        let store = HashCacheFile(path: dir + "/c/h")
        let entries = store.load()
        #expect(entries == [id: String(repeating: "ab", count: 32)])
        #expect(store.skippedLines == 4)
    }

    /// A cache others could have written is not believed: group/world-writable file or
    /// directory, or a symlink in its place.
    @Test func anUntrustedFileIsNotUsed() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try #require(mkdir(dir + "/open", 0o777) == 0 && chmod(dir + "/open", 0o777) == 0)
        let open = HashCacheFile(path: dir + "/open/h")
        #expect(open.problem?.contains("writable by others") == true)
        #expect(open.degradedWarning?.hasPrefix("vigil: degraded: executable hash cache not used") == true)
        #expect(open.degradedWarning?.contains(dir + "/open") == true, "the warning names the directory")

        try #require(mkdir(dir + "/c", 0o700) == 0)
        try "".write(toFile: dir + "/c/h", atomically: false, encoding: .utf8)
        try #require(chmod(dir + "/c/h", 0o644) == 0)
        #expect(HashCacheFile(path: dir + "/c/h").problem?.contains("mode 0600") == true)

        try #require(symlink("/etc/passwd", dir + "/c/link") == 0)
        let linked = HashCacheFile(path: dir + "/c/link")
        #expect(linked.problem != nil)
        #expect(linked.load().isEmpty)
        // Without its file the hasher still works, from the files themselves.
        #expect(ExecutableHasher(store: linked).hash(pid: nil, path: "/bin/sh") != nil)
    }

    /// Bounded: a file over the limit is started again, not loaded.
    @Test func anOversizedFileIsStartedAgain() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = HashCacheFile(path: dir + "/c/h", maxBytes: 200)
        for i in 0..<5 {
            store.append(
                FileIdentity(device: 1, inode: UInt64(i), size: 3, mtimeSeconds: 4, mtimeNanoseconds: 5, ctimeSeconds: 6, ctimeNanoseconds: 7),
                String(repeating: "ab", count: 32))
        }
        let reopened = HashCacheFile(path: dir + "/c/h", maxBytes: 200)
        #expect(reopened.load().isEmpty)
        var info = stat()
        #expect(stat(dir + "/c/h", &info) == 0 && info.st_size == 0)
    }
}
