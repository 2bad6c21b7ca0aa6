// SPDX-License-Identifier: Apache-2.0
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
        // The reason's pieces; the message is joined only if someone reads `reason`.
        let reason: Decision.ReasonSource
        if let bash = evaluation.bash, !bash.malformed,
            let part = bash.parts.indices.first(where: { required & ~covered & BashCall.bit($0) != 0 })
        {
            reason = .bashDefault(
                words: bash.parts[part].shell.words, view: bash.parts[part].analysis.views.first,
                action: document.defaultTool)
        } else {
            reason = .toolDefault(tool: evaluation.name, action: document.defaultTool)
        }
        return Decision(
            action: document.defaultTool, matchedRuleIDs: ids, reasonSource: reason,
            policyVersion: version)
    }

    private func decision(_ action: PolicyAction, winner: Int, matched: [String]) -> Decision {
        let rule = rules[winner]
        return Decision(
            action: action, matchedRuleIDs: matched, winningRuleID: rule.id,
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
            let opaque = bash.parts.withUnsafeBufferPointer { parts in
                parts.indices.contains { parts[$0].analysis.opaque }
            }
            if bash.malformed || opaque {
                result.append(contentsOf: index.bashStrict)
            }
            // Parts are read in place: copying one retains each of its lists.
            bash.parts.withUnsafeBufferPointer { parts in
                for part in parts.indices {
                    let words = parts[part].shell.words
                    for view in parts[part].analysis.views {
                        let command = view.word(0, in: words)
                        index.bashWord(command, into: &result)
                        if view.count > 1 { index.bashWords(command, view.word(1, in: words), into: &result) }
                    }
                    for word in parts[part].analysis.codeWords { index.bashWord(word, into: &result) }
                }
            }
            if !index.bashWild.isEmpty { result.append(contentsOf: index.bashWild) }
            evaluation.bashPathCandidates(index, into: &result)
            if bash.malformed { result.append(contentsOf: index.pathWild) }
        } else if let target = evaluation.target {
            index.pathCandidates(target, into: &result)
        } else if evaluation.family == .read || evaluation.family == .edit {
            // No path to look up: path rules must still see the call (deny/ask fail closed).
            result.append(contentsOf: index.pathTable.allValues)
            result.append(contentsOf: index.pathWild)
        }
        if evaluation.name == "WebFetch" {
            if let host = evaluation.host {
                index.domainCandidates(host, into: &result)
            } else {
                result.append(contentsOf: index.domainTable.allValues)
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

/// `prefix + words.joined(separator: " ") + suffix…`, built from bytes in one String allocation. Swift's
/// `String.append` checks grapheme and normalisation boundaries at every join, which costs more than the
/// bytes here; every piece is a whole String, so the bytes are valid UTF-8 and decode to exactly the
/// concatenation.
func builtString(
    prefix: String = "", words: [String], suffix: String = "", _ suffix2: String = "",
    _ suffix3: String = ""
) -> String {
    var total =
        prefix.utf8.count + suffix.utf8.count + suffix2.utf8.count + suffix3.utf8.count
        + max(words.count - 1, 0)
    for word in words { total += word.utf8.count }
    if total == 0 { return "" }
    return String(unsafeUninitializedCapacity: total) { buffer in
        var position = put(prefix, into: buffer, at: 0)
        for (index, word) in words.enumerated() {
            if index > 0 {
                buffer[position] = UInt8(ascii: " ")
                position += 1
            }
            position = put(word, into: buffer, at: position)
        }
        position = put(suffix, into: buffer, at: position)
        position = put(suffix2, into: buffer, at: position)
        return put(suffix3, into: buffer, at: position)
    }
}

@inline(__always)
private func put(_ piece: String, into buffer: UnsafeMutableBufferPointer<UInt8>, at position: Int) -> Int {
    var piece = piece
    return piece.withUTF8 { bytes in
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return position }
        (buffer.baseAddress! + position).update(from: source, count: bytes.count)
        return position + bytes.count
    }
}
