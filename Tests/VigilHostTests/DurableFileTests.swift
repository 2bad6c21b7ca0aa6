// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Testing
import VigilHost

@Suite struct DurableFileTests {
    static func scratch() throws -> String {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("vigil-host-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(made != nil)
        return String(cString: template)
    }

    static func mode(_ path: String) -> mode_t {
        var st = stat()
        _ = lstat(path, &st)
        return st.st_mode
    }

    @Test func writesTheContentWithExactlyTheMode() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state.json"
        let previous = umask(0o077)
        defer { umask(previous) }
        try DurableFile.replace(path, with: Array("first\n".utf8), mode: 0o644)
        #expect(FileManager.default.contents(atPath: path) == Data("first\n".utf8))
        #expect(Self.mode(path) & 0o7777 == 0o644, "the mode is set whatever the umask")
        try DurableFile.replace(path, with: Array("second".utf8), mode: 0o600)
        #expect(FileManager.default.contents(atPath: path) == Data("second".utf8))
        #expect(Self.mode(path) & 0o7777 == 0o600)
        try DurableFile.replace(path, with: [UInt8](), mode: 0o600)
        #expect(FileManager.default.contents(atPath: path) == Data())
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["state.json"], "no temporary file is left")
    }

    /// A symlink at the target is replaced by the file (rename(2) does not follow it); what it
    /// pointed to is untouched.
    @Test func aSymlinkAtTheTargetIsReplacedNotFollowed() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let victim = dir + "/victim"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: victim))
        let path = dir + "/link"
        #expect(symlink(victim, path) == 0)
        try DurableFile.replace(path, with: Array("new".utf8), mode: 0o600)
        #expect(Self.mode(path) & S_IFMT == S_IFREG)
        #expect(FileManager.default.contents(atPath: path) == Data("new".utf8))
        #expect(FileManager.default.contents(atPath: victim) == Data("keep".utf8))
    }

    @Test func aMissingDirectoryNamesTheStepAndThePath() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/missing/state.json"
        #expect {
            try DurableFile.replace(path, with: Array("x".utf8), mode: 0o600)
        } throws: { error in
            guard let error = error as? HostFileError else { return false }
            return error.operation == "create" && error.path.hasPrefix(dir + "/missing/") && error.code == ENOENT
        }
    }

    @Test func aDirectoryAtTheTargetIsRefusedAndNoTemporaryIsLeft() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/occupied"
        try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
        #expect(throws: HostFileError.self) { try DurableFile.replace(path, with: Array("x".utf8), mode: 0o600) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["occupied"])
    }
}
