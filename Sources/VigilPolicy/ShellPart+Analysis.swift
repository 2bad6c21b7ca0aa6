// SPDX-License-Identifier: Apache-2.0
// Seeing through wrappers: the command lines a deny rule must be checked against, and the one text an
// allow rule may match (Claude Code's narrower view).

/// One view of a simple command: a run of its part's words starting at a command word, the command word
/// possibly replaced by its basename (`/usr/bin/curl x` is also seen as `curl x`). Kept as a range over the
/// part's words, so analysing a command builds no word lists.
struct CommandView: Sendable {
    /// The words of the part (`ShellPart.words`) this view covers.
    var range: Range<Int>
    /// The command word's basename when it replaces the command word as written; nil: as written.
    var name: String?

    var count: Int { range.count }

    /// Word `offset` of the view (0: the command word).
    @inline(__always)
    func word(_ offset: Int, in words: [ShellWord]) -> String {
        if offset == 0, let name { return name }
        return words[range.lowerBound + offset].text
    }

    /// The view's words as a list (for messages; the hot path reads them in place).
    func words(in words: [ShellWord]) -> [String] {
        var result: [String] = []
        result.reserveCapacity(range.count)
        for offset in 0..<range.count { result.append(word(offset, in: words)) }
        return result
    }

    /// The view's words joined by single spaces: what deny patterns are matched against.
    func text(in words: [ShellWord]) -> String {
        if range.count == 1 { return word(0, in: words) }
        return builtString(words: self.words(in: words))
    }
}

/// A command's views in order: the first held inline (most commands have exactly one), the others in a list.
struct CommandViews: RandomAccessCollection, Sendable {
    private var head: CommandView?
    private var rest: [CommandView] = []

    var startIndex: Int { 0 }
    var endIndex: Int { head == nil ? 0 : rest.count + 1 }

    subscript(position: Int) -> CommandView {
        position == 0 ? head! : rest[position - 1]
    }

    mutating func append(_ view: CommandView) {
        if head == nil { head = view } else { rest.append(view) }
    }
}

/// What one simple command could run, as far as static analysis can tell.
struct CommandAnalysis: Sendable {
    /// Views of the command's words, each starting at a command word: the command as written, then through
    /// each wrapper.
    var views = CommandViews()
    /// The command word can't be known (`$cmd x`, `… | bash`, `eval "$X"`): every deny rule applies.
    var opaque = false
    /// Shell code run by this command (`bash -c CODE`, `eval …`, `su -c CODE`), to be parsed as nested parts.
    var code: [String] = []
    /// Words found in interpreter one-liners (`python3 -c '…'`), matched against deny rules' command names.
    var codeWords: [String] = []
}

extension ShellPart {
    func isAssignment(_ word: ShellWord) -> Bool {
        let raw = source[word.raw]
        guard let equals = raw.firstIndex(of: UInt8(ascii: "=")), equals > raw.startIndex else { return false }
        let name = raw[raw.startIndex..<equals]
        let trimmed = name.last == UInt8(ascii: "+") ? name.dropLast() : name
        guard let first = trimmed.first, !(48...57).contains(first) else { return false }
        return trimmed.allSatisfy { ShellParser.isNameByte($0) }
    }

    func analyze() -> CommandAnalysis {
        var result = CommandAnalysis()
        var pending: [(words: [ShellWord], offset: Int)] = []
        analyze(words: words, offset: 0, into: &result, pending: &pending)
        while let next = pending.popLast() {
            analyze(words: next.words, offset: next.offset, into: &result, pending: &pending)
        }
        return result
    }

    /// `all` is `self.words[offset..<offset + all.count]`; views are recorded as ranges of `self.words`.
    private func analyze(
        words all: [ShellWord], offset first: Int, into result: inout CommandAnalysis,
        pending: inout [(words: [ShellWord], offset: Int)]
    ) {
        var words = all
        var offset = first
        while true {
            let start = commandIndex(in: words)
            guard start < words.count else { return }
            if start > 0 {
                words = Array(words[start...])
                offset += start
            }
            let command = words[0]
            if command.dynamic {
                result.opaque = true
                return
            }
            let range = offset..<(offset + words.count)
            result.views.append(CommandView(range: range, name: nil))
            let name = basename(command.text)
            if name != command.text {
                result.views.append(CommandView(range: range, name: name))
            }
            guard let kind = Wrappers.kind(of: name) else { return }
            switch kind {
            case .twoWord(let runners):
                guard words.count > 2, runners.contains(words[1].text) else { return }
                words = Array(words[2...])
                offset += 2
                continue
            case .command:
                if words.count > 1, words[1].text == "-v" || words[1].text == "-V" { return }
                guard let inner = Wrappers.table["command"]!.commandStart(in: words, after: 1) else { return }
                words = Array(words[inner...])
                offset += inner
                continue
            case .wrapper(let syntax):
                if name == "env", let split = splitString(words) { result.code.append(split) }
                if name == "flock", let code = optionValue(words, ["-c", "--command"]) { result.code.append(code.text) }
                guard let inner = syntax.commandStart(in: words, after: 1) else { return }
                words = Array(words[inner...])
                offset += inner
                continue
            case .shell:
                shell(words, into: &result)
            case .eval:
                let code = words.dropFirst()
                if code.contains(where: \.dynamic) { result.opaque = true }
                result.code.append(code.map(\.text).joined(separator: " "))
            case .remote:
                remote(name, words, into: &result)
            case .interpreter(let flags):
                interpreter(words, flags: flags, into: &result)
            case .find:
                for (start, end) in findExecCommands(words) {
                    pending.append((Array(words[start..<end]), offset + start))
                }
            }
            return
        }
    }

    private func commandIndex(in words: [ShellWord]) -> Int {
        var index = 0
        while index < words.count, isAssignment(words[index]) { index += 1 }
        return index
    }

    /// `bash [opts] -c CODE`: CODE is parsed. `bash` reading a pipe or file: unknowable. `bash <<< CODE`: parsed.
    private func shell(_ words: [ShellWord], into result: inout CommandAnalysis) {
        var index = 1
        var runsString = false
        while index < words.count, words[index].text.hasPrefix("-") || words[index].text.hasPrefix("+") {
            let option = words[index].text
            if option == "--" { index += 1; break }
            if !option.hasPrefix("--"), option.dropFirst().contains("c") { runsString = true }
            index += (option == "-o" || option == "+o" || option == "-O" || option == "+O") ? 2 : 1
        }
        if runsString {
            guard index < words.count else { return }
            if words[index].dynamic { result.opaque = true }
            result.code.append(words[index].text)
            return
        }
        if index < words.count { return }  // `bash script.sh`: the script's contents are the kernel layer's job
        for redirect in redirects where redirect.kind == .hereText {
            if let text = redirect.text { result.code.append(text) }
        }
        if pipedInput || redirects.contains(where: { $0.kind == .read }) { result.opaque = true }
    }

    private func remote(_ name: String, _ words: [ShellWord], into result: inout CommandAnalysis) {
        if name == "su" || name == "runuser" {
            if let code = optionValue(words, ["-c", "--command"]) {
                if code.dynamic { result.opaque = true }
                result.code.append(code.text)
            }
            return
        }
        let syntax =
            name == "ssh"
            ? WrapperSyntax(short: "bcDEeFIiJLlmOopQRSWw", operands: 1)
            : name == "watch"
                ? WrapperSyntax(short: "nqd", long: ["interval", "differences"])
                : WrapperSyntax(short: "cEIOBT", long: ["command"])
        if name == "script", let code = optionValue(words, ["-c", "--command"]) {
            result.code.append(code.text)
            return
        }
        guard let start = syntax.commandStart(in: words, after: 1) else { return }
        let rest = words[start...]
        if rest.contains(where: \.dynamic) { result.opaque = true }
        result.code.append(rest.map(\.text).joined(separator: " "))
    }

    private func interpreter(_ words: [ShellWord], flags: Set<String>, into result: inout CommandAnalysis) {
        var sources: [ShellWord] = []
        if flags.isEmpty {
            // awk-like: the first operand is the program.
            if let first = words.dropFirst().first(where: { !$0.text.hasPrefix("-") }) { sources.append(first) }
        }
        for (index, word) in words.enumerated() where flags.contains(word.text) && index + 1 < words.count {
            sources.append(words[index + 1])
        }
        for source in sources {
            if source.dynamic { result.opaque = true }
            result.codeWords.append(contentsOf: ShellPart.codeWords(source.text))
        }
        for redirect in redirects where redirect.kind == .hereText {
            result.codeWords.append(contentsOf: ShellPart.codeWords(redirect.text ?? ""))
        }
    }

    /// `find … -exec CMD … ;` (and `fd -x CMD`): each action's words, up to `;` or `+`.
    private func findExecCommands(_ words: [ShellWord]) -> [(start: Int, end: Int)] {
        var commands: [(start: Int, end: Int)] = []
        var index = 1
        while index < words.count {
            if Wrappers.findExec.contains(words[index].text) {
                var end = index + 1
                while end < words.count, words[end].text != ";", words[end].text != "+" { end += 1 }
                if end > index + 1 { commands.append((index + 1, end)) }
                index = end
            }
            index += 1
        }
        return commands
    }

    private func optionValue(_ words: [ShellWord], _ names: Set<String>) -> ShellWord? {
        for (index, word) in words.enumerated() {
            if names.contains(word.text), index + 1 < words.count { return words[index + 1] }
            for name in names where name.hasPrefix("--") && word.text.hasPrefix(name + "=") {
                var value = word
                value.text = String(word.text.dropFirst(name.count + 1))
                return value
            }
        }
        return nil
    }

    private func splitString(_ words: [ShellWord]) -> String? {
        optionValue(words, ["-S", "--split-string"])?.text
    }

    /// Identifier-like runs in interpreter code: `os.system("mytool x")` yields `os`, `system`, `mytool`, `x`.
    static func codeWords(_ code: String) -> [String] {
        var words: [String] = []
        var code = code
        // Each word is a run of ASCII name bytes of the code: made into its String straight from the run.
        code.withUTF8 { bytes in
            var start = -1
            for cursor in 0..<bytes.count {
                let byte = bytes[cursor]
                if ShellParser.isNameByte(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "/")
                {
                    if start < 0 { start = cursor }
                } else if start >= 0 {
                    let run = UnsafeBufferPointer(rebasing: bytes[start..<cursor])
                    words.append(basename(String(decoding: run, as: UTF8.self)))
                    start = -1
                }
            }
            if start >= 0 {
                words.append(basename(String(decoding: UnsafeBufferPointer(rebasing: bytes[start...]), as: UTF8.self)))
            }
        }
        return words
    }
}

/// The last path component: `/usr/bin/curl` → `curl`.
func basename(_ path: String) -> String {
    var contiguous = path
    let slash: Int? = contiguous.withUTF8 { bytes in
        var cursor = bytes.count - 1
        while cursor >= 0 {
            if bytes[cursor] == UInt8(ascii: "/") { return cursor }
            cursor -= 1
        }
        return nil
    }
    guard let slash else { return path }
    let utf8 = path.utf8
    guard slash + 1 < utf8.count else { return path }
    return String(path[utf8.index(utf8.startIndex, offsetBy: slash + 1)...])
}

/// `words.joined(separator: " ")`, built from bytes.
func joinedWords(_ words: [String]) -> String {
    guard words.count > 1 else { return words.first ?? "" }
    return builtString(words: words)
}
