// SPDX-License-Identifier: Apache-2.0
// Kernel rules decide tool calls too: a tool call whose own work is a kernel action a rule denies
// (Read/Edit/Write/NotebookEdit of a path an `Open(…)` rule protects, WebFetch of an address or host a
// `Connect(…)` rule refuses) is denied at PreToolUse with that rule's reason, so the model is told why
// instead of meeting an EPERM — and a session root that the kernel only flags never gets to try.
import VigilJSON

extension Policy {
    /// The kernel actions `call` performs by itself: the file a file tool opens (under every name in
    /// `aliases(path)`, e.g. its resolved real path), the address WebFetch connects to. Empty for other tools.
    public static func kernelEffects(of call: ToolCall, aliases: (String) -> [String] = { [$0] }) -> [KernelAction] {
        let evaluation = ToolEvaluation(call)
        switch evaluation.name {
        case "Read", "NotebookRead", "Edit", "Write", "MultiEdit", "NotebookEdit":
            guard let target = evaluation.target else { return [] }
            let write = evaluation.family == .edit
            let path = "/" + target.joined(separator: "/")
            var seen: Set<String> = []
            return ([path] + aliases(path)).compactMap { name in
                seen.insert(name).inserted ? .open(path: name, write: write) : nil
            }
        case "WebFetch":
            guard let url = call.input["url"]?.stringValue, let host = evaluation.host else { return [] }
            let port = urlPort(url) ?? (url.utf8.starts(with: "http://".utf8) || url.utf8.starts(with: "HTTP://".utf8) ? 80 : 443)
            let literal = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
            return IPAddress(literal) != nil
                ? [.connect(address: literal, port: port, host: nil)]
                : [.connect(address: "", port: port, host: host)]
        default:
            return []
        }
    }

    /// The first of `effects` a kernel deny rule refuses (deny, kill or flag alike: the tool call is
    /// stopped before anything happens), as a tool-call deny naming that rule; nil when none is refused.
    public func decideKernelEffects(
        _ effects: [KernelAction], identity: Identity, posture: [String: PostureFact] = [:], context: KernelContext
    ) -> Decision? {
        for effect in effects {
            let decision = decide(effect, identity: identity, posture: posture, context: context)
            guard decision.action == .deny, let rule = decision.winningRuleID else { continue }
            let what: String
            switch effect {
            case .open(let path, let write): what = "\(write ? "writing" : "reading") \(path)"
            case .connect(let address, let port, let host): what = "a connection to \(host ?? address):\(port)"
            case .exec(let path, _): what = "running \(path)"
            case .peer(let address, let port): what = "reaching a process outside the session at \(address):\(port)"
            case .fifo(let path): what = "opening the FIFO \(path)"
            }
            return Decision(
                action: .deny, enforcement: decision.enforcement, matchedRuleIDs: decision.matchedRuleIDs,
                winningRuleID: rule, reason: "\(decision.reason) (kernel rule \(rule) refuses \(what))",
                policyVersion: decision.policyVersion, derived: decision.derived)
        }
        return nil
    }
}

/// The explicit port of an http(s) URL, if any.
func urlPort(_ url: String) -> UInt16? {
    let bytes = Array(url.utf8)
    guard
        let schemeEnd = bytes.indices.first(where: {
            $0 + 2 < bytes.count && bytes[$0] == UInt8(ascii: ":") && bytes[$0 + 1] == UInt8(ascii: "/") && bytes[$0 + 2] == UInt8(ascii: "/")
        })
    else { return nil }
    let rest = Substring(String(decoding: bytes[(schemeEnd + 3)...], as: UTF8.self))
    let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    let hostPort = authority.split(separator: "@").last ?? authority[...]
    if hostPort.hasPrefix("[") {
        guard let close = hostPort.firstIndex(of: "]") else { return nil }
        let after = hostPort[hostPort.index(after: close)...]
        return after.hasPrefix(":") ? UInt16(after.dropFirst()) : nil
    }
    guard let colon = hostPort.lastIndex(of: ":") else { return nil }
    return UInt16(hostPort[hostPort.index(after: colon)...])
}
