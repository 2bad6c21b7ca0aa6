// SPDX-License-Identifier: Apache-2.0
// A byte-level wildcard matcher shared by every pattern form: command text, path segments, domain labels.
// `*` matches any run of bytes (callers split on separators first when `*` must not cross them).

/// A compiled wildcard pattern: `*` any run, `?` one byte, `[a-z]` / `[!x]` a set, `\x` a literal.
struct Glob: Sendable, Hashable {
    enum Token: Sendable, Hashable {
        case byte(UInt8)
        case anyByte
        case set(ranges: [ClosedRange<UInt8>], negated: Bool)
        case star
    }

    let tokens: [Token]
    /// The pattern's text when it has no wildcards: matching is then a comparison.
    let literal: [UInt8]?
    /// The pattern as written.
    let text: String

    /// - Parameter sets: whether `?` and `[…]` are special. Bash patterns only treat `*` as special.
    init(_ pattern: some StringProtocol, sets: Bool = true) {
        text = String(pattern)
        var tokens: [Token] = []
        let bytes = Array(pattern.utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\\") where index + 1 < bytes.count:
                tokens.append(.byte(bytes[index + 1]))
                index += 2
                continue
            case UInt8(ascii: "*"):
                if tokens.last != .star { tokens.append(.star) }
            case UInt8(ascii: "?") where sets:
                tokens.append(.anyByte)
            case UInt8(ascii: "[") where sets:
                if let (set, next) = Glob.parseSet(bytes, from: index) {
                    tokens.append(set)
                    index = next
                    continue
                }
                tokens.append(.byte(byte))
            default:
                tokens.append(.byte(byte))
            }
            index += 1
        }
        self.tokens = tokens
        var literal: [UInt8] = []
        for token in tokens {
            guard case .byte(let byte) = token else {
                self.literal = nil
                return
            }
            literal.append(byte)
        }
        self.literal = literal
    }

    private static func parseSet(_ bytes: [UInt8], from start: Int) -> (Token, Int)? {
        var index = start + 1
        var negated = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "!") || bytes[index] == UInt8(ascii: "^") {
            negated = true
            index += 1
        }
        var ranges: [ClosedRange<UInt8>] = []
        var first = true
        while index < bytes.count, bytes[index] != UInt8(ascii: "]") || first {
            first = false
            let low = bytes[index]
            if index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "-"), bytes[index + 2] != UInt8(ascii: "]") {
                let high = bytes[index + 2]
                guard low <= high else { return nil }
                ranges.append(low...high)
                index += 3
            } else {
                ranges.append(low...low)
                index += 1
            }
        }
        guard index < bytes.count else { return nil }
        return (.set(ranges: ranges, negated: negated), index + 1)
    }

    /// The literal bytes before the first wildcard.
    var literalPrefix: [UInt8] {
        var prefix: [UInt8] = []
        for token in tokens {
            guard case .byte(let byte) = token else { break }
            prefix.append(byte)
        }
        return prefix
    }

    func matches(_ text: some StringProtocol) -> Bool {
        if let result = text.utf8.withContiguousStorageIfAvailable({ matches(bytes: $0) }) { return result }
        var text = String(text)
        return text.withUTF8 { matches(bytes: $0) }
    }

    func matches(bytes text: UnsafeBufferPointer<UInt8>) -> Bool {
        if let literal {
            return literal.count == text.count && literal.withUnsafeBufferPointer { $0.elementsEqual(text) }
        }
        // Classic single-backtrack wildcard match: linear for the patterns rules use.
        var t = 0
        var p = 0
        var starP = -1
        var starT = 0
        let count = tokens.count
        while t < text.count {
            if p < count {
                switch tokens[p] {
                case .star:
                    starP = p
                    starT = t
                    p += 1
                    continue
                case .byte(let byte) where byte == text[t]:
                    p += 1
                    t += 1
                    continue
                case .anyByte:
                    p += 1
                    t += 1
                    continue
                case .set(let ranges, let negated) where ranges.contains { $0.contains(text[t]) } != negated:
                    p += 1
                    t += 1
                    continue
                default:
                    break
                }
            }
            guard starP >= 0 else { return false }
            p = starP + 1
            starT += 1
            t = starT
        }
        while p < count, tokens[p] == .star { p += 1 }
        return p == count
    }
}
