import Foundation
import Glibc
import Testing
import VigilCore
@testable import VigilSensor

@Suite struct ExecutableHasherTests {
    func scratchFile(_ contents: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-hash-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    func identity(of path: String) throws -> FileIdentity {
        var info = stat()
        try #require(stat(path, &info) == 0)
        return FileIdentity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            mtimeSeconds: Int64(info.st_mtim.tv_sec), mtimeNanoseconds: Int64(info.st_mtim.tv_nsec))
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
        #expect(hasher.hash(pid: getpid(), path: path, identity: try identity(of: path))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hasher.mismatches == 0)
    }
}
