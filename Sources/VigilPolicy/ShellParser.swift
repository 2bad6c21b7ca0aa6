// SPDX-License-Identifier: Apache-2.0
// A small POSIX/Bash lexer: enough to find every simple command, never enough to run one.
// It errs towards seeing more commands (a heredoc body that expands `$(…)`, a process substitution)
// because deny rules are checked against every part it finds.

struct ShellParser {
    private let bytes: [UInt8]
    private let nested: Bool
    private var index = 0
    private(set) var parts: [ShellPart] = []
    private(set) var malformed = false

    private var current = ShellPart()
    private var word: [UInt8] = []
    private var wordStart = -1
    /// A run of plain input bytes that belongs at the end of `word`, not yet copied (`pendingStart` < 0: none).
    /// A word that is one plain run (most are) becomes its String straight from the input.
    private var pendingStart = -1
    private var pendingEnd = -1
    private var wordDynamic = false
    private var pipeNext = false
    private var pendingHeredocs: [(id: Int, delimiter: [UInt8], stripTabs: Bool, expands: Bool)] = []
    private var heredocCount = 0
    /// A redirect waiting for its target word.
    private var pendingRedirect: ShellRedirect?
    private var pendingHeredocStripTabs: Bool?

    /// Nesting limit: deeper commands are treated as malformed (fail closed) rather than recursing forever.
    static let maxDepth = 16
    private let depth: Int

    static func parse(_ command: String) -> ParsedShell {
        var parser = ShellParser(bytes: Array(command.utf8), nested: false, depth: 0)
        parser.run()
        return ParsedShell(parts: parser.parts, malformed: parser.malformed)
    }

    init(bytes: [UInt8], nested: Bool, depth: Int) {
        self.bytes = bytes
        self.nested = nested
        self.depth = depth
        current.source = bytes
        current.nested = nested
    }

    /// Parses `text` as a nested command and adds its parts (from `$(…)`, `bash -c`, `eval`, …).
    mutating func absorbNested(_ text: [UInt8]) {
        guard depth < ShellParser.maxDepth else {
            malformed = true
            return
        }
        var inner = ShellParser(bytes: text, nested: true, depth: depth + 1)
        inner.run()
        parts.append(contentsOf: inner.parts)
        if inner.malformed { malformed = true }
    }

    mutating func run() {
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                finishWord()
                index += 1
            case UInt8(ascii: "\n"):
                finishWord()
                endPart()
                index += 1
                readHeredocBodies()
            case UInt8(ascii: "#") where wordStart < 0:
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: ";"), UInt8(ascii: "|"), UInt8(ascii: "&"):
                readOperator()
            case UInt8(ascii: "("), UInt8(ascii: ")"):
                finishWord()
                endPart()
                index += 1
            case UInt8(ascii: "<"), UInt8(ascii: ">"):
                readRedirect()
            default:
                readWordByte()
            }
        }
        finishWord()
        endPart()
        if pendingRedirect != nil || !pendingHeredocs.isEmpty { malformed = true }
    }

    // MARK: operators and parts

    private mutating func readOperator() {
        let byte = bytes[index]
        let next = index + 1 < bytes.count ? bytes[index + 1] : 0
        if byte == UInt8(ascii: "&"), next == UInt8(ascii: ">") {
            readRedirect()
            return
        }
        finishWord()
        if byte == UInt8(ascii: "|"), next != UInt8(ascii: "|") { pipeNext = true }
        endPart()
        index += (next == byte || (byte == UInt8(ascii: "|") && next == UInt8(ascii: "&"))) ? 2 : 1
    }

    private mutating func endPart() {
        if pendingRedirect != nil { return }  // `cmd >` then newline: the target is still to come (malformed at end)
        var part = current
        current = ShellPart()
        current.source = bytes
        current.nested = nested
        stripKeywords(&part)
        if !part.words.isEmpty || !part.redirects.isEmpty {
            if parts.capacity == 0 { parts.reserveCapacity(4) }
            parts.append(part)
        }
        if pipeNext {
            current.pipedInput = true
            pipeNext = false
        }
    }

    /// Drops reserved words at the front (`if`, `then`, `!`, `{`, …) and headers whose words are data (`for x in …`).
    private static let leadingKeywords: Set<String> = [
        "if", "then", "else", "elif", "while", "until", "do", "!", "{",
        "}", "fi", "done", "esac", "coproc", "function", "[[", "]]",
    ]

    private func stripKeywords(_ part: inout ShellPart) {
        while let first = part.words.first, !first.dynamic, ShellParser.isLeadingKeyword(first.text),
            part.source[first.raw.lowerBound] != UInt8(ascii: "'"),
            part.source[first.raw.lowerBound] != UInt8(ascii: "\"")
        {
            part.words.removeFirst()
        }
        if let first = part.words.first, let byte = first.text.utf8.first,
            byte == UInt8(ascii: "f") || byte == UInt8(ascii: "s") || byte == UInt8(ascii: "c") || byte == UInt8(ascii: "i")
        {
            let count = first.text.utf8.count
            if count == 2 || count == 3 || count == 4 || count == 6 {
                switch first.text {
                case "for", "select", "case", "in": part.words.removeAll()
                default: break
                }
            }
        }
    }

    /// `leadingKeywords.contains`, without hashing every part's first word.
    private static func isLeadingKeyword(_ text: String) -> Bool {
        // Every keyword starts with one of these bytes: most command words are out after one comparison.
        switch text.utf8.first {
        case UInt8(ascii: "i"), UInt8(ascii: "t"), UInt8(ascii: "e"), UInt8(ascii: "w"), UInt8(ascii: "u"),
            UInt8(ascii: "d"), UInt8(ascii: "!"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "f"),
            UInt8(ascii: "c"), UInt8(ascii: "["), UInt8(ascii: "]"):
            break
        default:
            return false
        }
        // Then by length, so a command word is compared with at most the few keywords as long as it.
        switch text.utf8.count {
        case 1:
            return text == "!" || text == "{" || text == "}"
        case 2:
            return text == "if" || text == "fi" || text == "do" || text == "[[" || text == "]]"
        case 4:
            return text == "then" || text == "else" || text == "elif" || text == "done" || text == "esac"
        case 5:
            return text == "while" || text == "until"
        case 6:
            return text == "coproc"
        case 8:
            return text == "function"
        default:
            return false
        }
    }

    // MARK: words

    mutating func startWord() {
        if wordStart < 0 { wordStart = index }
    }

    private mutating func finishWord() {
        guard wordStart >= 0 else { return }
        let text: String
        if word.isEmpty, pendingStart >= 0 {
            text = String(decoding: bytes[pendingStart..<pendingEnd], as: UTF8.self)
            pendingStart = -1
        } else {
            flushPending()
            text = String(decoding: word, as: UTF8.self)
        }
        let finished = ShellWord(text: text, raw: wordStart..<index, dynamic: wordDynamic)
        word.removeAll(keepingCapacity: true)
        wordStart = -1
        wordDynamic = false
        if var redirect = pendingRedirect {
            pendingRedirect = nil
            if redirect.kind == .hereText, let stripTabs = pendingHeredocStripTabs {
                pendingHeredocStripTabs = nil
                let raw = bytes[finished.raw]
                let quoted =
                    raw.contains(UInt8(ascii: "'")) || raw.contains(UInt8(ascii: "\""))
                    || raw.contains(UInt8(ascii: "\\"))
                heredocCount += 1
                redirect.heredocID = heredocCount
                current.redirects.append(redirect)
                pendingHeredocs.append((heredocCount, Array(finished.text.utf8), stripTabs, !quoted))
                return
            }
            if redirect.kind == .hereText {
                redirect.text = finished.text
            } else if redirect.kind != .duplicate {
                redirect.target = finished
            }
            current.redirects.append(redirect)
            return
        }
        if current.words.capacity == 0 { current.words.reserveCapacity(8) }
        current.words.append(finished)
    }

    /// Copies the pending plain run into `word`: before anything else is appended or `word` is read.
    private mutating func flushPending() {
        guard pendingStart >= 0 else { return }
        let input = bytes
        let (start, end) = (pendingStart, pendingEnd)
        input.withUnsafeBufferPointer { word.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<end])) }
        pendingStart = -1
    }

    private mutating func readWordByte() {
        let byte = bytes[index]
        startWord()
        if ShellParser.isPlain(byte) || byte == UInt8(ascii: "#") {
            // A run of bytes with no meaning to the shell: kept as a range while it is all the word has.
            let input = bytes
            let start = index
            let end = input.withUnsafeBufferPointer { buffer in
                var end = start + 1
                while end < buffer.count, ShellParser.isPlain(buffer[end]) { end += 1 }
                return end
            }
            if word.isEmpty, pendingStart < 0 {
                pendingStart = start
                pendingEnd = end
            } else {
                flushPending()
                input.withUnsafeBufferPointer { word.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<end])) }
            }
            index = end
            return
        }
        flushPending()
        switch byte {
        case UInt8(ascii: "'"):
            guard let close = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "'")) else {
                malformed = true
                index = bytes.count
                return
            }
            word.append(contentsOf: bytes[(index + 1)..<close])
            index = close + 1
        case UInt8(ascii: "\""):
            readDoubleQuoted()
        case UInt8(ascii: "\\"):
            if index + 1 < bytes.count {
                if bytes[index + 1] != UInt8(ascii: "\n") { word.append(bytes[index + 1]) }
                index += 2
            } else {
                index += 1
            }
        case UInt8(ascii: "$"):
            readDollar(inQuotes: false)
        case UInt8(ascii: "`"):
            readBackticks()
        case UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["):
            wordDynamic = true  // pathname expansion: `/usr/bin/cur?` runs curl
            word.append(byte)
            index += 1
        case UInt8(ascii: "{"):
            if braceExpands(from: index) { wordDynamic = true }
            word.append(byte)
            index += 1
        default:
            word.append(byte)
            index += 1
        }
    }

    /// Bytes that are literal inside a word: neither blanks, operators, quotes, expansions nor glob/brace starts.
    @inline(__always)
    static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: ";"),
            UInt8(ascii: "|"), UInt8(ascii: "&"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"),
            UInt8(ascii: ">"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "$"),
            UInt8(ascii: "`"), UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "{"),
            UInt8(ascii: "#"):
            return false
        default:
            return true
        }
    }

    /// `{a,b}` and `{1..3}` expand into several words: `{mytool,x}` runs `mytool x`.
    private func braceExpands(from start: Int) -> Bool {
        var cursor = start + 1
        var sawComma = false
        while cursor < bytes.count {
            switch bytes[cursor] {
            case UInt8(ascii: "}"): return sawComma
            case UInt8(ascii: ","): sawComma = true
            case UInt8(ascii: "."):
                if cursor + 1 < bytes.count, bytes[cursor + 1] == UInt8(ascii: ".") { sawComma = true }
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: ";"): return false
            default: break
            }
            cursor += 1
        }
        return false
    }

    // MARK: accessors for the substitution/redirect extension

    var position: Int {
        get { index }
        set { index = newValue }
    }
    var input: [UInt8] { bytes }
    mutating func appendToWord(_ byte: UInt8) {
        flushPending()
        word.append(byte)
    }
    mutating func appendToWord(_ bytes: some Sequence<UInt8>) {
        flushPending()
        word.append(contentsOf: bytes)
    }
    mutating func markDynamic() { wordDynamic = true }
    mutating func markSubstitution() { current.hasSubstitution = true }
    mutating func markMalformed() { malformed = true }
    mutating func flushWord() { finishWord() }
    mutating func beginRedirect(_ redirect: ShellRedirect, heredocStripTabs: Bool?) {
        pendingRedirect = redirect
        pendingHeredocStripTabs = heredocStripTabs
    }
    var heredocs: [(id: Int, delimiter: [UInt8], stripTabs: Bool, expands: Bool)] {
        get { pendingHeredocs }
        set { pendingHeredocs = newValue }
    }
    /// Attaches a heredoc body to its redirect; `substitutes` marks the part as running nested commands.
    mutating func setHeredocText(id: Int, text: String, substitutes: Bool) {
        for partIndex in parts.indices.reversed() {
            if let r = parts[partIndex].redirects.firstIndex(where: { $0.heredocID == id }) {
                parts[partIndex].redirects[r].text = text
                if substitutes { parts[partIndex].hasSubstitution = true }
                return
            }
        }
    }
    /// A word of digits glued to `<`/`>` is a file descriptor (`2>`), not an argument.
    mutating func discardDescriptorWord() {
        flushPending()
        guard wordStart >= 0, !wordDynamic, !word.isEmpty, word.allSatisfy({ (48...57).contains($0) }) else { return }
        word.removeAll(keepingCapacity: true)
        wordStart = -1
    }
}
