// SPDX-License-Identifier: Apache-2.0
// Deciding a kernel action (exec, open, connect) seen in the agent's process tree.

extension Policy {
    /// Decides one kernel action. The strongest enforcement among applicable deny rules wins
    /// (kill > deny > flag), then document order. Synchronous, no I/O.
    public func decide(
        _ action: KernelAction, identity: Identity, posture: [String: PostureFact] = [:],
        context: KernelContext = KernelContext()
    ) -> Decision {
        let subject = KernelSubject(action, context: context)
        var candidates: [Int] = []
        switch action {
        case .exec(let path, let argv):
            let name = basename(path)
            index.execCandidates(name, into: &candidates)
            if let first = argv.first {
                let firstName = basename(first)
                if firstName != name { index.execCandidates(firstName, into: &candidates) }
            }
            candidates.append(contentsOf: index.execWild)
        case .open:
            index.openCandidates(subject.path, into: &candidates)
        case .connect(_, _, let host):
            index.connectCandidates(address: subject.address, host: host.map(DomainPattern.normalise), into: &candidates)
        case .peer, .fifo:
            candidates.append(contentsOf: index.peerRules)
        }
        candidates.sort()
        var matched: [Int] = []
        var winner: Int?
        var firstAllow: Int?
        var previous = -1
        for index in candidates where index != previous {
            previous = index
            let rule = rules[index]
            guard subject.matches(rule.pattern), rule.applies(to: identity, posture: posture) else { continue }
            matched.append(index)
            if rule.action == .allow {
                if firstAllow == nil { firstAllow = index }
                continue
            }
            if kernelLifted(index, subject: subject, identity: identity, posture: posture) { continue }
            if let current = winner {
                let best = rules[current]
                if rule.enforcement > best.enforcement || (rule.enforcement == best.enforcement && rule.order < best.order) {
                    winner = index
                }
            } else {
                winner = index
            }
        }
        let ids = matched.map { rules[$0].id }
        if let winner {
            let rule = rules[winner]
            return Decision(
                action: .deny, enforcement: rule.enforcement, matchedRuleIDs: ids, winningRuleID: rule.id,
                reason: rule.describedReason, policyVersion: version, derived: rule.derivedFrom != nil)
        }
        if let firstAllow {
            let rule = rules[firstAllow]
            return Decision(
                action: .allow, matchedRuleIDs: ids, winningRuleID: rule.id,
                reason: rule.describedReason, policyVersion: version)
        }
        let enforcement = document.defaultKernel
        return Decision(
            action: enforcement == .none ? .allow : .deny, enforcement: enforcement, matchedRuleIDs: ids,
            reasonSource: .kernelDefault(kind: subject.kind, enforcement: enforcement),
            policyVersion: version)
    }

    /// A kernel exception lifts when it applies here; a tool-rule exception (for a derived rule) by scope and
    /// posture alone, since what it allows in Bash is what the derived rule would deny in the kernel.
    private func kernelLifted(
        _ ruleIndex: Int, subject: KernelSubject, identity: Identity, posture: [String: PostureFact]
    ) -> Bool {
        let rule = rules[ruleIndex]
        return liftedBy[ruleIndex].contains { index in
            let exception = rules[index]
            guard exception.applies(to: identity, posture: posture) else { return false }
            return exception.pattern.isKernel ? subject.matches(exception.pattern) : rule.derivedFrom != nil
        }
    }
}

/// A kernel action, normalised once for matching.
struct KernelSubject {
    let action: KernelAction
    let path: [Substring]
    let home: [Substring]
    let address: IPAddress?
    let modelAPIPort: UInt16?

    init(_ action: KernelAction, context: KernelContext) {
        self.action = action
        home = context.homeSegments
        modelAPIPort = context.modelAPIPort
        switch action {
        case .open(let path, _): self.path = pathSegments(path, relativeTo: [])
        case .connect(let address, _, _) where address.hasPrefix("/") || address.hasPrefix("@"):
            path = pathSegments(address, relativeTo: [])
        case .peer(let address, _) where address.hasPrefix("/") || address.hasPrefix("@"):
            path = pathSegments(address, relativeTo: [])
        case .fifo(let fifo): path = pathSegments(fifo, relativeTo: [])
        default: path = []
        }
        if case .connect(let address, _, _) = action { self.address = IPAddress(address) } else { address = nil }
    }

    var kind: String {
        switch action {
        case .exec: "exec"
        case .open: "open"
        case .connect: "connect"
        case .peer: "crossing of the session boundary"
        case .fifo: "FIFO open"
        }
    }

    func matches(_ pattern: RulePattern) -> Bool {
        switch (pattern, action) {
        case (.exec(let exec), .exec(let path, let argv)):
            return exec.matches(path: path, argv: argv)
        case (.open(let open), .open(_, let write)):
            // `~/` rules need a home: without one they can't match (kernel opens carry absolute paths).
            if open.path.anchor == .home, home.isEmpty { return false }
            return open.modeMatches(write: write) && open.path.matches(path, home: home, cwd: [], project: [])
        case (.connect(let connect), .connect(let address, let port, let host)):
            guard connect.portMatches(port) else { return false }
            switch connect.target {
            case .anyAddress: return self.address != nil
            case .network(let cidr): return self.address.map(cidr.contains) ?? false
            case .host(let domain): return host.map { domain.matches(DomainPattern.normalise($0)) } ?? false
            case .unixPath(let unix):
                return address.hasPrefix("/") && unix.matches(path, home: home, cwd: [], project: [])
            }
        case (.peer(let peer), .peer(let address, let port)):
            if address.hasPrefix("/") || address.hasPrefix("@") {
                // An AF_UNIX peer: `Peer(*)` and the `unix:` patterns.
                if peer.source.trimmingSpaces == "*" { return true }
                return peer.unixPath?.matches(path, home: home, cwd: [], project: []) ?? false
            }
            if peer.fifoPath != nil { return false }
            return peer.matches(port: port, modelAPIPort: modelAPIPort)
        case (.peer(let peer), .fifo):
            // Only `Peer(fifo:…)`: a FIFO's other end is not known at open (`Peer(*)` does not cover it).
            return peer.fifoPath?.matches(path, home: home, cwd: [], project: []) ?? false
        default:
            return false
        }
    }
}
