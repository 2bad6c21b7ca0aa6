// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// edr_running: is a known endpoint-protection agent among the running processes?

import Foundation

/// A process as seen in `/proc/<pid>`: its `comm` (at most 15 bytes) and, when readable, its `exe` target.
public struct RunningProcess: Sendable, Hashable {
    public var pid: Int32
    public var comm: String
    public var exe: String?

    public init(pid: Int32, comm: String, exe: String? = nil) {
        self.pid = pid
        self.comm = comm
        self.exe = exe
    }
}

/// Decides `edr_running` by matching running processes against a list of agent process names.
///
/// A process matches a name when its `comm` equals the name cut to 15 bytes (the kernel's
/// `TASK_COMM_LEN - 1`), or when the last component of its `exe` link (minus a ` (deleted)` suffix)
/// equals the name. ``evaluate(runningProcesses:names:)`` is pure, so the daemon can re-evaluate at
/// once from its live process table on an exec or exit.
public struct EndpointProtectionProbe: Sendable {
    /// Common Linux EDR / AV / telemetry agents: CrowdStrike, Microsoft Defender, SentinelOne, Elastic,
    /// Carbon Black, Trend Micro Deep Security, Wazuh, osquery, ClamAV.
    public static let defaultProcessNames = [
        "falcon-sensor", "wdavdaemon", "mdatp", "SentinelAgent", "s1-agent", "elastic-endpoint",
        "cbagentd", "ds_agent", "wazuh-agentd", "osqueryd", "clamd",
    ]

    public var root: PostureRoot
    public var names: [String]

    public init(root: PostureRoot, names: [String] = defaultProcessNames) {
        self.root = root
        self.names = names
    }

    /// Scans `/proc/[0-9]*/comm` and `exe` under the root, then ``evaluate(runningProcesses:names:)``.
    public func observe() -> PostureObservation {
        let entries: [String]
        do throws(PostureReadError) {
            entries = try root.list("/proc")
        } catch {
            return PostureObservation(.unknown(reason: "cannot list processes: \(error)"))
        }
        let processes = entries.compactMap { entry -> RunningProcess? in
            guard let pid = Int32(entry), let comm = try? root.readLine("/proc/\(entry)/comm") else { return nil }
            return RunningProcess(pid: pid, comm: comm, exe: try? root.readLink("/proc/\(entry)/exe"))
        }
        return Self.evaluate(runningProcesses: processes, names: names, source: "/proc/*/comm, /proc/*/exe")
    }

    /// The fact for a given process list: `true` with the matches as evidence, `false` if none match,
    /// `unknown` if the list is empty (no process could be read) or no names are configured.
    public static func evaluate(
        runningProcesses: [RunningProcess], names: [String] = defaultProcessNames, source: String = "process list"
    ) -> PostureObservation {
        guard !names.isEmpty else { return PostureObservation(.unknown(reason: "no endpoint-protection process names configured")) }
        guard !runningProcesses.isEmpty else {
            return PostureObservation(.unknown(reason: "no processes readable from \(source)"))
        }
        let matches = runningProcesses.compactMap { process in matchedName(process, names).map { (process, $0) } }
        guard matches.isEmpty else {
            let evidence = matches.map { process, name in
                PostureEvidence(source: source, detail: "pid \(process.pid) \(process.comm)\(process.exe.map { " (\($0))" } ?? "") matches \(name)")
            }
            return PostureObservation(.bool(true), evidence: evidence)
        }
        let detail = "\(runningProcesses.count) processes, none named \(names.joined(separator: ", "))"
        return PostureObservation(.bool(false), evidence: [.init(source: source, detail: detail)])
    }

    public static func matchedName(_ process: RunningProcess, _ names: [String]) -> String? {
        let exeName = process.exe.map { exe -> String in
            let trimmed = exe.hasSuffix(" (deleted)") ? String(exe.dropLast(" (deleted)".count)) : exe
            return String(trimmed.split(separator: "/").last ?? "")
        }
        return names.first { name in
            process.comm == String(decoding: name.utf8.prefix(15), as: UTF8.self) || exeName == name
        }
    }
}
