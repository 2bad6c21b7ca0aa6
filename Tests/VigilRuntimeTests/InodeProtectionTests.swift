// SPDX-License-Identifier: Apache-2.0
// A protected file is refused by what it is, not by the name it is opened under: a hard link made
// before or during the session, a rename of the file or of its directory, a bind mount, and a
// directory created inside the protected tree after the marks all reach the same inode, which is refused.
import Foundation
import Glibc
import Testing
import VigilAudit
import VigilEnforcement
import VigilRuntime
import VigilTestSupport

extension EnforcementTests {
    private static func vault(_ w: Workspace) throws -> (dir: String, token: String, policy: String) {
        let dir = w.dir + "/vault"
        try FileManager.default.createDirectory(atPath: dir + "/deep", withIntermediateDirectories: true)
        let token = dir + "/deep/token"
        try "VAULT-\(getpid())".write(toFile: token, atomically: false, encoding: .utf8)
        return (dir, token, "vigil: 1\nrules:\n  - {id: no-vault, match: 'Open(\(dir)/**)', action: deny}\n")
    }

    @Test(.requires(.bpf)) func aHardLinkMadeBeforeTheSessionIsRefused() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let (_, token, policy) = try Self.vault(w)
        let link = w.dir + "/innocent.txt"
        #expect(Glibc.link(token, link) == 0)
        let out = w.dir + "/out"
        let (_, entries, report) = try await w.run(
            policy: policy, shell("cat \(link); echo cat=$?; echo neighbour > \(w.dir)/n; cat \(w.dir)/n", out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(!text.contains("VAULT-") && text.contains("cat=1") && text.contains("neighbour"), "\(text)")
        let deny = entries.first { $0.kind == .open && $0.decision == .deny && $0.winningRule == "no-vault" }
        #expect(deny?.extra["protectedName"] == token, "\(entries.map(\.extra))")
        #expect(deny?.action.path == link)
        #expect(report.isValid)
    }

    @Test(.requires(.bpf)) func renamesAndLinksDuringTheSessionAndABindMountAreRefused() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let (dir, _, policy) = try Self.vault(w)
        try FileManager.default.createDirectory(atPath: w.dir + "/b", withIntermediateDirectories: true)
        let out = w.dir + "/out"
        // Each route, one after the other, from inside the session: none may print the token. The
        // command is the developer: its bind mount is in a user namespace of its own (unshare -r).
        let script = """
            ln \(dir)/deep/token \(w.dir)/l1; cat \(w.dir)/l1; echo link=$?; \
            unshare -rm sh -c 'mount --bind \(dir) \(w.dir)/b && cat \(w.dir)/b/deep/token'; echo bind=$?; \
            mv \(dir)/deep \(w.dir)/moved; cat \(w.dir)/moved/token; echo dirmove=$?; \
            mv \(w.dir)/moved/token \(w.dir)/t2; cat \(w.dir)/t2; echo filemove=$?
            """
        let (_, entries, _) = try await w.run(policy: policy, shell(script, out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(!text.contains("VAULT-"), "\(text)")
        for route in ["link", "bind", "dirmove", "filemove"] {
            #expect(text.contains("\(route)=") && !text.contains("\(route)=0"), "\(route): \(text)")
        }
        #expect(
            entries.filter { $0.kind == .open && $0.decision == .deny && $0.extra["protectedName"] != nil }.count >= 4,
            "\(entries.map { "\($0.action.path ?? "") \($0.extra)" })")
    }

    @Test(.requires(.bpf)) func aFileCreatedInTheProtectedTreeAfterTheMarksIsProtectedByInodeToo() async throws {
        let w = try Workspace(); defer { w.cleanup() }
        let (dir, _, policy) = try Self.vault(w)
        let out = w.dir + "/out"
        // Outside the session (as a developer's own `aws configure` would), once the session runs:
        // a new directory with a new secret. The session then links it out of the tree and reads it.
        // The session says when it runs (its marks are in place before its first instruction).
        let later = dir + "/new/creds", ready = w.dir + "/ready"
        // The developer's, like the rest of the tree (a hard link to another's file is refused by
        // the kernel's protected_hardlinks, not by Vigil).
        let developer = try Developer.account()
        DispatchQueue.global().async {
            for _ in 0..<600 where !FileManager.default.fileExists(atPath: ready) { usleep(10_000) }
            try? FileManager.default.createDirectory(atPath: dir + "/new", withIntermediateDirectories: true)
            Glibc.chown(dir + "/new", developer.uid, developer.gid)
            FileManager.default.createFile(atPath: later, contents: nil)
            Glibc.chown(later, developer.uid, developer.gid)
            try? "LATER-SECRET".write(toFile: later, atomically: false, encoding: .utf8)
        }
        let script =
            "touch \(ready); while [ ! -s \(later) ]; do sleep 0.05; done; sleep 0.2; ln \(later) \(w.dir)/out-link; cat \(w.dir)/out-link; echo rc=$?"
        let (summary, entries, _) = try await w.run(policy: policy, shell(script, out: out))
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(!text.contains("LATER-SECRET") && text.contains("rc=1"), "\(text)")
        #expect(entries.contains { $0.decision == .deny && $0.extra["protectedName"] == later })
        #expect((summary.fanotify?.replans ?? 0) >= 1)
    }
}
