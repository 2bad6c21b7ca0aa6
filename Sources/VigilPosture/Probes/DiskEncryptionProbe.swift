// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// disk_encrypted: are the filesystems holding `/` and home on dm-crypt (LUKS, plain, BitLocker, …)?

import Foundation

/// Decides `disk_encrypted` from the mount table and sysfs.
///
/// For each configured path it finds the holding mount in `/proc/self/mountinfo` (else `/proc/mounts`),
/// then its block device at `/sys/dev/block/MAJ:MIN` (or from the mount source for filesystems with
/// anonymous device numbers such as btrfs), and walks down the device-mapper stack through `slaves/`.
/// A device is encrypted if its `dm/uuid` starts with `CRYPT-`, or if it has slaves and every one is
/// encrypted. A leaf without a crypt layer is plain. eCryptfs mounts count as encrypted.
/// `true` only if every path is encrypted; `false` if any is plain; otherwise `unknown`.
public struct DiskEncryptionProbe: Sendable {
    public var root: PostureRoot
    /// Absolute paths whose filesystems must be encrypted.
    public var paths: [String]

    public init(root: PostureRoot, paths: [String]) {
        self.root = root
        self.paths = paths
    }

    enum Verdict: Equatable {
        case encrypted
        case plain(String)
        case unknown(String)
    }

    public func observe() -> PostureObservation {
        var evidence: [PostureEvidence] = []
        let table: MountTable
        do throws(PostureReadError) {
            table = MountTable(mountinfo: try root.readText("/proc/self/mountinfo"))
            evidence.append(.init(source: "/proc/self/mountinfo", detail: "\(table.entries.count) mounts"))
        } catch {
            do throws(PostureReadError) {
                table = MountTable(procMounts: try root.readText("/proc/mounts"))
                evidence.append(.init(source: "/proc/mounts", detail: "\(table.entries.count) mounts (\(error))"))
            } catch let fallbackError {
                return PostureObservation(.unknown(reason: "cannot read mount table: \(error); \(fallbackError)"))
            }
        }
        var byMountPoint: [String: Verdict] = [:]
        var verdicts: [Verdict] = []
        for path in paths {
            guard let mount = table.mount(containing: path) else {
                verdicts.append(.unknown("no mount contains \(path)"))
                continue
            }
            if let known = byMountPoint[mount.mountPoint] {
                evidence.append(.init(source: path, detail: "same filesystem as already checked (\(mount.mountPoint))"))
                verdicts.append(known)
                continue
            }
            let device = mount.device.map { " dev \($0)" } ?? ""
            evidence.append(
                .init(
                    source: path, detail: "mounted at \(mount.mountPoint): \(mount.fsType) on \(mount.source)\(device)"))
            let verdict = check(mount, &evidence)
            byMountPoint[mount.mountPoint] = verdict
            verdicts.append(verdict)
        }
        return PostureObservation(Self.combine(verdicts), evidence: evidence)
    }

    static func combine(_ verdicts: [Verdict]) -> PostureFact {
        if verdicts.isEmpty { return .unknown(reason: "no paths configured") }
        var reasons: [String] = []
        for verdict in verdicts {
            switch verdict {
            case .encrypted: continue
            case .plain: return .bool(false)
            case .unknown(let reason): reasons.append(reason)
            }
        }
        return reasons.isEmpty ? .bool(true) : .unknown(reason: reasons.joined(separator: "; "))
    }

    private func check(_ mount: MountEntry, _ evidence: inout [PostureEvidence]) -> Verdict {
        if mount.fsType == "ecryptfs" {
            evidence.append(.init(source: mount.mountPoint, detail: "eCryptfs: file-level encryption"))
            return .encrypted
        }
        if let device = mount.device, device.major != 0, root.exists("/sys/dev/block/\(device)") {
            return walk("/sys/dev/block/\(device)", depth: 0, &evidence)
        }
        guard mount.source.hasPrefix("/dev/"), let name = blockName(ofSource: mount.source) else {
            return .unknown("\(mount.mountPoint) is \(mount.fsType) on \(mount.source): no block device to inspect")
        }
        return walk("/sys/class/block/\(name)", depth: 0, &evidence)
    }

    private func walk(_ node: String, depth: Int, _ evidence: inout [PostureEvidence]) -> Verdict {
        guard depth < 16 else { return .unknown("device stack deeper than 16 at \(node)") }
        guard root.exists(node) else { return .unknown("\(node) missing (sysfs not mounted, or device gone)") }
        let name = deviceName(node)
        var uuid: String?
        do throws(PostureReadError) {
            uuid = try root.readLine(node + "/dm/uuid")
        } catch  where error.isNotFound {
            uuid = nil
        } catch {
            return .unknown("\(name): \(error)")
        }
        if let uuid, uuid.hasPrefix("CRYPT-") {
            evidence.append(.init(source: node + "/dm/uuid", detail: "\(name): \(uuid) → dm-crypt"))
            return .encrypted
        }
        let slaves: [String]
        do throws(PostureReadError) {
            slaves = try root.list(node + "/slaves")
        } catch  where error.isNotFound {
            slaves = []
        } catch {
            return .unknown("\(name): \(error)")
        }
        let kind = uuid.map { "device-mapper \($0.isEmpty ? "(no uuid)" : $0)" } ?? "not device-mapper"
        guard !slaves.isEmpty else {
            evidence.append(.init(source: node, detail: "\(name): \(kind), no slaves, no crypt layer → plain"))
            return .plain(name)
        }
        evidence.append(.init(source: node + "/slaves", detail: "\(name): \(kind) over \(slaves.joined(separator: ", "))"))
        let below = slaves.map { walk("/sys/class/block/\($0)", depth: depth + 1, &evidence) }
        if let plain = below.first(where: { if case .plain = $0 { true } else { false } }) { return plain }
        if let unknown = below.first(where: { if case .unknown = $0 { true } else { false } }) { return unknown }
        return .encrypted
    }

    /// `DEVNAME` from the node's uevent, else the link target's last component, else the path's.
    private func deviceName(_ node: String) -> String {
        if let uevent = try? root.readText(node + "/uevent"),
            let line = uevent.split(separator: "\n").first(where: { $0.hasPrefix("DEVNAME=") })
        {
            return String(line.dropFirst("DEVNAME=".count))
        }
        let target = (try? root.readLink(node)) ?? node
        return String(target.split(separator: "/").last ?? Substring(target))
    }

    /// The kernel block device name behind a `/dev/…` mount source.
    private func blockName(ofSource source: String) -> String? {
        if source.hasPrefix("/dev/mapper/") {
            let mapped = String(source.dropFirst("/dev/mapper/".count))
            let candidates = (try? root.list("/sys/class/block")) ?? []
            return candidates.first { (try? root.readLine("/sys/class/block/\($0)/dm/name")) == mapped }
        }
        if let target = try? root.readLink(source) { return target.split(separator: "/").last.map(String.init) }
        return source.split(separator: "/").last.map(String.init)
    }
}
