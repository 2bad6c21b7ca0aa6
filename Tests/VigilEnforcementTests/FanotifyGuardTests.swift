// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Synchronization
import Testing
import VigilTestSupport
@testable import VigilEnforcement

/// What the decision closure saw.
final class Seen: Sendable {
    let events = Mutex<[FanotifyEvent]>([])
    func add(_ event: FanotifyEvent) { events.withLock { $0.append(event) } }
    var all: [FanotifyEvent] { events.withLock { $0 } }
}

/// Real fanotify on files in a temp dir. Serialized: each test owns a group, and the counters are per group.
@Suite(.serialized) struct FanotifyGuardTests {
    /// Denies opens and execs of `denied` paths, except for processes named `trusted` (a copy of cat).
    static func guardDenying(_ denied: Set<String>, seen: Seen, trusted: String = "catok") throws -> FanotifyGuard {
        try FanotifyGuard { event in
            seen.add(event)
            return denied.contains(event.path) && comm(of: event.pid) != trusted ? .deny : .allow
        }
    }

    @Test(.requires(.fanotify)) func aDeniedOpenGetsEPERMAndNoData() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let secret = try dir.file("secret.txt", "TOPSECRET-1\n")
        let open = try dir.file("public.txt", "public\n")
        let seen = Seen()
        let guardian = try Self.guardDenying([secret], seen: seen)
        defer { guardian.shutdown() }
        let plan = MarkPlanner.plan(rules: ["Open(\(secret))"], home: nil)
        #expect(plan.targets == [MarkTarget(secret, .file, exec: false)])
        let report = guardian.apply(plan)
        #expect(report.marked == 1 && report.failures.isEmpty)

        let denied = try run(["/bin/cat", secret])
        #expect(denied.status != 0)
        #expect(denied.stderr.contains("Operation not permitted"))
        #expect(!denied.stdout.contains("TOPSECRET"))

        // An unmarked file never reaches the guard.
        let before = guardian.counters.events
        let allowed = try run(["/bin/cat", open])
        #expect(allowed.status == 0 && allowed.stdout == "public\n")
        #expect(guardian.counters.events == before)

        // The closure allows this process: the same file opens.
        let catok = try dir.copy("/bin/cat", to: "catok")
        let trusted = try run([catok, secret])
        #expect(trusted.status == 0 && trusted.stdout == "TOPSECRET-1\n")

        // The guard's own process is never blocked, and never asks the closure.
        let asked = seen.all.count
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "TOPSECRET-1\n")
        #expect(seen.all.count == asked)

        let counters = guardian.counters
        #expect(counters.events == counters.allowed + counters.denied)
        #expect(counters.denied >= 1)
        #expect(counters.ownProcess >= 1)
        #expect(counters.errors == 0 && counters.failModeAnswers == 0)
        #expect(seen.all.contains { $0.path == secret && $0.access == .read && !$0.isExec })
    }

    @Test(.requires(.fanotify)) func writesAreToldFromReads() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let target = try dir.file("notes.txt", "original\n")
        let seen = Seen()
        // Deny writes only.
        let guardian = try FanotifyGuard { (pid: Int32, path: String, isExec: Bool, write: Bool) -> Verdict in
            seen.add(
                FanotifyEvent(
                    pid: pid, tid: pid, path: path, isExec: isExec, access: write ? .write : .read,
                    execPath: nil, argv: nil, markedAs: []))
            return write && path == target ? .deny : .allow
        }
        defer { guardian.shutdown() }
        guardian.apply(MarkPlanner.plan(rules: ["Open(\(target), write)"], home: nil))

        let read = try run(["/bin/cat", target])
        #expect(read.status == 0 && read.stdout == "original\n")
        let write = try run(["/bin/sh", "-c", "echo changed > '\(target)'"])
        #expect(write.status != 0)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "original\n")
        let append = try run(["/bin/sh", "-c", "echo more >> '\(target)'"])
        #expect(append.status != 0)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "original\n")
        #expect(guardian.counters.accessUnknown == 0)
        #expect(seen.all.contains { $0.access == .write } && seen.all.contains { $0.access == .read })
    }

    @Test(.requires(.fanotify)) func aDeniedExecFailsAndNeverRuns() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let marker = dir.path + "/ran"
        let scriptMarker = dir.path + "/script-ran"
        let tool = try dir.copy("/usr/bin/touch", to: "bin/mytouch")
        let script = try dir.file("bin/tool.sh", "#!/bin/sh\ntouch '\(scriptMarker)'\n", mode: 0o755)
        let control = try dir.copy("/usr/bin/touch", to: "other/mytouch")
        let seen = Seen()
        let guardian = try Self.guardDenying([tool, script], seen: seen)
        defer { guardian.shutdown() }

        let plan = MarkPlanner.plan(rules: ["Exec(\(dir.path)/bin/*)"], home: nil)
        #expect(plan.targets == [MarkTarget(tool, .file, exec: true), MarkTarget(script, .file, exec: true)].sorted())
        let report = guardian.apply(plan)
        #expect(report.failures.isEmpty && report.marked == 2)

        let binary = try run(["/bin/sh", "-c", "'\(tool)' '\(marker)'; echo status=$?"])
        #expect(binary.stderr.contains("Operation not permitted"), "\(binary.stderr)")  // EPERM
        #expect(!binary.stdout.contains("status=0"))
        #expect(!FileManager.default.fileExists(atPath: marker))

        let viaScript = try run(["/bin/sh", "-c", "'\(script)'; echo status=$?"])
        #expect(!viaScript.stdout.contains("status=0"))
        #expect(viaScript.stderr.contains("Operation not permitted"), "\(viaScript.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scriptMarker))

        // Executing it directly from this process: posix_spawn's child is another process, denied with EPERM.
        #expect(spawn([tool, marker]).spawnError == EPERM)
        #expect(!FileManager.default.fileExists(atPath: marker))

        // An identical copy elsewhere is not marked and runs.
        let other = try run([control, marker])
        #expect(other.status == 0 && FileManager.default.fileExists(atPath: marker))

        // The exec event carries what the caller passed.
        let event = try #require(seen.all.first { $0.isExec && $0.path == tool && $0.argv != nil })
        #expect(event.argv?.last == marker)
        #expect(event.execPath == tool)
        #expect(event.markedAs == [tool])
        let counters = guardian.counters
        #expect(counters.events == counters.allowed + counters.denied && counters.denied >= 3)
    }

    @Test(.requires(.fanotify)) func aTreeMarkCoversFilesBelowAndLaterCreatedOnes() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let deep = try dir.file("home/.aws/sso/cache/token.json", "TOKEN\n")
        let outside = try dir.file("home/.bashrc", "rc\n")
        let seen = Seen()
        let guardian = try FanotifyGuard { event in
            seen.add(event)
            let protected = dir.path + "/home/.aws"
            return event.path.hasPrefix(protected) || event.markedAs.contains { $0.hasPrefix(protected) } ? .deny : .allow
        }
        defer { guardian.shutdown() }
        let plan = MarkPlanner.plan(rules: ["Open(~/.aws/**)"], home: dir.path + "/home")
        #expect(plan.targets == [MarkTarget(dir.path + "/home/.aws", .tree, exec: false)])
        let report = guardian.apply(plan)
        // .aws, sso, cache, and token.json by its inode.
        #expect(report.marked == 4 && report.files == 1 && report.skippedDirectories == 0, "\(report)")

        #expect(try run(["/bin/cat", deep]).status != 0)
        #expect(try run(["/bin/cat", outside]).status == 0)
        // A file created after marking, in a marked directory (this process creates it: never blocked).
        let later = try dir.file("home/.aws/credentials", "KEY\n")
        let denied = try run(["/bin/cat", later])
        #expect(denied.status != 0 && !denied.stdout.contains("KEY"))
        // Listing a guarded directory is decided too (FAN_ONDIR).
        #expect(try run(["/bin/ls", dir.path + "/home/.aws"]).status != 0)
        // Applying the same plan again changes nothing: marks change by difference, never by flush.
        let again = guardian.apply(plan)
        #expect(again.marked == 0 && again.removed == 0, "\(again)")
        // A hard link outside the tree reaches the same inode: refused, and the event names the protected path.
        let link = dir.path + "/home/innocent"
        #expect(Glibc.link(deep, link) == 0)
        #expect(try run(["/bin/cat", link]).status != 0)
        #expect(seen.all.contains { $0.path == link && $0.markedAs == [deep] })
        #expect(guardian.markedNames(of: link) == [deep])
        // A plan without the rule removes the marks: the file opens again.
        let removed = guardian.apply(MarkPlan(rules: []))
        #expect(removed.removed >= 4, "\(removed)")
        #expect(try run(["/bin/cat", link]).status == 0)
    }

    @Test(.requires(.fanotify)) func remarkingAndShutdownLeaveNoStaleMarks() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let first = try dir.file("a.txt", "A\n")
        let second = try dir.file("b.txt", "B\n")
        let seen = Seen()
        let guardian = try Self.guardDenying([first, second], seen: seen)
        guardian.apply(MarkPlanner.plan(rules: ["Open(\(first))"], home: nil))
        #expect(try run(["/bin/cat", first]).status != 0)
        #expect(try run(["/bin/cat", second]).status == 0)

        // Policy change: the old mark goes, the new one comes.
        guardian.apply(MarkPlanner.plan(rules: ["Open(\(second))"], home: nil))
        #expect(try run(["/bin/cat", first]).status == 0)
        #expect(try run(["/bin/cat", second]).status != 0)

        let counters = guardian.counters
        guardian.shutdown()
        guardian.shutdown()  // idempotent
        #expect(try run(["/bin/cat", second]).stdout == "B\n")
        #expect(try run(["/bin/cat", first]).stdout == "A\n")
        #expect(guardian.counters == counters)
        #expect(counters.events == counters.allowed + counters.denied)
        #expect(counters.denied == 2)
    }

    @Test(.requires(.fanotify)) func slowAnswersAreCounted() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let file = try dir.file("slow.txt", "slow\n")
        var options = FanotifyGuardOptions()
        options.slowAnswerNanoseconds = 1_000_000
        let guardian = try FanotifyGuard(options: options) { _ in
            usleep(20_000)
            return .allow
        }
        defer { guardian.shutdown() }
        guardian.apply(MarkPlanner.plan(rules: ["Open(\(file))"], home: nil))
        #expect(try run(["/bin/cat", file]).stdout == "slow\n")
        let counters = guardian.counters
        #expect(counters.slowAnswers >= 1 && counters.allowed == counters.events && counters.events >= 1)
    }

    @Test func failModeDeniesSessionProcessesOnlyWhenClosed() {
        let inSession: @Sendable (Int32) -> Bool = { $0 == 42 }
        #expect(GuardCore.failVerdict(.closed, pid: 42, isSessionProcess: inSession) == .deny)
        #expect(GuardCore.failVerdict(.closed, pid: 7, isSessionProcess: inSession) == .allow)
        #expect(GuardCore.failVerdict(.open, pid: 42, isSessionProcess: inSession) == .allow)
    }
}

@Suite struct ProcessKillerTests {
    @Test func pidfdKillsARealProcess() throws {
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        let handle = try ProcessHandle(pid: sleeper.processIdentifier)
        #expect(handle.kill() == .killed)
        sleeper.waitUntilExit()
        #expect(sleeper.terminationReason == .uncaughtSignal)
        #expect(sleeper.terminationStatus == SIGKILL)
        // Reaped: the pidfd now names a process that is gone.
        #expect(handle.kill() == .gone)
    }

    @Test func killByPid() throws {
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        #expect(ProcessKiller.kill(pid: sleeper.processIdentifier).succeeded)
        sleeper.waitUntilExit()
        #expect(sleeper.terminationStatus == SIGKILL)
        #expect(!ProcessKiller.kill(pid: sleeper.processIdentifier).succeeded)
    }
}
