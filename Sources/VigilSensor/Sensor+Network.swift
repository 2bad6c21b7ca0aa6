// SPDX-License-Identifier: Apache-2.0
// Real denial of connects and sends: the cgroup connect4/6 and sendmsg4/6 hooks on a session's
// cgroup refuse denied destinations with EPERM before any packet leaves (io_uring connects pass
// through the same hooks). The rules live in an LPM trie keyed by session and address.
internal import CVigilBPF
import Foundation
import Glibc
import VigilCore

/// A network a session may not reach, on some ports.
public struct NetworkDenialSpec: Sendable, Hashable {
    /// 16 bytes, network order; IPv4 as `::ffff:a.b.c.d`.
    public var address: [UInt8]
    /// Prefix over the 128-bit form (IPv4 /24 is 120; everything is 0).
    public var prefixBits: Int
    /// nil: every port.
    public var ports: ClosedRange<UInt16>?

    public init(address: [UInt8], prefixBits: Int, ports: ClosedRange<UInt16>?) {
        self.address = address
        self.prefixBits = prefixBits
        self.ports = ports
    }

    func contains(_ other: NetworkDenialSpec) -> Bool {
        prefixBits <= other.prefixBits && Self.masked(other.address, prefixBits) == Self.masked(address, prefixBits)
    }

    static func masked(_ bytes: [UInt8], _ bits: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = max(0, min(8, bits - 8 * index))
            return keep == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xff << (8 - keep))
        }
    }
}

/// The hooks attached to one session's cgroup; detached when released.
public final class NetworkHooks: @unchecked Sendable {
    fileprivate let links: OpaquePointer
    fileprivate init(_ links: OpaquePointer) { self.links = links }
    deinit { vigil_cgroup_links_destroy(links) }
}

public enum NetworkRuleMerge {
    /// One trie entry per distinct network: its own port ranges plus those of every enclosing
    /// network (the trie answers with the longest prefix only). Ranges are merged and sorted.
    public static func entries(_ specs: [NetworkDenialSpec]) -> [(spec: NetworkDenialSpec, ranges: [ClosedRange<UInt16>])] {
        var networks: [NetworkDenialSpec] = []
        for spec in specs {
            let key = NetworkDenialSpec(address: NetworkDenialSpec.masked(spec.address, spec.prefixBits), prefixBits: spec.prefixBits, ports: nil)
            if !networks.contains(key) { networks.append(key) }
        }
        return networks.map { network in
            let ranges = specs.filter { $0.contains(network) }.map { $0.ports ?? 0...UInt16.max }
            return (network, merge(ranges))
        }
    }

    static func merge(_ ranges: [ClosedRange<UInt16>]) -> [ClosedRange<UInt16>] { PortRanges.merged(ranges) }
}

extension Sensor {
    /// Attaches the connect/sendmsg hooks to `cgroup`.
    /// - Throws: `SensorError(.loadFailed)` naming the program and errno.
    public func attachNetworkHooks(to cgroup: SessionCgroup) throws(SensorError) -> NetworkHooks {
        let fd = open(cgroup.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SensorError(.cgroupUnavailable, "vigil: cannot open cgroup \(cgroup.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var message = [CChar](repeating: 0, count: 512)
        guard let links = withHandle({ vigil_bpf_attach_cgroup($0, fd, &message, message.count) }) else {
            throw SensorError(.loadFailed, "vigil: " + String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return NetworkHooks(links)
    }

    /// Removes every network denial of `session` (at its end).
    public func clearNetworkDenials(session: SessionID) {
        _ = withHandle { vigil_bpf_clear_net_rules($0, session) }
    }

    /// Replaces the network denials of `session`.
    /// - Throws: `SensorError(.trackFailed)` if a rule cannot be stored (the previous rules are
    ///   then cleared too: the caller must fall back to user-space enforcement and say so).
    public func setNetworkDenials(_ specs: [NetworkDenialSpec], session: SessionID) throws(SensorError) {
        _ = withHandle { vigil_bpf_clear_net_rules($0, session) }
        for (network, ranges) in NetworkRuleMerge.entries(specs) {
            guard ranges.count <= Int(VIGIL_NET_RANGES) else {
                _ = withHandle { vigil_bpf_clear_net_rules($0, session) }
                throw SensorError(.trackFailed, "vigil: more than \(VIGIL_NET_RANGES) denied port ranges for one network")
            }
            var flat = ranges.flatMap { [$0.lowerBound, $0.upperBound] }
            let rc = network.address.withUnsafeBufferPointer { address in
                withHandle { vigil_bpf_set_net_rule($0, session, address.baseAddress!, UInt32(network.prefixBits), &flat, UInt32(ranges.count)) }
            }
            if rc != 0 {
                _ = withHandle { vigil_bpf_clear_net_rules($0, session) }
                throw SensorError(.trackFailed, "vigil: storing a network rule failed: \(String(cString: strerror(-rc)))")
            }
        }
    }
}

extension Sensor {
    /// Binary names `session` may not run: killed in the kernel at exec, before the new image
    /// runs (the backstop where fanotify could not mark the file).
    /// - Throws: `SensorError(.trackFailed)` naming the binary.
    public func setExecKills(_ names: [String], session: SessionID) throws(SensorError) {
        _ = withHandle { vigil_bpf_clear_exec_kills($0, session) }
        for name in names {
            let rc = withHandle { vigil_bpf_set_exec_kill($0, session, name) }
            if rc != 0 {
                throw SensorError(.trackFailed, "vigil: cannot store the exec rule for '\(name)': \(String(cString: strerror(-rc)))")
            }
        }
    }

    public func clearExecKills(session: SessionID) {
        _ = withHandle { vigil_bpf_clear_exec_kills($0, session) }
    }
}

extension Sensor {
    /// File names `session` may not open (the last path component): the opener is killed in the
    /// kernel before it returns to user space with the descriptor; a session root is flagged.
    /// - Throws: `SensorError(.trackFailed)` naming the file name.
    public func setOpenKills(_ names: [String], session: SessionID) throws(SensorError) {
        _ = withHandle { vigil_bpf_clear_open_kills($0, session) }
        for name in names {
            let rc = withHandle { vigil_bpf_set_open_kill($0, session, name) }
            if rc != 0 {
                throw SensorError(.trackFailed, "vigil: cannot store the open rule for '\(name)': \(String(cString: strerror(-rc)))")
            }
        }
    }

    public func clearOpenKills(session: SessionID) {
        _ = withHandle { vigil_bpf_clear_open_kills($0, session) }
    }

    /// Marks `pid` as a session root (the agent itself): never killed for an open, only flagged.
    public func setSessionRoot(_ pid: Int32, _ isRoot: Bool) {
        _ = withHandle { vigil_bpf_set_root($0, UInt32(pid), isRoot) }
    }
}

extension Sensor {
    /// The session boundary of `session`: a connect or datagram to a local socket created outside
    /// `cgroup` (and its descendants) is a crossing, recorded on the connect/send event with the
    /// socket's cgroup and inode; it is refused with EPERM when its port is in `deniedPorts`.
    /// - Throws: `SensorError(.trackFailed)` when the ranges do not fit or the map update fails.
    /// `unixAllowed`: nil leaves AF_UNIX crossings to user space; else every one but these exact paths is
    /// SIGKILLed at the connect's syscall exit (a session root is spared).
    public func setPeerBoundary(
        session: SessionID, cgroup: SessionCgroup, deniedPorts: [ClosedRange<UInt16>], unixAllowed: [String]? = nil
    ) throws(SensorError) {
        let ranges = NetworkRuleMerge.merge(deniedPorts)
        guard ranges.count <= Int(VIGIL_NET_RANGES) else {
            throw SensorError(.trackFailed, "vigil: more than \(VIGIL_NET_RANGES) denied peer port ranges (the allowed peers split them)")
        }
        var flat = ranges.flatMap { [$0.lowerBound, $0.upperBound] }
        // The allowed paths first: the rule that makes them matter comes after them.
        _ = withHandle { vigil_bpf_clear_peer_rule($0, session) }
        for path in unixAllowed ?? [] {
            let rc = withHandle { vigil_bpf_set_unix_allow($0, session, path) }
            if rc != 0 {
                throw SensorError(.trackFailed, "vigil: cannot store the allowed unix peer '\(path)': \(String(cString: strerror(-rc)))")
            }
        }
        let rc = withHandle {
            vigil_bpf_set_peer_rule($0, session, cgroup.id, cgroup.level, &flat, UInt32(ranges.count), unixAllowed == nil ? 0 : 1)
        }
        if rc != 0 {
            throw SensorError(.trackFailed, "vigil: storing the session boundary failed: \(String(cString: strerror(-rc)))")
        }
    }

    /// Removes the session boundary of `session` (at its end).
    public func clearPeerBoundary(session: SessionID) {
        _ = withHandle { vigil_bpf_clear_peer_rule($0, session) }
    }
}
