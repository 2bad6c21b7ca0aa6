// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// kernel_lockdown, io_uring_disabled, unprivileged_bpf_disabled, yama_ptrace_scope, ptrace_restricted.

import Foundation

/// Reads the kernel hardening knobs.
///
/// - `kernel_lockdown` (string `none` / `integrity` / `confidentiality`): the bracketed word of
///   `/sys/kernel/security/lockdown`. Without it: `unknown` — securityfs not mounted, or the lockdown
///   LSM not built in (the reason says which, from whether `/sys/kernel/security` has entries).
/// - `io_uring_disabled` (0 allowed, 1 only for `io_uring_group`, 2 disabled): `/proc/sys/kernel/io_uring_disabled`
///   (absent before Linux 6.6).
/// - `unprivileged_bpf_disabled` (0 allowed, 1 disabled until reboot, 2 disabled but changeable):
///   `/proc/sys/kernel/unprivileged_bpf_disabled`.
/// - `yama_ptrace_scope` (0 classic … 3 no attach): `/proc/sys/kernel/yama/ptrace_scope` (absent without Yama).
/// - `ptrace_restricted` (bool): whether Yama restricts ptrace — false when ptrace_scope is absent
///   (no Yama: any process may attach to any other of its user, such as the shell that started the
///   agent) or 0 (classic); true for 1–3. Unknown when the scope is unreadable.
/// Unreadable or non-numeric → `unknown` with the reason.
public struct KernelHardeningProbe: Sendable {
    public var root: PostureRoot

    public init(root: PostureRoot) { self.root = root }

    public func observe() -> [PostureKey: PostureObservation] {
        let scope = integer(Self.ptraceScopePath, absent: "Yama LSM not enabled in this kernel")
        return [
            .kernelLockdown: lockdown(),
            .ioUringDisabled: integer("/proc/sys/kernel/io_uring_disabled", absent: "kernel older than 6.6 or without io_uring"),
            .unprivilegedBPFDisabled: integer("/proc/sys/kernel/unprivileged_bpf_disabled", absent: "kernel without BPF syscall"),
            .yamaPtraceScope: scope,
            .ptraceRestricted: ptraceRestricted(scope),
        ]
    }

    static let ptraceScopePath = "/proc/sys/kernel/yama/ptrace_scope"

    private func ptraceRestricted(_ scope: PostureObservation) -> PostureObservation {
        switch scope.fact {
        case .int(let value):
            return PostureObservation(.bool(value > 0), evidence: scope.evidence)
        default:
            // Absent means no Yama: nothing restricts ptrace beyond the same-uid check. Any other
            // failure (unreadable) leaves it unknown.
            guard root.exists(Self.ptraceScopePath) == false, root.exists("/proc/sys/kernel") else {
                return PostureObservation(.unknown(reason: scope.fact.reason ?? "\(Self.ptraceScopePath) unreadable"))
            }
            return PostureObservation(
                .bool(false), evidence: [.init(source: Self.ptraceScopePath, detail: "absent: no Yama LSM, ptrace unrestricted")])
        }
    }

    private func lockdown() -> PostureObservation {
        let path = "/sys/kernel/security/lockdown"
        do throws(PostureReadError) {
            let line = try root.readLine(path)
            guard let mode = Self.selectedLockdownMode(line) else {
                return PostureObservation(
                    .unknown(reason: "\(path): no [selected] mode in \"\(line)\""),
                    evidence: [.init(source: path, detail: line)])
            }
            return PostureObservation(.string(mode), evidence: [.init(source: path, detail: line)])
        } catch  where error.isNotFound {
            let entries = (try? root.list("/sys/kernel/security")) ?? []
            let reason =
                entries.isEmpty
                ? "\(path) absent: securityfs not mounted at /sys/kernel/security"
                : "\(path) absent: lockdown LSM not built into this kernel (securityfs has \(entries.count) entries)"
            return PostureObservation(.unknown(reason: reason))
        } catch {
            return PostureObservation(.unknown(reason: "\(error)"))
        }
    }

    /// `"none [integrity] confidentiality"` → `"integrity"`.
    public static func selectedLockdownMode(_ line: String) -> String? {
        line.split(separator: " ").first { $0.hasPrefix("[") && $0.hasSuffix("]") && $0.count > 2 }
            .map { String($0.dropFirst().dropLast()) }
    }

    private func integer(_ path: String, absent: String) -> PostureObservation {
        do throws(PostureReadError) {
            let line = try root.readLine(path)
            guard let value = Int(line) else {
                return PostureObservation(.unknown(reason: "\(path): not an integer: \"\(line)\""), evidence: [.init(source: path, detail: line)])
            }
            return PostureObservation(.int(value), evidence: [.init(source: path, detail: line)])
        } catch  where error.isNotFound {
            return PostureObservation(.unknown(reason: "\(path) absent: \(absent)"))
        } catch {
            return PostureObservation(.unknown(reason: "\(error)"))
        }
    }
}
