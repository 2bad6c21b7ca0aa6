// SPDX-License-Identifier: Apache-2.0
// The narrow view allow rules get, as in Claude Code: only known-safe prefixes and wrappers are stripped,
// so an allow never reaches further than it does there.

extension ShellPart {
    /// The text an allow rule is matched against, or nil when Claude Code asks regardless of allow rules
    /// (`$(…)`/backticks, an unknown `VAR=` prefix, a write redirect to a file).
    func allowText() -> String? {
        allowStart().map(rawText)
    }

    /// Where the allow view starts (the word after the stripped prefixes), or nil when there is none.
    func allowStart() -> Int? {
        guard !hasSubstitution else { return nil }
        guard !redirects.contains(where: { isWriteTarget($0) }) else { return nil }
        var index = 0
        while index < words.count, isAssignment(words[index]) {
            let text = words[index].text
            let name = text.prefix { $0 != "=" && $0 != "+" }
            guard Wrappers.has(.safeVariable, String(name), set: Wrappers.safeVariables) else { return nil }
            index += 1
        }
        while index < words.count {
            let name = words[index].text
            if Wrappers.has(.allowStripped, name, set: Wrappers.allowStripped), let syntax = Wrappers.table[name],
                let inner = syntax.commandStart(in: words, after: index + 1)
            {
                if name == "command", words[index + 1].text == "-v" || words[index + 1].text == "-V" { break }
                index = inner
                continue
            }
            // Bare `xargs CMD` is stripped; with flags it is matched as written.
            if name == "xargs", index + 1 < words.count, !words[index + 1].text.hasPrefix("-") {
                index += 1
                continue
            }
            break
        }
        guard index < words.count else { return nil }
        return index
    }

    /// Files written by `>`, `>>`, `&>`; `/dev/null` and friends don't count.
    var writeTargets: [ShellWord] {
        redirects.compactMap { isWriteTarget($0) ? $0.target : nil }
    }

    private func isWriteTarget(_ redirect: ShellRedirect) -> Bool {
        guard redirect.kind == .write, let target = redirect.target else { return false }
        switch target.text {
        case "/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty": return false
        default: return true
        }
    }

    /// The source text of words `start…`, keeping original spacing (Claude Code's `deploy  prod` doesn't
    /// match `deploy prod`) but dropping redirections in between.
    func rawText(from start: Int) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(source.count)
        for index in start..<words.count {
            if index > start {
                let gap = source[words[index - 1].raw.upperBound..<words[index].raw.lowerBound]
                if gap.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) {
                    bytes.append(contentsOf: gap)
                } else {
                    bytes.append(UInt8(ascii: " "))
                }
            }
            bytes.append(contentsOf: source[words[index].raw])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
