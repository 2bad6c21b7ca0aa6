// SPDX-License-Identifier: Apache-2.0
// What the sensor needs from the machine, checked up front so a failure names its cause, and a
// feature probe that says which BPF program types (and so which enforcement modes) this kernel allows.
internal import CVigilBPF
import Foundation
import Glibc

public enum Environment {
    /// - Throws: `SensorError` when not privileged or without kernel BTF.
    public static func checkPrerequisites() throws(SensorError) {
        if geteuid() != 0 && !hasCapability(bpf: 39) {
            throw SensorError(.notPrivileged, "vigil sensor: loading BPF programs needs root (or CAP_BPF + CAP_PERFMON); running as uid \(geteuid())")
        }
        if !FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux") {
            throw SensorError(
                .btfMissing,
                "vigil sensor: the kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing; CONFIG_DEBUG_INFO_BTF=y is required for the CO-RE programs)"
            )
        }
    }

    /// Whether the effective capability set holds capability number `bpf`.
    static func hasCapability(bpf bit: Int) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let mask = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return false }
        return mask & (1 << UInt64(bit)) != 0
    }

    /// Whether the current process may load BPF programs (root or CAP_BPF).
    public static var isPrivileged: Bool { geteuid() == 0 || hasCapability(bpf: 39) }

    public struct Features: Sendable, Hashable, Codable {
        public var btf: Bool
        public var tpBTF: ProbeResult
        public var fentry: ProbeResult
        public var lsm: ProbeResult
        public var cgroupSockAddr: ProbeResult
        /// The exec/open deny mechanism the enforcement layer will use on this kernel.
        public var enforcementMode: String {
            if lsm.available { return "bpf-lsm" }
            if cgroupSockAddr.available { return "cgroup-connect+fanotify+sigkill" }
            return "sigkill"
        }
    }

    public struct ProbeResult: Sendable, Hashable, Codable, CustomStringConvertible {
        public var available: Bool
        public var error: String?
        init(_ rc: Int32) {
            available = rc == 0
            error = rc == 0 ? nil : String(cString: strerror(-rc))
        }
        public var description: String { available ? "yes" : "no (\(error ?? "?"))" }
    }

    /// Loads one tiny program of each type, alone, and reports which work.
    public static func probeFeatures() -> Features {
        var f = vigil_bpf_features()
        vigil_bpf_probe_features(&f)
        return Features(
            btf: FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux"),
            tpBTF: ProbeResult(f.tp_btf), fentry: ProbeResult(f.fentry), lsm: ProbeResult(f.lsm),
            cgroupSockAddr: ProbeResult(f.cgroup_sock_addr))
    }
}
