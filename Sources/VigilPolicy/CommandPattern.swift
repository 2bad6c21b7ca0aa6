// SPDX-License-Identifier: Apache-2.0
// `Bash(…)` specifiers as Claude Code reads them: `*` matches anything (spaces included), a trailing
// ` *` also matches nothing at all (`npm *` matches `npm`), and legacy `prefix:*` means `prefix *`.

struct CommandPattern: Sendable, Hashable {
    let source: String
    private let glob: Glob
    /// For patterns ending in ` *`: the part before it, which matches on its own too.
    private let bare: Glob?
    /// The literal command word, when the first word has no wildcard: the index key.
    let commandWord: String?
    /// The pattern is `WORD` or `WORD *`: it names a command regardless of arguments.
    let namesCommandOnly: Bool
    /// The arguments part (after the first word and a space), for deriving an exec rule.
    let argumentsPattern: String?
    /// The literal first one or two words (`git push` for `git push *`): the index key.
    let indexKey: String?

    init(_ specifier: String) throws(PatternError) {
        var text = specifier
        if text.hasSuffix(":*") { text = String(text.dropLast(2)) + " *" }
        guard !text.isEmpty else { throw PatternError("empty Bash pattern") }
        source = specifier
        glob = Glob(text, sets: false)
        bare = text.hasSuffix(" *") && text.count > 2 ? Glob(String(text.dropLast(2)), sets: false) : nil
        let first = text.prefix { $0 != " " }
        commandWord = first.contains("*") || first.isEmpty ? nil : String(first)
        let rest = text.dropFirst(first.count)
        namesCommandOnly = commandWord != nil && (rest.isEmpty || rest == " *")
        argumentsPattern = rest.hasPrefix(" ") ? String(rest.dropFirst()) : nil
        let second = rest.dropFirst().prefix { $0 != " " }
        if let word = commandWord, rest.hasPrefix(" "), !second.isEmpty, !second.contains("*") {
            indexKey = word + " " + second
        } else {
            indexKey = commandWord
        }
    }

    func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { buffer in
            glob.matches(bytes: buffer) || (bare?.matches(bytes: buffer) ?? false)
        }
    }

    /// Matches the words of a deny view, normalised to single spaces.
    func matches(words: [String]) -> Bool {
        matches(words.joined(separator: " "))
    }
}
