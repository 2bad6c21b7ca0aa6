// SPDX-License-Identifier: Apache-2.0
// One Bash tool call, analysed once per decision: every simple command it may run, how each looks to a
// deny rule and to an allow rule, and the paths it names.

struct BashCall: Sendable {
    struct Part: Sendable {
        /// The simple command as parsed; the allow view and the paths are derived from it when a rule asks.
        var shell: ShellPart
        var analysis: CommandAnalysis
        /// A top-level part: an allow must cover it. Parts inside `$(…)` or `bash -c` only meet denies.
        var needsAllow: Bool
        /// Effect-free (`true`, `echo hi`, `pwd`), or a `cd` (checked against the working directory).
        var neutral: Bool
        var cdTarget: String?
        /// The innermost command writes the files it names (`rm`, `cp`, `sed`, …).
        var writes: Bool

        /// Claude Code's allow view; nil when it would ask anyway.
        var allowText: String? { needsAllow ? shell.allowText() : nil }

        /// Paths named as arguments or redirections, and whether the command may write them.
        var paths: [(path: String, write: Bool)] {
            var paths: [(path: String, write: Bool)] = []
            forEachPath { paths.append(($0, $1)) }
            return paths
        }

        /// `paths`, one at a time, without building the list.
        @inline(__always)
        func forEachPath(_ body: (String, Bool) -> Void) {
            var sawCommand = false
            for word in shell.words where !word.dynamic {
                if !sawCommand {
                    sawCommand = !shell.isAssignment(word)
                    continue
                }
                if word.text.isEmpty || startsWithDash(word.text) { continue }
                body(word.text, writes)
            }
            for redirect in shell.redirects {
                guard let target = redirect.target, !target.dynamic else { continue }
                if redirect.kind == .read { body(target.text, false) }
                if redirect.kind == .write, !target.text.hasPrefix("/dev/") { body(target.text, true) }
            }
        }

        /// The command as words, for messages.
        var display: String { analysis.views.first.map { $0.text(in: shell.words) } ?? "" }
    }

    /// More simple commands than this, or deeper nesting: too complex, every deny applies.
    static let maxParts = 63
    static let maxCodeDepth = 6

    var parts: [Part] = []
    var malformed = false

    static let writeCommands: Set<String> = [
        "rm", "mv", "cp", "touch", "tee", "truncate", "dd", "install", "ln",
        "chmod", "chown", "mkdir", "rmdir", "shred", "unlink", "sed", "rsync",
    ]
    static let neutralCommands: Set<String> = ["true", "false", ":", "pwd", "echo", "printf"]

    init(command: String) {
        // Breadth first: the command's parts, then those of each piece of code they run, in the order found.
        // The queue holds code still to parse; most commands run none, and an empty queue allocates nothing.
        var parsed = ShellParser.parse(command)
        var depth = 0
        var queue: [(code: String, depth: Int)] = []
        var first = true
        var next = 0
        parts.reserveCapacity(parsed.parts.count)
        while true {
            if parsed.malformed { malformed = true }
            for shellPart in parsed.parts {
                let analysis = shellPart.analyze()
                for code in analysis.code {
                    if depth + 1 > BashCall.maxCodeDepth {
                        malformed = true
                    } else {
                        queue.append((code, depth + 1))
                    }
                }
                parts.append(BashCall.part(shellPart, analysis, topLevel: first && !shellPart.nested))
            }
            first = false
            guard next < queue.count else { break }
            parsed = ShellParser.parse(queue[next].code)
            depth = queue[next].depth
            next += 1
        }
        if parts.count > BashCall.maxParts { malformed = true }
    }

    private static func part(_ shell: consuming ShellPart, _ analysis: consuming CommandAnalysis, topLevel: Bool)
        -> Part
    {
        let innermost = analysis.views.last.map { basename($0.word(0, in: shell.words)) } ?? ""
        // One trait lookup serves both questions when the command word is the innermost one (most commands).
        let innermostTraits = Wrappers.traits(innermost)
        let writes = Wrappers.has(.writes, traits: innermostTraits, innermost, set: writeCommands)
        var neutral = false
        var cdTarget: String?
        if topLevel, let first = analysis.views.first, let start = shell.allowStart() {
            let command = first.word(0, in: shell.words)
            let commandTraits = command == innermost ? innermostTraits : Wrappers.traits(command)
            neutral =
                Wrappers.has(.neutral, traits: commandTraits, command, set: neutralCommands)
                && shell.redirects.allSatisfy { $0.kind == .duplicate }
            if command == "cd", first.count <= 2, !containsDollar(shell.rawText(from: start)) {
                cdTarget = first.count == 2 ? first.word(1, in: shell.words) : "~"
            }
        }
        return Part(
            shell: shell, analysis: analysis, needsAllow: topLevel, neutral: neutral, cdTarget: cdTarget,
            writes: writes)
    }

    static func bit(_ index: Int) -> UInt64 {
        index < 64 ? (1 << UInt64(index)) : 0
    }
}

/// `text.contains("$")`, answered from the bytes when there is no `$` byte at all (then no Character can be
/// `$`); otherwise by the Character-level search itself.
@inline(__always)
func containsDollar(_ text: String) -> Bool {
    guard text.utf8.contains(UInt8(ascii: "$")) else { return false }
    return text.contains("$")
}

/// `text.hasPrefix("-")`, by bytes: only `-` starts a string whose first Character is `-`, and an ASCII byte
/// after it can't join it into another Character; anything else asks the Character-level check.
@inline(__always)
func startsWithDash(_ text: String) -> Bool {
    let utf8 = text.utf8
    guard let first = utf8.first, first == UInt8(ascii: "-") else { return false }
    let second = utf8.index(after: utf8.startIndex)
    if second == utf8.endIndex || utf8[second] < 0x80 { return true }
    return text.hasPrefix("-")
}
