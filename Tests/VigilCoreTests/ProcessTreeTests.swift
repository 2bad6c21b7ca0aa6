// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import VigilCore

@Suite struct ProcessTreeTests {
    func h(_ pid: Int32, session: SessionID = 9, t: UInt64 = 1) -> EventHeader {
        EventHeader(ktimeNanoseconds: t, pid: pid, tid: pid, session: session)
    }

    @Test func forkExecExitTracksLivenessAndAncestry() {
        var tree = ProcessTree()
        tree.seed(ProcessNode(pid: 1, ppid: 0, exePath: "/sbin/init"))
        tree.seed(ProcessNode(pid: 10, ppid: 1, exePath: "/usr/bin/vigil"))
        tree.startSession(9, root: 20, parent: 10)
        tree.apply(.exec(ExecEvent(header: h(20), ppid: 10, uid: 0, gid: 0, cgroupID: 1, exeDevice: 1, exeInode: 2, path: "/bin/sh", argv: ["sh"])))
        tree.apply(.fork(ForkEvent(header: h(20), childPID: 21)))
        tree.apply(.fork(ForkEvent(header: h(21), childPID: 22)))  // double fork
        #expect(tree.liveCount(of: 9) == 3)
        #expect(tree.ancestry(of: 22).map(\.pid) == [22, 21, 20, 10, 1])
        #expect(tree[22]?.exePath == "/bin/sh")  // a fork without exec runs its parent's image
        tree.apply(.exit(ExitEvent(header: h(21), rawCode: 0)))
        tree.apply(.exit(ExitEvent(header: h(20), rawCode: 0)))
        // The grandchild outlives its parents (setsid/reparent): the session is not over.
        #expect(tree.liveCount(of: 9) == 1)
        #expect(tree.ancestry(of: 22).map(\.pid) == [22, 21, 20, 10, 1])
        tree.apply(.exit(ExitEvent(header: h(22), rawCode: 9)))
        #expect(tree.liveCount(of: 9) == 0)
    }

    @Test func aRescanKeepsSessionMembership() {
        var tree = ProcessTree()
        tree.startSession(9, root: 30, parent: 1)
        tree.seed(ProcessNode(pid: 30, ppid: 1, exePath: "/bin/sh"))
        #expect(tree[30]?.session == 9)
        #expect(tree.liveCount(of: 9) == 1)
    }

    @Test func execOfANewBinaryForgetsTheOldHash() {
        var tree = ProcessTree()
        tree.startSession(9, root: 5, parent: 1)
        tree.apply(.exec(ExecEvent(header: h(5), ppid: 1, uid: 0, gid: 0, cgroupID: 0, exeDevice: 1, exeInode: 2, path: "/a", argv: [])))
        tree.setHash("aa", for: 5)
        tree.apply(.exec(ExecEvent(header: h(5), ppid: 1, uid: 0, gid: 0, cgroupID: 0, exeDevice: 1, exeInode: 3, path: "/b", argv: [])))
        #expect(tree[5]?.exeSHA256 == nil)
        #expect(tree[5]?.exePath == "/b")
    }

    /// An image that could not be hashed is not asked for again (its forks inherit that) until
    /// the process execs something else.
    @Test func anUnhashableImageIsRememberedUntilTheNextExec() {
        var tree = ProcessTree()
        tree.startSession(9, root: 5, parent: 1)
        tree.apply(.exec(ExecEvent(header: h(5), ppid: 1, uid: 0, gid: 0, cgroupID: 0, exeDevice: 1, exeInode: 2, path: "/a", argv: [])))
        #expect(tree[5]?.needsHash == true)
        tree.setHashUnavailable(for: 5, reason: "cannot open /proc/5/exe: Permission denied")
        #expect(tree[5]?.needsHash == false)
        tree.apply(.fork(ForkEvent(header: h(5), childPID: 6)))
        #expect(tree[6]?.needsHash == false)
        #expect(tree[6]?.exeHashMissingReason == "cannot open /proc/5/exe: Permission denied")
        tree.apply(.exec(ExecEvent(header: h(6), ppid: 5, uid: 0, gid: 0, cgroupID: 0, exeDevice: 1, exeInode: 3, path: "/b", argv: [])))
        #expect(tree[6]?.needsHash == true)
        #expect(tree[6]?.exeHashMissingReason == "not hashed yet")
        tree.markExited(6)
        #expect(tree[6]?.needsHash == false)
        #expect(tree[6]?.exeHashMissingReason == "exited before its executable was hashed")
    }

    /// Issue 16: ancestors that started before the session (seeded from /proc, never exec'd under
    /// watch) are named for hashing, each once; hashed or found unhashable, they are not again.
    @Test func ancestorsSeededBeforeTheSessionAreNamedForHashingOnce() {
        var tree = ProcessTree()
        tree.seed(ProcessNode(pid: 1, ppid: 0, exePath: "/sbin/init"))
        tree.seed(ProcessNode(pid: 10, ppid: 1, exePath: "/usr/sbin/sshd"))
        tree.seed(ProcessNode(pid: 11, ppid: 10, exePath: "/usr/bin/bash"))
        tree.seed(ProcessNode(pid: 12, ppid: 11, exePath: "/usr/bin/gone", exited: true))
        tree.startSession(9, root: 20, parent: 11)
        tree.apply(.exec(ExecEvent(header: h(20), ppid: 11, uid: 0, gid: 0, cgroupID: 1, exeDevice: 1, exeInode: 2, path: "/bin/claude", argv: [])))
        tree.setHash("cc", for: 20)
        tree.apply(.fork(ForkEvent(header: h(20), childPID: 21)))
        #expect(tree.unhashedAncestry(of: [21, 20, 21]).map(\.pid) == [11, 10, 1])
        tree.setHash("bb", for: 11)
        tree.setHash("ss", for: 10)
        tree.setHashUnavailable(for: 1, reason: "cannot open /proc/1/exe: Permission denied")
        #expect(tree.unhashedAncestry(of: [21]).isEmpty)
        #expect(
            tree.ancestry(of: 21).map { $0.exeSHA256 ?? $0.exeHashMissingReason ?? "" } == [
                "cc", "cc", "bb", "ss", "cannot open /proc/1/exe: Permission denied",
            ])
        // An exited process is not hashed (its /proc/PID/exe is gone): its links say so.
        #expect(tree.unhashedAncestry(of: [12]).map(\.pid).isEmpty)
    }

    /// A parent loop (stale /proc data after pid reuse) ends the chain instead of looping.
    @Test func ancestryStopsAtACycle() {
        var tree = ProcessTree()
        tree.seed(ProcessNode(pid: 5, ppid: 6))
        tree.seed(ProcessNode(pid: 6, ppid: 7))
        tree.seed(ProcessNode(pid: 7, ppid: 5))
        #expect(tree.ancestry(of: 5).map(\.pid) == [5, 6, 7])
    }

    @Test func exitedProcessesArePrunedBeyondTheRetentionBound() {
        var tree = ProcessTree()
        tree.retainExited = 10
        for pid in Int32(100)..<Int32(150) {
            tree.startSession(1, root: pid, parent: 1)
            tree.markExited(pid)
        }
        // Pruned a quarter at a time: between the bound and a quarter over it, newest kept.
        #expect((10...12).contains(tree.nodes.count))
        #expect((140..<150).allSatisfy { tree[Int32($0)] != nil })
        #expect(tree[100] == nil && tree[130] == nil)
        #expect(tree.liveCount(of: 1) == 0)
    }

    /// A process found gone is resynced only when seen gone twice (its exit event is usually
    /// still on the way), or at once after a loss (its exit event may be the one lost).
    @Test(arguments: [
        // (gone at the first check, gone at the second, loss at the second, marked at the second)
        ([Int32](), [Int32](), false, [Int32]()),
        ([5], [5], false, [5]),  // gone twice: its exit never came
        ([], [5], false, []),  // just gone: wait for its exit event
        ([5, 6], [6, 7], false, [6]),  // 5's exit arrived meanwhile; 7 just went
        ([], [5, 7], true, [5, 7]),  // a loss: all at once
    ])
    func exitResyncWaitsOneCheckUnlessEventsWereLost(first: [Int32], second: [Int32], loss: Bool, marked: [Int32]) {
        var resync = ExitResync()
        #expect(resync.check(gone: first, afterLoss: false).isEmpty)
        #expect(resync.check(gone: second, afterLoss: loss).sorted() == marked)
    }

    @Test func exitCodeDecoding() {
        #expect(ExitEvent(header: h(1), rawCode: 7 << 8).exitStatus == 7)
        #expect(ExitEvent(header: h(1), rawCode: 9).signal == 9)
    }

    @Test func jsonRendererEscapesAndKeepsFieldNames() {
        let e = OpenEvent(header: h(3), path: "/tmp/a\"b\n", flags: 0, mode: 0, result: 3)
        let line = EventRenderer.json(.open(e), RenderedContext(ppid: 2))
        #expect(line.hasPrefix("{\"kind\":\"open\",\"ts\":"))
        #expect(line.contains("\"path\":\"/tmp/a\\\"b\\n\""))
        #expect(line.contains("\"ppid\":2") && line.contains("\"result\":3") && line.contains("\"session\":\"0000000000000009\""))
    }
}
