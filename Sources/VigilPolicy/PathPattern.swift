// SPDX-License-Identifier: Apache-2.0
// Gitignore-style path patterns with Claude Code's anchors: `//abs`, `~/home`, `/project-relative`,
// and `relative` (cwd). A pattern matching a directory matches everything under it.

struct PathPattern: Sendable, Hashable {
    enum Anchor: Sendable, Hashable {
        case absolute
        case home
        case project
        /// Under the cwd, starting right there (`src/**` in an allow rule).
        case cwd
        /// Under the cwd at any depth (`*.md` in an allow rule).
        case cwdAnyDepth
        /// Anywhere on the filesystem (relative patterns in deny/ask rules, and kernel `Open(.env)`).
        case anywhere
    }

    enum Segment: Sendable, Hashable {
        case any
        case glob(Glob)
    }

    let source: String
    let anchor: Anchor
    let segments: [Segment]

    /// How a pattern without `//`, `~/` or `/` is anchored: Claude Code matches deny rules at any depth and
    /// allow rules under the working directory.
    enum RelativeMode: Sendable {
        case anywhere
        case gitignore
    }

    init(_ specifier: String, relative: RelativeMode, singleSlashIsAbsolute: Bool = false) throws(PatternError) {
        guard !specifier.isEmpty else { throw PatternError("empty path pattern") }
        guard !specifier.contains("\0") else { throw PatternError("path pattern contains NUL") }
        source = specifier
        var body = Substring(specifier)
        if body.hasPrefix("//") {
            anchor = .absolute
            body = body.drop { $0 == "/" }
        } else if body == "~" || body.hasPrefix("~/") {
            anchor = .home
            body = body.dropFirst(body == "~" ? 1 : 2)
        } else if body.hasPrefix("/") {
            anchor = singleSlashIsAbsolute ? .absolute : .project
            body = body.dropFirst()
        } else {
            if body.hasPrefix("./") { body = body.dropFirst(2) }
            let inner = body.hasSuffix("/") ? body.dropLast() : body
            switch relative {
            case .anywhere: anchor = .anywhere
            case .gitignore: anchor = inner.contains("/") ? .cwd : .cwdAnyDepth
            }
        }
        var segments: [Segment] = []
        for piece in body.split(separator: "/", omittingEmptySubsequences: true) where piece != "." {
            guard piece != ".." else { throw PatternError("'..' is not allowed in path pattern '\(specifier)'") }
            if piece == "**" {
                if segments.last != .any { segments.append(.any) }
            } else {
                segments.append(.glob(Glob(piece)))
            }
        }
        if anchor == .anywhere || anchor == .cwdAnyDepth, segments.first != .any {
            segments.insert(.any, at: 0)
        }
        self.segments = segments
    }

    /// The most selective literal segment: every matching path contains it (the index key).
    var keySegment: String? {
        for segment in segments.reversed() {
            if case .glob(let glob) = segment, let literal = glob.literal {
                return String(decoding: literal, as: UTF8.self)
            }
        }
        return nil
    }

    /// - Parameter path: a normalised absolute path's segments.
    func matches(_ path: [Substring], home: [Substring], cwd: [Substring], project: [Substring]) -> Bool {
        let base: [Substring]
        switch anchor {
        case .absolute, .anywhere: base = []
        case .home: base = home
        case .project: base = project
        case .cwd, .cwdAnyDepth: base = cwd
        }
        guard path.count >= base.count, path.starts(with: base) else { return false }
        return match(0, path, base.count)
    }

    private func match(_ p: Int, _ path: [Substring], _ s: Int) -> Bool {
        // Pattern exhausted: the path is the match or lies under it.
        guard p < segments.count else { return true }
        switch segments[p] {
        case .any:
            var k = s
            while k <= path.count {
                if match(p + 1, path, k) { return true }
                k += 1
            }
            return false
        case .glob(let glob):
            guard s < path.count, glob.matches(path[s]) else { return false }
            return match(p + 1, path, s + 1)
        }
    }
}

/// Splits an absolute or relative path into normalised segments (`.`/`..` resolved, no symlinks: the
/// kernel layer sees the real file). Byte-level: this runs for every path on the hot path.
func pathSegments(_ path: String, relativeTo base: [Substring]) -> [Substring] {
    pathSegments(path[...], relativeTo: base)
}

func pathSegments(_ path: Substring, relativeTo base: [Substring]) -> [Substring] {
    let utf8 = path.utf8
    var result: [Substring] = utf8.first == UInt8(ascii: "/") ? [] : base
    result.reserveCapacity(result.count + 8)
    // Cuts only at `/` (ASCII), so every piece is scalar-aligned.
    var contiguous = path
    contiguous.withUTF8 { bytes in
        var start = 0
        var cursor = 0
        let count = bytes.count
        while cursor <= count {
            if cursor == count || bytes[cursor] == UInt8(ascii: "/") {
                let length = cursor - start
                if length == 0 || (length == 1 && bytes[start] == UInt8(ascii: ".")) {
                    // empty or `.`
                } else if length == 2, bytes[start] == UInt8(ascii: "."), bytes[start + 1] == UInt8(ascii: ".") {
                    if !result.isEmpty { result.removeLast() }
                } else {
                    let lower = utf8.index(utf8.startIndex, offsetBy: start)
                    let upper = utf8.index(lower, offsetBy: length)
                    result.append(Substring(utf8[lower..<upper]))
                }
                start = cursor + 1
            }
            cursor += 1
        }
    }
    return result
}

/// `~/x` → home + x; otherwise as `pathSegments`.
func pathSegments(_ path: String, cwd: [Substring], home: [Substring]) -> [Substring] {
    let utf8 = path.utf8
    if let first = utf8.first, first == UInt8(ascii: "~") {
        if utf8.count == 1 { return home }
        let second = utf8.index(after: utf8.startIndex)
        let third = utf8.index(after: second)
        if utf8[second] == UInt8(ascii: "/"), third == utf8.endIndex || utf8[third] < 0x80 {
            return pathSegments(path[third...], relativeTo: home)
        }
        // Non-ASCII right after `~/` (a combining mark would make `/` part of another character): as written.
        if path == "~" { return home }
        if path.hasPrefix("~/") { return pathSegments(String(path.dropFirst(2)), relativeTo: home) }
    }
    return pathSegments(path[...], relativeTo: cwd)
}

extension PathPattern {
    /// `**/NAME` or `NAME` anchored anywhere, NAME without wildcards: the file name alone decides.
    var anywhereName: String? {
        guard anchor == .anywhere else { return nil }
        var rest = segments[...]
        if rest.first == .any { rest = rest.dropFirst() }
        guard rest.count == 1, case .glob(let glob) = rest.first!, let literal = glob.literal else { return nil }
        return String(decoding: literal, as: UTF8.self)
    }
}
