// SPDX-License-Identifier: Apache-2.0
// `vigil trace` as a user runs it: the binary, its JSON stream, its exit status.
import Foundation
import Glibc
import Testing
import VigilTestSupport

@Suite(.serialized) struct TraceCommandTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func vigil(_ arguments: [String], stdout: FileHandle? = nil) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Privileges.product("vigil"))
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = stdout ?? out
        process.standardError = err
        try process.run()
        let outData = stdout == nil ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Every line is a JSON object; the summary names the same 16-digit session as the events,
    /// and every exec's executable was hashed.
    @Test(.requires(.bpf)) func jsonStreamEndsWithASummaryOfTheSameSession() throws {
        let run = try vigil(["trace", "--json", "--", "/bin/sh", "-c", "cat /etc/hostname > /dev/null"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        let objects = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let summary = try #require(objects.last)
        #expect(summary["kind"] as? String == "summary")
        let session = try #require(summary["session"] as? String)
        #expect(session.count == 16)
        #expect(objects.dropLast().allSatisfy { $0["session"] as? String == session })
        #expect(summary["unhashed"] as? Int == 0)
        #expect(summary["dropped"] as? Int == 0)
        let execs = objects.filter { $0["kind"] as? String == "exec" }
        #expect(execs.count == 2)  // sh, cat
        for exec in execs {
            let ancestry = try #require(exec["ancestry"] as? [[String: Any]])
            #expect((ancestry.first?["sha256"] as? String)?.count == 64)
        }
    }

    /// Events that cannot be written are not lost silently: the count and the reason go to
    /// stderr and the exit status is EX_IOERR (74) although the command succeeded.
    @Test(.requires(.bpf)) func anUnwritableOutputIsReported() throws {
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let run = try vigil(["trace", "--json", "--", "/bin/true"], stdout: full)
        #expect(run.status == 74)
        #expect(run.stderr.contains("bytes of events could not be written: No space left on device"), "\(run.stderr)")
    }

    /// --output: the events go to the file (mode 0600) and end with the summary; standard output
    /// gets the summary only. A symlink in the file's place is refused (exit 73), not followed.
    @Test(.requires(.bpf)) func outputGoesToTheFileAndTheSummaryToStdout() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-trace-out-\(getpid()).jsonl").path
        defer { unlink(path) }
        let run = try vigil(["trace", "--json", "--output", path, "--", "/bin/sh", "-c", "cat /etc/hostname > /dev/null"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.contains { $0.contains(#""kind":"exec""#) && $0.contains(#""path":"/usr/bin/cat""#) })
        #expect(lines.last.map(String.init) == run.stdout.split(separator: "\n").last.map(String.init))
        #expect(run.stdout.split(separator: "\n").count == 1 && run.stdout.contains(#""kind":"summary""#))
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)

        let link = path + ".link"
        defer { unlink(link) }
        try #require(symlink("/etc/hostname", link) == 0)
        let refused = try vigil(["trace", "--output", link, "--", "/bin/true"])
        #expect(refused.status == 73)
        #expect(refused.stderr.contains("Too many levels of symbolic links"), "\(refused.stderr)")
    }
}
