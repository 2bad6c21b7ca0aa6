// SPDX-License-Identifier: Apache-2.0
// Device posture, watched for the whole session: endpoint protection re-checked from the live
// process list every `edrInterval` (an EDR that dies changes posture within about that long),
// every other probe every `fullInterval`. Each change is reported with before and after.
import Foundation
import Glibc
import Synchronization
import VigilPolicy
import VigilPosture

public final class PostureMonitor: @unchecked Sendable {
    public let prober: PostureProber
    public let edrInterval: Duration
    public let fullInterval: Duration
    private let state: Mutex<PostureSnapshot>
    private let stopFlag = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private var running = false
    /// Probe rounds run, and those that changed something.
    public let rounds = Atomic<Int>(0)
    public let changeCount = Atomic<Int>(0)

    public init(
        prober: PostureProber = PostureProber(), edrInterval: Duration = .milliseconds(250),
        fullInterval: Duration = .seconds(30), health: VigilHealth? = nil
    ) {
        self.prober = prober
        self.edrInterval = edrInterval
        self.fullInterval = fullInterval
        state = Mutex(prober.snapshot(vigilHealth: health))
    }

    public var current: PostureSnapshot { state.withLock { $0 } }

    /// The snapshot as the policy engine reads it. `notApplicable` reads as unknown (with its
    /// reason): a condition on it cannot hold or fail, and the policy says what that means.
    public static func facts(_ snapshot: PostureSnapshot) -> [String: VigilPolicy.PostureFact] {
        var facts: [String: VigilPolicy.PostureFact] = [:]
        for (key, observation) in snapshot.observations {
            switch observation.fact {
            case .bool(let v): facts[key.rawValue] = .bool(v)
            case .int(let v): facts[key.rawValue] = .int(v)
            case .string(let v): facts[key.rawValue] = .string(v)
            case .unknown(let reason): facts[key.rawValue] = .unknown(reason)
            case .notApplicable(let reason): facts[key.rawValue] = .unknown("not applicable: \(reason)")
            }
        }
        return facts
    }

    /// Starts watching; `onChange(before, after, changes)` runs on the monitor's thread.
    public func start(onChange: @escaping @Sendable (PostureSnapshot, PostureSnapshot, [PostureChange]) -> Void) {
        precondition(!running, "PostureMonitor.start() twice")
        running = true
        stopFlag.store(false, ordering: .releasing)
        let thread = Thread { [self] in
            var lastFull = ContinuousClock.now
            var lastList = ContinuousClock.now - .seconds(60)
            var watched: [RunningProcess] = []
            while !stopFlag.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: Double(edrInterval.components.attoseconds) / 1e18 + Double(edrInterval.components.seconds))
                if stopFlag.load(ordering: .acquiring) { break }
                let before = current
                var after: PostureSnapshot
                if ContinuousClock.now - lastFull >= fullInterval {
                    lastFull = .now
                    after = prober.snapshot(vigilHealth: nil)
                    // Keep what the caller supplied for Vigil's own health.
                    let own = before.observations.filter { $0.key.rawValue.hasPrefix("vigil_") }
                    after = after.updating(own, at: after.takenAt)
                } else {
                    // While every endpoint-protection process seen last is still there, only a new
                    // one could change the fact: the whole process list is read every 2 s for that,
                    // and at once when one of them is gone (so a dying EDR is seen within
                    // `edrInterval`, without listing every process 4 times a second).
                    let names = prober.configuration.endpointProtectionProcessNames
                    if ContinuousClock.now - lastList < .seconds(2), watched.allSatisfy(Self.stillRunning) {
                        rounds.add(1, ordering: .relaxed)
                        continue
                    }
                    let processes = Self.runningProcesses()
                    lastList = .now
                    watched = processes.filter { EndpointProtectionProbe.matchedName($0, names) != nil }
                    after = prober.updatingEndpointProtection(before, runningProcesses: processes)
                }
                rounds.add(1, ordering: .relaxed)
                let changes = after.changes(from: before)
                guard !changes.isEmpty else { continue }
                state.withLock { $0 = after }
                changeCount.add(1, ordering: .relaxed)
                onChange(before, after, changes)
            }
            done.signal()
        }
        thread.name = "vigil-posture"
        thread.start()
    }

    public func stop() {
        guard running, !stopFlag.exchange(true, ordering: .acquiringAndReleasing) else { return }
        done.wait()
        running = false
    }

    /// The same process (pid and comm) is still running.
    static func stillRunning(_ process: RunningProcess) -> Bool {
        guard let comm = try? String(contentsOfFile: "/proc/\(process.pid)/comm", encoding: .utf8) else { return false }
        return comm.trimmingCharacters(in: .newlines) == process.comm
    }

    /// pid, comm and exe of every process, for the endpoint-protection probe.
    static func runningProcesses() -> [RunningProcess] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { name -> RunningProcess? in
            guard let pid = Int32(name) else { return nil }
            guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return nil }
            let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
            return RunningProcess(pid: pid, comm: comm.trimmingCharacters(in: .newlines), exe: exe)
        }
    }
}
