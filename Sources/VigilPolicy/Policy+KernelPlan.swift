// SPDX-License-Identifier: Apache-2.0
// What of a policy the kernel can enforce by itself for one person on one device right now:
// network denials compiled into the sensor's cgroup-hook map, and the exec/open rules the
// fanotify guard marks. Everything else is decided per event in user space (flag or kill).
import VigilCore

/// The kernel's share of a policy for one identity and posture.
public struct KernelPlan: Sendable, Hashable {
    /// A deny of connects/sends to a network (and port range), enforced with EPERM by the
    /// cgroup connect/sendmsg hooks.
    public struct NetworkDenial: Sendable, Hashable {
        public var ruleID: String
        /// The network over the 128-bit form (IPv4 as `::ffff:a.b.c.d`), 16 bytes, network order.
        public var address: [UInt8]
        /// Prefix length over the 128-bit form (an IPv4 /8 is 104; `*` is 0).
        public var prefixBits: Int
        /// nil: every port.
        public var ports: ClosedRange<UInt16>?
        public var enforcement: KernelEnforcement
    }

    /// An `Exec(…)`/`Open(…)` deny rule, as written (or derived), for the exec/open guard. What the
    /// kernel holds by itself is read off the compiled pattern here, once, so that the marks, the
    /// in-kernel name checks and `Policy.decide` give the rule one meaning.
    public struct PathDenial: Sendable, Hashable {
        public var ruleID: String
        /// `Exec(curl)`, `Open(~/.aws/**)`, `Open(/etc/shadow, write)`.
        public var rule: String
        public var enforcement: KernelEnforcement
        public var isExec: Bool
        /// The plain file name the kernel can match by itself (the last path component of an open, the
        /// binary name of an exec): `Open(**/.env)` and `Open(.env)` → `.env`, `Exec(nc)` → `nc`. nil when
        /// the rule has a directory, a wildcard, a mode or arguments.
        public var inKernelName: String?
    }

    /// A `Peer(…)` deny rule (kernel: deny or kill) and the ports its applicable `Peer(…)` exceptions
    /// (`overrides:`) allow: crossings of the session boundary to those ports are refused with EPERM
    /// by the cgroup connect/sendmsg hooks, less the allowed ones.
    public struct PeerDenial: Sendable, Hashable {
        public var ruleID: String
        /// nil: every port.
        public var ports: ClosedRange<UInt16>?
        /// Exceptions that lift it here, with their ports (nil: every port).
        public var allowed: [PeerAllowance]
    }

    public struct PeerAllowance: Sendable, Hashable {
        public var ruleID: String
        /// nil: every port (or, with `modelAPI`, the model API's port only).
        public var ports: ClosedRange<UInt16>?
        /// `Peer(model-api)`: the session's model API port, known per session.
        public var modelAPI: Bool = false
    }

    public var network: [NetworkDenial] = []
    public var paths: [PathDenial] = []
    /// The session boundary's deny rules. Empty: crossings are recorded, none refused in the kernel.
    public var peers: [PeerDenial] = []
    /// AF_UNIX: the exact paths a `Peer(*)` deny (kernel: deny or kill) leaves reachable, when the kernel
    /// can hold it (every exception a literal absolute path); nil: AF_UNIX crossings are decided in user space.
    public var unixAllowed: [String]?
    /// Deny rules the kernel cannot hold by itself, with why: decided per event in user space.
    public var userSpace: [(ruleID: String, reason: String)] = []

    public static func == (a: KernelPlan, b: KernelPlan) -> Bool {
        a.network == b.network && a.paths == b.paths && a.peers == b.peers && a.unixAllowed == b.unixAllowed
            && a.userSpace.map { "\($0.ruleID)\u{0}\($0.reason)" } == b.userSpace.map { "\($0.ruleID)\u{0}\($0.reason)" }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(network)
        hasher.combine(paths)
        hasher.combine(peers)
    }

    /// The ports on which a crossing is refused in the kernel: each denial's ports less its exceptions'
    /// (`Peer(model-api)` is `modelAPIPort`, or nothing), and less `alsoAllowing` (vigild's own hook
    /// endpoint, which every session must reach).
    public func deniedPeerPorts(alsoAllowing: [UInt16] = [], modelAPIPort: UInt16? = nil) -> [ClosedRange<UInt16>] {
        var denied: [ClosedRange<UInt16>] = []
        for denial in peers {
            let allowed =
                denial.allowed.compactMap { allowance -> ClosedRange<UInt16>? in
                    allowance.modelAPI ? modelAPIPort.map { $0...$0 } : allowance.ports ?? 0...UInt16.max
                } + alsoAllowing.map { $0...$0 }
            denied += KernelPlan.subtract(allowed, from: denial.ports ?? 0...UInt16.max)
        }
        return KernelPlan.merged(denied)
    }

    static func subtract(_ holes: [ClosedRange<UInt16>], from range: ClosedRange<UInt16>) -> [ClosedRange<UInt16>] {
        var pieces = [range]
        for hole in holes {
            pieces = pieces.flatMap { piece -> [ClosedRange<UInt16>] in
                guard hole.overlaps(piece) else { return [piece] }
                var rest: [ClosedRange<UInt16>] = []
                if hole.lowerBound > piece.lowerBound { rest.append(piece.lowerBound...(hole.lowerBound - 1)) }
                if hole.upperBound < piece.upperBound { rest.append((hole.upperBound + 1)...piece.upperBound) }
                return rest
            }
        }
        return pieces
    }

    static func merged(_ ranges: [ClosedRange<UInt16>]) -> [ClosedRange<UInt16>] { PortRanges.merged(ranges) }
}

extension KernelPlan {
    /// A name the BPF maps can hold (their key is 48 bytes with the NUL).
    static func kernelMatchable(_ name: String) -> String? {
        !name.isEmpty && name.utf8.count < 48 && !name.contains("/") ? name : nil
    }
}

extension Policy {
    /// Whether one path segment or file name matches one glob of a rule, with the policy's own
    /// wildcard semantics: what the fanotify mark planner uses to find the files a rule names.
    public static func segmentMatches(_ pattern: String, _ name: String) -> Bool {
        Glob(pattern).matches(name)
    }

    /// The deny rules on kernel actions (written and derived) that apply to `identity` under
    /// `posture`, split by the mechanism that can hold them.
    public func kernelPlan(identity: Identity, posture: [String: PostureFact] = [:]) -> KernelPlan {
        var plan = KernelPlan()
        for (index, rule) in rules.enumerated() where rule.action == .deny && rule.enforcement >= .deny {
            guard rule.pattern.isKernel, rule.applies(to: identity, posture: posture) else { continue }
            if case .peer(let peer) = rule.pattern {
                if peer.fifoPath != nil {
                    plan.userSpace.append((rule.id, "\(rule.match): FIFO opens are decided per event, after the open (the opener is killed)"))
                } else if peer.source.trimmingSpaces == "*" || !peer.coversIP {
                    plan.userSpace.append(
                        (
                            rule.id,
                            "\(rule.match): AF_UNIX peers are held in the kernel (killed at the connect's return) only when every exception is an exact path; else decided per event"
                        ))
                }
                if peer.source.trimmingSpaces == "*" {
                    var literal: [String]? = []
                    for exception in liftedBy[index] {
                        let lifting = rules[exception]
                        guard case .peer(let allow) = lifting.pattern, allow.unixPath != nil,
                            lifting.applies(to: identity, posture: posture)
                        else { continue }
                        let path = String(allow.source.trimmingSpaces.dropFirst(5))
                        if path.hasPrefix("/"), !path.contains(where: { "*?[".contains($0) }) {
                            literal?.append(path)
                        } else {
                            literal = nil  // a glob or an abstract name: the kernel cannot match it
                            break
                        }
                    }
                    if let literal { plan.unixAllowed = (plan.unixAllowed ?? []) + literal } else { plan.unixAllowed = nil }
                }
                guard peer.coversIP else { continue }
                // The boundary's exceptions are held in the kernel too: they only ever subtract ports.
                let allowed = liftedBy[index].compactMap { exception -> KernelPlan.PeerAllowance? in
                    let lifting = rules[exception]
                    guard case .peer(let allow) = lifting.pattern, allow.coversIP,
                        lifting.applies(to: identity, posture: posture)
                    else { return nil }
                    return .init(ruleID: lifting.id, ports: allow.ports, modelAPI: allow.modelAPI)
                }
                plan.peers.append(.init(ruleID: rule.id, ports: peer.ports, allowed: allowed))
                continue
            }
            if !liftedBy[index].isEmpty {
                plan.userSpace.append((rule.id, "\(rule.match) has exceptions (overrides): decided per event"))
                continue
            }
            switch rule.pattern {
            case .connect(let connect):
                switch connect.target {
                case .anyAddress:
                    plan.network.append(
                        .init(
                            ruleID: rule.id, address: [UInt8](repeating: 0, count: 16), prefixBits: 0,
                            ports: connect.ports, enforcement: rule.enforcement))
                case .network(let cidr):
                    plan.network.append(
                        .init(
                            ruleID: rule.id, address: cidr.network.bytes, prefixBits: cidr.bits,
                            ports: connect.ports, enforcement: rule.enforcement))
                case .host:
                    plan.userSpace.append((rule.id, "\(rule.match) names a host, not an address: decided per event"))
                case .unixPath:
                    plan.userSpace.append((rule.id, "\(rule.match) is an AF_UNIX path: decided per event"))
                }
            case .exec(let exec):
                let name = !exec.matchesPath && exec.arguments == nil ? exec.binary.literal.map { String(decoding: $0, as: UTF8.self) } : nil
                plan.paths.append(
                    .init(
                        ruleID: rule.id, rule: rule.match, enforcement: rule.enforcement, isExec: true,
                        inKernelName: name.flatMap(KernelPlan.kernelMatchable)))
            case .open(let open):
                plan.paths.append(
                    .init(
                        ruleID: rule.id, rule: rule.match, enforcement: rule.enforcement, isExec: false,
                        inKernelName: open.mode == .any ? open.path.anywhereName.flatMap(KernelPlan.kernelMatchable) : nil))
            default:
                continue
            }
        }
        return plan
    }
}

extension IPAddress {
    /// The 128-bit form, network order.
    var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }
}
