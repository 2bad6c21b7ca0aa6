// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// The names of the posture facts. The policy engine matches on these raw strings; they are stable.

/// The name of one posture fact.
///
/// Raw values are the wire and policy names (`disk_encrypted`, `secure_boot`, …). They never change;
/// a retired fact keeps its case with a doc note rather than being reused.
public enum PostureKey: String, CaseIterable, Codable, CodingKeyRepresentable, Comparable, Hashable, Sendable {
    case diskEncrypted = "disk_encrypted"
    case secureBoot = "secure_boot"
    case firewallActive = "firewall_active"
    case edrRunning = "edr_running"
    case osPatchAgeDays = "os_patch_age_days"
    case kernelVersion = "kernel_version"
    case osRelease = "os_release"
    case screenLocked = "screen_locked"
    case kernelLockdown = "kernel_lockdown"
    case ioUringDisabled = "io_uring_disabled"
    case unprivilegedBPFDisabled = "unprivileged_bpf_disabled"
    case yamaPtraceScope = "yama_ptrace_scope"
    case ptraceRestricted = "ptrace_restricted"
    case vigilSensorAttached = "vigil_sensor_attached"
    case vigilEnforcementMode = "vigil_enforcement_mode"
    case vigilDrops = "vigil_drops"

    public static func < (lhs: PostureKey, rhs: PostureKey) -> Bool { lhs.rawValue < rhs.rawValue }
}
