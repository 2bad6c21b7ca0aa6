// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Testing
import VigilCore
import VigilSensor
import VigilTestSupport

/// One sensor for the whole suite: loading the programs once keeps the suite fast.
let sharedSensor: Result<Sensor, SensorError> = Result { () throws(SensorError) in try Sensor() }

struct Traced {
    var events: [SensorEvent]
    var contexts: [RenderedContext]
    var summary: TraceSummary

    var execs: [ExecEvent] { events.compactMap { if case .exec(let e) = $0 { e } else { nil } } }
    var opens: [OpenEvent] { events.compactMap { if case .open(let e) = $0 { e } else { nil } } }
    var connects: [NetworkEvent] { events.compactMap { if case .connect(let e) = $0 { e } else { nil } } }
    var forks: [ForkEvent] { events.compactMap { if case .fork(let e) = $0 { e } else { nil } } }
}

func trace(_ argv: [String]) async throws -> Traced {
    let tracer = Tracer(sensor: try sharedSensor.get())
    let collected = Collector()
    let summary = try await tracer.run(command: argv) { collected.add($0, $1) }
    return Traced(events: collected.events, contexts: collected.contexts, summary: summary)
}

final class Collector: @unchecked Sendable {
    var events: [SensorEvent] = []
    var contexts: [RenderedContext] = []
    func add(_ e: SensorEvent, _ c: RenderedContext) { events.append(e); contexts.append(c) }
}

func sha256(of path: String) throws -> String {
    try #require(ExecutableHasher().hash(pid: nil, path: path))
}

@Suite(.serialized) struct TraceTests {
    @Test(.requires(.bpf)) func readingAFileIsSeenWithItsResolvedPath() async throws {
        let t = try await trace(["/bin/cat", "/etc/hostname"])
        #expect(t.summary.exitCode == 0)
        #expect(t.summary.dropped == 0)
        let exec = try #require(t.execs.first)
        #expect(exec.path == "/usr/bin/cat")
        #expect(exec.argv == ["/bin/cat", "/etc/hostname"])
        // The kernel's view of the inode is the hash cache's key: it must be what stat(2) says.
        var info = stat()
        #expect(stat("/usr/bin/cat", &info) == 0)
        #expect(exec.exeIdentity == FileIdentity(info))
        let open = try #require(t.opens.first { $0.path == "/etc/hostname" })
        #expect(open.result >= 0)
        #expect(open.header.flags.contains(.pathFromFile))
        #expect(open.header.session == t.summary.session)
        // Exec events carry the ancestry with hashes, up through this test process.
        let index = try #require(t.events.firstIndex { if case .exec = $0 { true } else { false } })
        let ancestry = t.contexts[index].ancestry
        #expect(ancestry.first?.exeSHA256 == (try sha256(of: "/usr/bin/cat")))
        #expect(ancestry.contains { $0.pid == getpid() })
    }

    @Test(.requires(.bpf)) func symlinkAndRelativePathsResolveToTheRealFile() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-symlink-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("real"), withIntermediateDirectories: true)
        let target = dir.appendingPathComponent("real/secret.txt").path
        try "s3cret".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("link").path, withDestinationPath: "real/secret.txt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let realTarget = URL(fileURLWithPath: target).resolvingSymlinksInPath().path
        let t = try await trace([
            "/bin/sh", "-c", "cd \(dir.path)/real && cat ../link >/dev/null && cat ./secret.txt >/dev/null; cat missing-file 2>/dev/null; true",
        ])
        let hits = t.opens.filter { $0.path == realTarget }
        #expect(hits.count == 2, "opens: \(t.opens.map(\.path))")
        #expect(
            t.opens.contains { $0.path == URL(fileURLWithPath: dir.path).resolvingSymlinksInPath().path + "/real/missing-file" && $0.result == -2 })
    }

    @Test(.requires(.bpf)) func loopbackTCPConnect() async throws {
        let listener = try TCPListener()
        let t = try await trace(["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\(listener.port)"])
        let c = try #require(t.connects.first { $0.port == listener.port })
        #expect(c.address == "127.0.0.1")
        #expect(c.family == .inet)
        #expect(c.result == 0)
    }

    @Test(.requires(.bpf)) func ioUringOpenAndConnectAreSeen() async throws {
        let helper = try Privileges.helper("uring_probe")
        let listener = try TCPListener()
        let t = try await trace([helper, "/etc/hostname", String(listener.port)])
        #expect(t.summary.exitCode == 0)
        let open = try #require(t.opens.first { $0.header.flags.contains(.ioUring) })
        #expect(open.path == "/etc/hostname")
        #expect(open.result >= 0)
        let connect = try #require(t.connects.first { $0.header.flags.contains(.ioUring) })
        #expect(connect.address == "127.0.0.1" && connect.port == listener.port && connect.result == 0)
    }

    @Test(.requires(.bpf)) func compat32BitOpenIsSeen() async throws {
        let helper = try Privileges.helper("int80_open")
        let t = try await trace([helper])
        #expect(t.summary.exitCode == 0)
        let open = try #require(t.opens.first { $0.header.flags.contains(.compat) })
        #expect(open.path == "/etc/hostname")
        #expect(open.result >= 0)
    }

    @Test(.requires(.bpf)) func doubleForkAndSetsidChildrenStayInTheSessionAndAreWaitedFor() async throws {
        let t = try await trace(["/bin/sh", "-c", "(setsid sh -c 'sleep 0.3; cat /etc/hostname >/dev/null' &) ; exit 3"])
        #expect(t.summary.exitCode == 3)
        // The grandchild ran after the root exited, and its events were still attributed.
        let cat = try #require(t.execs.first { $0.path == "/usr/bin/cat" })
        #expect(cat.header.session == t.summary.session)
        #expect(t.opens.contains { $0.path == "/etc/hostname" && $0.header.pid == cat.header.pid })
        let rootExit = try #require(
            t.events.firstIndex {
                if case .exit(let e) = $0 { e.header.pid == t.execs.first?.header.pid } else { false }
            })
        let catIndex = try #require(t.events.firstIndex { if case .exec(let e) = $0 { e.path == "/usr/bin/cat" } else { false } })
        #expect(catIndex > rootExit)
    }

    /// Paths are walked in the kernel from the dentry up: the first components inline, the rest
    /// in a loop, crossing mounts (/dev, then the tmpfs at /dev/shm) and copying long names
    /// (over 40 bytes, not inside the dentry) with a helper. Every one must come out exact.
    @Test(.requires(.bpf)) func deepPathsAcrossMountsResolveExactly() async throws {
        let long = String(repeating: "n", count: 100)
        let root = "/dev/shm/vigil-deep-\(getpid())"
        let dir = root + "/a/b/c/d/e/f/g/h/\(long)/j/k/l"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for depth in [root, root + "/a/b/c/d/e/f", root + "/a/b/c/d/e/f/g", dir] {
            _ = FileManager.default.createFile(atPath: depth + "/leaf", contents: Data("x".utf8))
        }
        let files = [root + "/leaf", root + "/a/b/c/d/e/f/leaf", root + "/a/b/c/d/e/f/g/leaf", dir + "/leaf"]
        let t = try await trace(["/bin/sh", "-c", "cat \"$@\" >/dev/null", "sh"] + files)
        #expect(t.summary.exitCode == 0)
        for file in files {
            let open = t.opens.first { $0.path == file }
            #expect(open != nil, "no open of \(file): \(t.opens.map(\.path))")
            #expect(open.map { !$0.header.flags.contains(.pathTruncated) } ?? false)
        }
    }

    /// A path longer than VIGIL_PATH_MAX keeps its last components and says it was cut.
    @Test(.requires(.bpf)) func aPathLongerThanTheLimitKeepsItsTailAndIsFlagged() async throws {
        let name = String(repeating: "p", count: 200)
        let root = "/dev/shm/vigil-long-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { _ = try? Process.run(URL(fileURLWithPath: "/bin/rm"), arguments: ["-rf", root]).waitUntilExit() }
        // 25 levels of 200 bytes: 5 KB, beyond PATH_MAX for a single syscall, so built by chdir.
        let script =
            "import os\nos.chdir('\(root)')\nfor _ in range(25):\n    os.mkdir('\(name)')\n    os.chdir('\(name)')\n"
            + "open('leaf', 'w').close()\n"
        let t = try await trace(["/usr/bin/env", "python3", "-c", script])
        #expect(t.summary.exitCode == 0)
        let open = try #require(t.opens.first { $0.path.hasSuffix("/\(name)/leaf") && $0.result >= 0 })
        #expect(open.header.flags.contains(.pathTruncated))
        #expect(open.path.utf8.count <= 4096)
        #expect(!open.path.hasPrefix(root), "the leading components are the ones cut")
    }

    /// The kernel checks a per-slot count of tagged processes before it looks a process up: a
    /// count left low would hide a tagged process from the sensor. It must match the session map
    /// after every way a tag is added or removed: user space (twice, colliding slots, missing
    /// pids), and the kernel's own tagging at fork and untagging at exit, threads included.
    @Test(.requires(.bpf)) func theTrackedHintAccountsForEveryTag() async throws {
        let sensor = try sharedSensor.get()
        let before = try #require(sensor.tagAccounting())
        #expect(before.entries == before.hinted)
        // Above any pid_max (4194304), so never a real process; 1024 apart share a slot.
        let a: Int32 = 4_194_400, b: Int32 = 4_194_400 + 1024
        try sensor.track(pid: a, session: 7)
        try sensor.track(pid: a, session: 8)  // retagged: one entry
        try sensor.track(pid: b, session: 7)
        var now = try #require(sensor.tagAccounting())
        #expect(now.entries == before.entries + 2 && now.hinted == now.entries)
        #expect(sensor.session(of: a) == 8)
        sensor.untrack(pid: a)
        sensor.untrack(pid: a)  // not there any more: must not lower the count again
        now = try #require(sensor.tagAccounting())
        #expect(now.entries == before.entries + 1 && now.hinted == now.entries)
        sensor.untrack(pid: b)

        // Forks, a setsid double fork, threads, and a fork without exec, all ended.
        let script =
            "import os, threading\n"
            + "ts = [threading.Thread(target=lambda: open('/etc/hostname').read()) for _ in range(4)]\n"
            + "[t.start() for t in ts]; [t.join() for t in ts]\n"
            + "pid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\n"
            + "os.system(\"(setsid sh -c 'true' &); sh -c 'cat /etc/hostname >/dev/null'\")\n"
        let t = try await trace(["/usr/bin/env", "python3", "-c", script])
        #expect(t.summary.exitCode == 0)
        #expect(t.forks.count >= 4)
        // The last exits are untagged in the kernel as they happen; give the setsid one a moment.
        var after = try #require(sensor.tagAccounting())
        for _ in 0..<50 where after.entries != before.entries {
            try await Task.sleep(for: .milliseconds(20))
            after = try #require(sensor.tagAccounting())
        }
        #expect(after.entries == before.entries)
        #expect(after.hinted == after.entries)
    }

    @Test(.requires(.bpf)) func forkWithoutExecIsAttributed() async throws {
        let script = "import os\npid = os.fork()\nif pid == 0:\n    open('/etc/hostname').read()\n    os._exit(0)\nos.waitpid(pid, 0)\n"
        let t = try await trace(["/usr/bin/env", "python3", "-c", script])
        let children = Set(t.forks.map(\.childPID))
        let open = try #require(t.opens.first { $0.path == "/etc/hostname" && children.contains($0.header.pid) })
        #expect(open.header.session == t.summary.session)
        #expect(!t.execs.contains { $0.header.pid == open.header.pid })
    }

    @Test(.requires(.bpf)) func renamedBinaryIsIdentifiedByContent() async throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("innocent-\(getpid())").path
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: "/usr/bin/cat", toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let t = try await trace([copy, "/etc/hostname"])
        let index = try #require(t.events.firstIndex { if case .exec(let e) = $0 { e.path == copy } else { false } })
        #expect(t.contexts[index].ancestry.first?.exeSHA256 == (try sha256(of: "/usr/bin/cat")))
    }

    @Test(.requires(.bpf)) func ldSoLaunchedBinaryIsSeen() async throws {
        let loader = "/lib64/ld-linux-x86-64.so.2"
        let t = try await trace([loader, "/usr/bin/cat", "/etc/hostname"])
        let exec = try #require(t.execs.first)
        #expect(URL(fileURLWithPath: exec.path).resolvingSymlinksInPath().path == URL(fileURLWithPath: loader).resolvingSymlinksInPath().path)
        #expect(exec.argv.contains("/usr/bin/cat"))
        // The loader maps the real program: the kernel sees it opened.
        #expect(t.opens.contains { $0.path == "/usr/bin/cat" })
        #expect(t.opens.contains { $0.path == "/etc/hostname" })
    }

    @Test(.requires(.bpf)) func attachToARunningTree() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "sleep 0.5; cat /etc/hostname >/dev/null"]
        try process.run()
        let collected = Collector()
        let summary = try await Tracer(sensor: try sharedSensor.get()).attach(pid: process.processIdentifier) { collected.add($0, $1) }
        process.waitUntilExit()
        #expect(
            collected.events.contains { if case .exec(let e) = $0 { e.path == "/usr/bin/cat" && e.header.session == summary.session } else { false } }
        )
    }

    @Test(.requires(.bpf)) func missingCommandIsAClearError() async throws {
        await #expect { try await trace(["/nonexistent/tool"]) } throws: { error in
            (error as? SensorError)?.code == .spawnFailed && "\(error)".contains("/nonexistent/tool")
        }
    }

    @Test(.requires(.bpf)) func featureProbeReportsEveryProgramType() throws {
        let features = Environment.probeFeatures()
        #expect(features.btf)
        #expect(features.tpBTF.available)  // the sensor itself depends on it
        for probe in [features.fentry, features.lsm, features.cgroupSockAddr] where !probe.available {
            #expect(probe.error?.isEmpty == false)
        }
        let sensor = try sharedSensor.get()
        #expect(sensor.programs.filter { !$0.attached }.isEmpty, "\(sensor.degradedModes)")
    }
}

@Suite(.serialized) struct RingFullTests {
    @Test(.requires(.bpf)) func aFullRingIsCountedAndReportedAsAGap() async throws {
        var options = SensorOptions()
        options.ringBytes = 64 << 10  // tiny ring
        options.wakeupEvery = .max  // never wake the reader early
        options.pollMilliseconds = 2000  // and let it sleep: the burst overflows
        options.execAll = false
        let sensor = try Sensor(options: options)
        let collected = Collector()
        let script = "for _ in range(20000): open('/etc/hostname').close()"
        let summary = try await Tracer(sensor: sensor).run(command: ["/usr/bin/env", "python3", "-c", script]) { collected.add($0, $1) }
        #expect(summary.dropped > 0)
        let gaps = collected.events.compactMap { if case .gap(let g) = $0 { g } else { nil } }
        #expect(!gaps.isEmpty)
        #expect(gaps.reduce(0) { $0 + $1.lost } == summary.dropped)
        #expect(sensor.counters().totalDropped == summary.dropped)
    }
}
