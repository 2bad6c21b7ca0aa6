// One Bash tool call, analysed once per decision: every simple command it may run, how each looks to a
// deny rule and to an allow rule, and the paths it names.

struct BashCall: Sendable {
    struct Part: Sendable {
        var analysis: CommandAnalysis
        /// Claude Code's allow view; nil when it would ask anyway.
        var allowText: String?
        /// A top-level part: an allow must cover it. Parts inside `$(…)` or `bash -c` only meet denies.
        var needsAllow: Bool
        /// Effect-free (`true`, `echo hi`, `pwd`), or a `cd` (checked against the working directory).
        var neutral: Bool
        var cdTarget: String?
        /// Paths named as arguments or redirections, and whether the command may write them.
        var paths: [(path: String, write: Bool)]

        /// The command as words, for messages.
        var display: String { analysis.texts.first ?? "" }
    }

    /// More simple commands than this, or deeper nesting: too complex, every deny applies.
    static let maxParts = 63
    static let maxCodeDepth = 6

    var parts: [Part] = []
    var malformed = false

    static let writeCommands: Set<String> = ["rm", "mv", "cp", "touch", "tee", "truncate", "dd", "install", "ln",
                                             "chmod", "chown", "mkdir", "rmdir", "shred", "unlink", "sed", "rsync"]
    static let neutralCommands: Set<String> = ["true", "false", ":", "pwd", "echo", "printf"]

    init(command: String) {
        var queue: [(ParsedShell, Int)] = [(ShellParser.parse(command), 0)]
        var first = true
        while !queue.isEmpty {
            let (parsed, depth) = queue.removeFirst()
            if parsed.malformed { malformed = true }
            for shellPart in parsed.parts {
                let analysis = shellPart.analyze()
                for code in analysis.code {
                    if depth + 1 > BashCall.maxCodeDepth { malformed = true } else {
                        queue.append((ShellParser.parse(code), depth + 1))
                    }
                }
                parts.append(BashCall.part(shellPart, analysis, topLevel: first && !shellPart.nested))
            }
            first = false
        }
        if parts.count > BashCall.maxParts { malformed = true }
    }

    private static func part(_ shell: ShellPart, _ analysis: CommandAnalysis, topLevel: Bool) -> Part {
        var paths: [(String, Bool)] = []
        let innermost = analysis.views.last.map { basename($0[0]) } ?? ""
        let writes = writeCommands.contains(innermost)
        var sawCommand = false
        for word in shell.words where !word.dynamic {
            if !sawCommand {
                sawCommand = !shell.isAssignment(word)
                continue
            }
            if word.text.hasPrefix("-") || word.text.isEmpty { continue }
            paths.append((word.text, writes))
        }
        for redirect in shell.redirects {
            guard let target = redirect.target, !target.dynamic else { continue }
            if redirect.kind == .read { paths.append((target.text, false)) }
            if redirect.kind == .write, !target.text.hasPrefix("/dev/") { paths.append((target.text, true)) }
        }
        let allowText = topLevel ? shell.allowText() : nil
        var neutral = false
        var cdTarget: String?
        if let allowText, let first = analysis.views.first {
            neutral = neutralCommands.contains(first[0]) && shell.redirects.allSatisfy { $0.kind == .duplicate }
            if first[0] == "cd", first.count <= 2, !allowText.contains("$") { cdTarget = first.count == 2 ? first[1] : "~" }
        }
        return Part(analysis: analysis, allowText: allowText, needsAllow: topLevel, neutral: neutral,
                    cdTarget: cdTarget, paths: paths)
    }

    static func bit(_ index: Int) -> UInt64 {
        index < 64 ? (1 << UInt64(index)) : 0
    }
}
