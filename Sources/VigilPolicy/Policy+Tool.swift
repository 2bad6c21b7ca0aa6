// Deciding a tool call: deny > ask > allow > default, with `overrides:` exceptions lifting denies
// only where the exception covers every part the deny matched.

extension Policy {
    /// Decides one tool call for one person on one device. Synchronous, no I/O.
    public func decide(_ call: ToolCall, identity: Identity, posture: [String: PostureFact] = [:]) -> Decision {
        let evaluation = ToolEvaluation(call)
        let candidates = toolCandidates(evaluation)
        var matched: [Int] = []
        var deny: Int?
        var ask: Int?
        var firstAllow: Int?
        var covered: UInt64 = 0
        for index in candidates {
            let rule = rules[index]
            guard !rule.pattern.isKernel, rule.applies(to: identity, posture: posture) else { continue }
            if rule.action == .allow {
                let mask = evaluation.mask(rule, strict: false)
                guard mask != 0 else { continue }
                matched.append(index)
                covered |= mask
                if firstAllow == nil { firstAllow = index }
                continue
            }
            let mask = evaluation.mask(rule, strict: true)
            guard mask != 0 else { continue }
            matched.append(index)
            if lifted(index, mask: mask, evaluation: evaluation, identity: identity, posture: posture) { continue }
            if rule.action == .deny, deny == nil { deny = index }
            if rule.action == .ask, ask == nil { ask = index }
        }
        let ids = matched.map { rules[$0].id }
        if let winner = deny ?? ask {
            return decision(rules[winner].action, winner: winner, matched: ids)
        }
        let required = evaluation.required
        if let firstAllow, covered & required == required {
            return decision(.allow, winner: firstAllow, matched: ids)
        }
        var reason = "No Vigil policy rule allows this \(evaluation.name) call (default: \(document.defaultTool.rawValue))"
        if let bash = evaluation.bash, !bash.malformed,
           let part = bash.parts.indices.first(where: { required & ~covered & BashCall.bit($0) != 0 }) {
            reason = "No Vigil policy rule allows `\(bash.parts[part].display)` (default: \(document.defaultTool.rawValue))"
        }
        return Decision(action: document.defaultTool, matchedRuleIDs: ids, reason: reason, policyVersion: version)
    }

    private func decision(_ action: PolicyAction, winner: Int, matched: [String]) -> Decision {
        let rule = rules[winner]
        return Decision(action: action, matchedRuleIDs: matched, winningRuleID: rule.id,
                        reason: rule.describedReason, policyVersion: version)
    }

    /// An exception lifts a deny/ask when it applies here and, read as an allow, covers every part the deny hit.
    private func lifted(
        _ rule: Int, mask: UInt64, evaluation: ToolEvaluation, identity: Identity,
        posture: [String: PostureFact]
    ) -> Bool {
        liftedBy[rule].contains { index in
            let exception = rules[index]
            guard exception.applies(to: identity, posture: posture) else { return false }
            return evaluation.mask(exception, strict: false) & mask == mask
        }
    }

    /// Every rule that could match, in document order.
    private func toolCandidates(_ evaluation: ToolEvaluation) -> [Int] {
        var result: [Int] = []
        index.toolCandidates(evaluation.name, into: &result)
        if let bash = evaluation.bash {
            if bash.malformed || bash.parts.contains(where: \.analysis.opaque) {
                result.append(contentsOf: index.bashStrict)
            }
            for part in bash.parts {
                for view in part.analysis.views {
                    if let hits = index.bashByWord[view[0]] { result.append(contentsOf: hits) }
                    if view.count > 1, let hits = index.bashByWord[view[0] + " " + view[1]] {
                        result.append(contentsOf: hits)
                    }
                }
                for word in part.analysis.codeWords {
                    if let hits = index.bashByWord[word] { result.append(contentsOf: hits) }
                }
            }
            result.append(contentsOf: index.bashWild)
            for segments in evaluation.bashPathSegments { index.pathCandidates(segments, into: &result) }
            if bash.malformed { result.append(contentsOf: index.pathWild) }
        } else if let target = evaluation.target {
            index.pathCandidates(target, into: &result)
        } else if ToolEvaluation.readTools.contains(evaluation.name) || ToolEvaluation.editTools.contains(evaluation.name) {
            // No path to look up: path rules must still see the call (deny/ask fail closed).
            result.append(contentsOf: index.pathBySegment.values.joined())
            result.append(contentsOf: index.pathWild)
        }
        if evaluation.name == "WebFetch" {
            if let host = evaluation.host {
                index.domainCandidates(host, into: &result)
            } else {
                result.append(contentsOf: index.domainBySuffix.values.joined())
                result.append(contentsOf: index.domainWild)
            }
        }
        if result.count > 1 {
            result.sort()
            var unique = 0
            for position in result.indices where position == 0 || result[position] != result[unique - 1] {
                result[unique] = result[position]
                unique += 1
            }
            result.removeLast(result.count - unique)
        }
        return result
    }
}
