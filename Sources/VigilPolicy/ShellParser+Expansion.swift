// SPDX-License-Identifier: Apache-2.0
// Quotes, `$…` expansions, command substitutions, redirections and heredocs.

extension ShellParser {
    mutating func readDoubleQuoted() {
        position += 1
        while position < input.count {
            let byte = input[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return
            case UInt8(ascii: "\\"):
                let next = position + 1 < input.count ? input[position + 1] : 0
                if [UInt8(ascii: "$"), UInt8(ascii: "`"), UInt8(ascii: "\""), UInt8(ascii: "\\")].contains(next) {
                    appendToWord(next)
                    position += 2
                } else if next == UInt8(ascii: "\n") {
                    position += 2
                } else {
                    appendToWord(byte)
                    position += 1
                }
            case UInt8(ascii: "$"):
                readDollar(inQuotes: true)
            case UInt8(ascii: "`"):
                readBackticks()
            default:
                appendToWord(byte)
                position += 1
            }
        }
        markMalformed()
    }

    /// `$(…)`, `$((…))`, `${…}`, `$name`, `$'…'`: everything but a lone `$` makes the word dynamic.
    mutating func readDollar(inQuotes: Bool) {
        let next = position + 1 < input.count ? input[position + 1] : 0
        switch next {
        case UInt8(ascii: "("):
            if position + 2 < input.count, input[position + 2] == UInt8(ascii: "(") {
                guard let close = ShellParser.matchingClose(input, from: position + 1) else { return fail() }
                appendToWord(input[position...close])
                markDynamic()
                position = close + 1
                return
            }
            guard let close = ShellParser.matchingClose(input, from: position + 1) else { return fail() }
            appendToWord(input[position...close])
            markDynamic()
            markSubstitution()
            absorbNested(Array(input[(position + 2)..<close]))
            position = close + 1
        case UInt8(ascii: "{"):
            guard let close = input[position...].firstIndex(of: UInt8(ascii: "}")) else { return fail() }
            appendToWord(input[position...close])
            markDynamic()
            position = close + 1
        case UInt8(ascii: "'") where !inQuotes:
            // ANSI-C quoting: `$'\x6dytool'` spells mytool, so escapes make the value unknown.
            var cursor = position + 2
            var escaped = false
            while cursor < input.count, input[cursor] != UInt8(ascii: "'") {
                if input[cursor] == UInt8(ascii: "\\") {
                    escaped = true
                    cursor += 1
                }
                cursor += 1
            }
            guard cursor < input.count else { return fail() }
            appendToWord(input[(position + 2)..<cursor])
            if escaped { markDynamic() }
            position = cursor + 1
        case UInt8(ascii: "\""):
            position += 1  // `$"…"` is a locale string: plain double quotes for our purposes
        default:
            let special = "?!#$@*-0123456789_".utf8
            if ShellParser.isNameByte(next) || special.contains(next) {
                var cursor = position + 1
                if ShellParser.isNameByte(next) {
                    while cursor < input.count, ShellParser.isNameByte(input[cursor]) { cursor += 1 }
                } else {
                    cursor += 1
                }
                appendToWord(input[position..<cursor])
                markDynamic()
                position = cursor
            } else {
                appendToWord(UInt8(ascii: "$"))
                position += 1
            }
        }
    }

    mutating func readBackticks() {
        var cursor = position + 1
        var inner: [UInt8] = []
        while cursor < input.count, input[cursor] != UInt8(ascii: "`") {
            if input[cursor] == UInt8(ascii: "\\"), cursor + 1 < input.count {
                cursor += 1
            }
            inner.append(input[cursor])
            cursor += 1
        }
        guard cursor < input.count else { return fail() }
        appendToWord(input[position...cursor])
        markDynamic()
        markSubstitution()
        absorbNested(inner)
        position = cursor + 1
    }

    private mutating func fail() {
        markMalformed()
        position = input.count
    }

    // MARK: redirections

    mutating func readRedirect() {
        // A word made only of digits right before `<`/`>` is an fd number (`2>`), not an argument.
        discardDescriptorWord()
        flushWord()
        let rest = input[position...]
        func has(_ op: [UInt8]) -> Bool { rest.starts(with: op) }
        if has(ShellParser.processIn), let close = ShellParser.matchingClose(input, from: position + 1) {
            return processSubstitution(close: close)
        }
        if has(ShellParser.processOut), let close = ShellParser.matchingClose(input, from: position + 1) {
            return processSubstitution(close: close)
        }
        for (opBytes, kind, heredoc) in ShellParser.redirectOperators where has(opBytes) {
            let op = String(decoding: opBytes, as: UTF8.self)
            position += opBytes.count
            var kind = kind
            if op == ">&" || op == "<&" {
                // `>&2`, `>&-` duplicate descriptors; `>& file` is bash for `&> file`.
                var cursor = position
                while cursor < input.count, input[cursor] == UInt8(ascii: " ") { cursor += 1 }
                if cursor < input.count, input[cursor] == UInt8(ascii: "-") || (48...57).contains(input[cursor]) {
                    kind = .duplicate
                }
            }
            if op == "<<<" {
                beginRedirect(ShellRedirect(kind: .hereText), heredocStripTabs: nil)
            } else {
                beginRedirect(ShellRedirect(kind: kind), heredocStripTabs: heredoc)
            }
            return
        }
    }

    static let processIn = Array("<(".utf8)
    static let processOut = Array(">(".utf8)
    /// Longest first, so `<<<` isn't read as `<<`.
    static let redirectOperators: [([UInt8], ShellRedirect.Kind, Bool?)] =
        ([
            ("<<<", .hereText, nil), ("<<-", .hereText, true), ("<<", .hereText, false),
            ("&>>", .write, nil), ("&>", .write, nil), (">>", .write, nil), (">|", .write, nil),
            (">&", .write, nil), ("<&", .duplicate, nil), ("<>", .write, nil), (">", .write, nil), ("<", .read, nil),
        ] as [(String, ShellRedirect.Kind, Bool?)]).map { (Array($0.0.utf8), $0.1, $0.2) }

    private mutating func processSubstitution(close: Int) {
        markSubstitution()
        absorbNested(Array(input[(position + 2)..<close]))
        position = close + 1
    }

    // MARK: heredocs

    mutating func readHeredocBodies() {
        while !heredocs.isEmpty {
            let doc = heredocs.removeFirst()
            var body: [UInt8] = []
            var found = false
            while position < input.count {
                let lineEnd = input[position...].firstIndex(of: UInt8(ascii: "\n")) ?? input.count
                var line = input[position..<lineEnd]
                if doc.stripTabs { line = line.drop { $0 == UInt8(ascii: "\t") } }
                position = min(lineEnd + 1, input.count)
                if line.elementsEqual(doc.delimiter) {
                    found = true
                    break
                }
                body.append(contentsOf: line)
                body.append(UInt8(ascii: "\n"))
            }
            if !found { markMalformed() }
            let substitutes = doc.expands && scanExpandingBody(body)
            setHeredocText(id: doc.id, text: String(decoding: body, as: UTF8.self), substitutes: substitutes)
        }
    }

    /// An unquoted heredoc runs its `$(…)` and backticks: parse those as nested commands.
    private mutating func scanExpandingBody(_ body: [UInt8]) -> Bool {
        var found = false
        var cursor = 0
        while cursor < body.count {
            if body[cursor] == UInt8(ascii: "$"), cursor + 1 < body.count, body[cursor + 1] == UInt8(ascii: "("),
                let close = ShellParser.matchingClose(body, from: cursor + 1)
            {
                found = true
                absorbNested(Array(body[(cursor + 2)..<close]))
                cursor = close + 1
            } else if body[cursor] == UInt8(ascii: "`"),
                let close = body[(cursor + 1)...].firstIndex(of: UInt8(ascii: "`"))
            {
                found = true
                absorbNested(Array(body[(cursor + 1)..<close]))
                cursor = close + 1
            } else {
                cursor += 1
            }
        }
        return found
    }

    // MARK: helpers

    static func isNameByte(_ byte: UInt8) -> Bool {
        (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte) || byte == UInt8(ascii: "_")
    }

    /// The index of the `)` closing the `(` at `open`, skipping quotes and nested parentheses.
    static func matchingClose(_ bytes: [UInt8], from open: Int) -> Int? {
        var depth = 0
        var cursor = open
        while cursor < bytes.count {
            switch bytes[cursor] {
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 { return cursor }
            case UInt8(ascii: "\\"): cursor += 1
            case UInt8(ascii: "<"):
                // Heredoc bodies (commit messages!) hold apostrophes and parentheses: skip them whole.
                if let end = heredocEnd(bytes, from: cursor) { cursor = end - 1 }
            case UInt8(ascii: "'"):
                guard let close = bytes[(cursor + 1)...].firstIndex(of: UInt8(ascii: "'")) else { return nil }
                cursor = close
            case UInt8(ascii: "\""):
                cursor += 1
                while cursor < bytes.count, bytes[cursor] != UInt8(ascii: "\"") {
                    if bytes[cursor] == UInt8(ascii: "\\") { cursor += 1 }
                    cursor += 1
                }
                if cursor >= bytes.count { return nil }
            default: break
            }
            cursor += 1
        }
        return nil
    }

    /// If a heredoc operator starts at `start`, the index just past its body's delimiter line.
    private static func heredocEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        guard start + 2 < bytes.count, bytes[start + 1] == UInt8(ascii: "<"), bytes[start + 2] != UInt8(ascii: "<")
        else { return nil }
        var cursor = start + 2
        let stripTabs = bytes[cursor] == UInt8(ascii: "-")
        if stripTabs { cursor += 1 }
        while cursor < bytes.count, bytes[cursor] == UInt8(ascii: " ") { cursor += 1 }
        var delimiter: [UInt8] = []
        while cursor < bytes.count,
            ![
                UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: ";"), UInt8(ascii: ")"),
                UInt8(ascii: "|"), UInt8(ascii: "&"),
            ].contains(bytes[cursor])
        {
            if ![UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "\\")].contains(bytes[cursor]) {
                delimiter.append(bytes[cursor])
            }
            cursor += 1
        }
        guard !delimiter.isEmpty, let lineEnd = bytes[cursor...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        cursor = lineEnd + 1
        while cursor < bytes.count {
            let end = bytes[cursor...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            var line = bytes[cursor..<end]
            if stripTabs { line = line.drop { $0 == UInt8(ascii: "\t") } }
            if line.elementsEqual(delimiter) { return end }
            cursor = end + 1
        }
        return nil
    }
}
