// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Testing
import VigilCore
import VigilSensor
import VigilTestSupport

/// A process outside every session, and whether it is still running (not gone, not stopped).
final class Outsider {
    let process = Process()
    init() throws {
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["60"]
        try process.run()
    }
    var pid: Int32 { process.processIdentifier }
    /// The state letter of /proc/PID/stat (R, S, T…).
    var state: Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        return stat[stat.index(close, offsetBy: 2)]
    }
    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// ptrace, process_vm_readv/writev and pidfd_getfd from a session: on a process outside it the
/// caller is SIGKILLed at syscall entry (before the call returns) and the event names the target;
/// on a process of the same session they work. In TraceTests' serialized suite: one sensor reader
/// at a time.
extension TraceTests {
    /// Runs the helper in a session with its output in a file; returns the trace and that output.
    func reach(_ mode: String, _ target: String) async throws -> (Traced, String) {
        let helper = try Privileges.helper("proc_reach")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-reach-\(getpid())-\(mode)").path
        defer { unlink(out) }
        let t = try await trace(["/bin/sh", "-c", "\(helper) \(mode) \(target) > \(out)"])
        return (t, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

    func accesses(_ t: Traced) -> [ProcessAccessEvent] {
        t.events.compactMap { if case .procAccess(let e) = $0 { e } else { nil } }
    }

    @Test(
        .requires(.bpf),
        arguments: [
            ("attach", ProcessAccessCall.ptrace, "PTRACE_ATTACH"), ("seize", .ptrace, "PTRACE_SEIZE"), ("peek", .ptrace, "PTRACE_PEEKDATA"),
            ("readv", .processVMReadv, nil), ("writev", .processVMWritev, nil), ("getfd", .pidfdGetfd, nil),
        ] as [(String, ProcessAccessCall, String?)])
    func reachingOutsideTheSessionKillsTheCallerBeforeTheCallReturns(mode: String, call: ProcessAccessCall, request: String?) async throws {
        let killedBefore = try sharedSensor.get().counters().processAccessKilled
        let outsider = try Outsider()
        try await Task.sleep(for: .milliseconds(50))
        let (t, output) = try await reach(mode, String(outsider.pid))
        #expect(output == "before\n", "the line after the call was printed: \(output)")
        #expect(t.summary.exitCode == 128 + SIGKILL)
        let event = try #require(accesses(t).first, "no proc_access event among \(t.events.map(\.kindName))")
        #expect(event.call == call)
        #expect(event.requestName == request)
        #expect(event.targetPID == outsider.pid)
        #expect(event.targetSession == 0)
        #expect(event.killed)
        #expect(!event.header.flags.contains(.targetUnresolved))
        #expect(event.header.session == t.summary.session)
        // The target is untouched: alive, and not left stopped by PTRACE_ATTACH's SIGSTOP.
        try await Task.sleep(for: .milliseconds(50))
        #expect(outsider.process.isRunning)
        #expect(outsider.state != "T" && outsider.state != "t", "target state \(outsider.state.map(String.init) ?? "gone")")
        #expect(try sharedSensor.get().counters().processAccessKilled > killedBefore)
    }

    /// PTRACE_TRACEME makes the parent the tracer: from a session root, the parent is outside.
    @Test(.requires(.bpf)) func tracemeTowardAParentOutsideIsKilled() async throws {
        let t = try await trace([try Privileges.helper("proc_reach"), "traceme", "0"])
        #expect(t.summary.exitCode == 128 + SIGKILL)
        let event = try #require(accesses(t).first)
        #expect(event.requestName == "PTRACE_TRACEME" && event.killed)
        #expect(event.targetPID == getpid())
    }

    /// A pidfd_getfd on something that is not a pidfd cannot be resolved: taken as outside.
    @Test(.requires(.bpf)) func anUnresolvableTargetIsTakenAsOutside() async throws {
        let t = try await trace(["/usr/bin/python3", "-c", "import ctypes; ctypes.CDLL(None).syscall(438, 0, 1, 0); print('after')"])
        #expect(t.summary.exitCode == 128 + SIGKILL)
        let event = try #require(accesses(t).first)
        #expect(event.call == .pidfdGetfd && event.killed)
        #expect(event.header.flags.contains(.targetUnresolved))
        #expect(event.targetPID == 0 && event.request == 0)
    }

    @Test(.requires(.bpf), arguments: ["attach", "seize", "peek", "readv", "writev", "getfd", "traceme"])
    func theSameCallsOnAChildOfTheSessionWork(mode: String) async throws {
        let (t, output) = try await reach(mode, "child")
        #expect(t.summary.exitCode == 0)
        let after = output.split(separator: "\n").last { $0.hasPrefix("after ") }
        let result = try #require(after.flatMap { Int($0.dropFirst(6)) }, "output: \(output)")
        #expect(result >= 0, "\(mode) on a child failed: \(output)")
        #expect(!accesses(t).contains { $0.killed })
        if ["attach", "seize", "peek", "traceme"].contains(mode) {
            // Attaches inside the session are recorded, allowed.
            let attach = try #require(accesses(t).first)
            #expect(attach.targetSession == t.summary.session && !attach.killed)
        }
    }
}
