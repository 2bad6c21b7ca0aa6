// SPDX-License-Identifier: Apache-2.0
// `WebFetch(domain:…)` and `Connect(host…)` host patterns: case-insensitive, a trailing dot ignored,
// a leading `*.` covers any depth of subdomain, any other `*` stays inside one label.

struct DomainPattern: Sendable, Hashable {
    let source: String
    /// A leading `*.`: one or more labels.
    private let anySubdomain: Bool
    private let labels: [Glob]
    /// The literal labels at the end (`example.com` in `*.example.com`): the index key.
    let literalSuffix: String?

    init(_ specifier: String) throws(PatternError) {
        var text = Substring(DomainPattern.normalise(specifier))
        guard !text.isEmpty else { throw PatternError("empty domain pattern") }
        guard !text.contains("/"), !text.contains(":") || text.hasPrefix("[") else {
            throw PatternError("'\(specifier)' is not a domain: write the host name only, e.g. 'example.com'")
        }
        source = specifier
        anySubdomain = text.hasPrefix("*.")
        if anySubdomain { text = text.dropFirst(2) }
        let pieces = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !pieces.contains(where: \.isEmpty) else { throw PatternError("'\(specifier)' has an empty label") }
        labels = pieces.map { Glob($0) }
        var suffix: [Substring] = []
        for piece in pieces.reversed() {
            if piece.contains("*") || piece.contains("?") || piece.contains("[") { break }
            suffix.insert(piece, at: 0)
        }
        literalSuffix = suffix.isEmpty ? nil : suffix.joined(separator: ".")
    }

    static func normalise(_ host: String) -> String {
        var host = host.lowercased()
        while host.hasSuffix(".") { host.removeLast() }
        return host
    }

    /// - Parameter host: already normalised.
    func matches(_ host: String) -> Bool {
        let pieces = host.split(separator: ".", omittingEmptySubsequences: false)
        if anySubdomain {
            guard pieces.count > labels.count else { return false }
        } else {
            guard pieces.count == labels.count else { return false }
        }
        let tail = pieces.suffix(labels.count)
        return zip(labels, tail).allSatisfy { $0.matches($1) }
    }
}

/// The host of an `http(s)://` URL, normalised; nil when there is none to be found.
func urlHost(_ url: String) -> String? {
    // ASCII URLs (nearly all): the same steps over bytes, where a byte is a Character.
    if let ascii = url.utf8.withContiguousStorageIfAvailable(asciiURLHost), let host = ascii { return host }
    return characterURLHost(url)
}

/// nil (outer) when the URL isn't ASCII; then the Character-level version decides.
private func asciiURLHost(_ bytes: UnsafeBufferPointer<UInt8>) -> String?? {
    var scheme = -1
    var index = 0
    while index < bytes.count {
        let byte = bytes[index]
        if byte >= 0x80 { return .none }
        if scheme < 0, byte == UInt8(ascii: ":"), index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "/"),
            bytes[index + 2] == UInt8(ascii: "/")
        {
            scheme = index + 3
        }
        index += 1
    }
    guard scheme >= 0 else { return .some(nil) }
    var start = scheme
    var end = scheme
    while end < bytes.count, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?"),
        bytes[end] != UInt8(ascii: "#")
    { end += 1 }
    var at = end - 1
    while at >= start, bytes[at] != UInt8(ascii: "@") { at -= 1 }
    if at >= start { start = at + 1 }
    if start < end, bytes[start] == UInt8(ascii: "[") {
        var close = start
        while close < end, bytes[close] != UInt8(ascii: "]") { close += 1 }
        guard close < end else { return .some(nil) }
        return .some(asciiLowercased(UnsafeBufferPointer(rebasing: bytes[start...close])))
    }
    var colon = start
    while colon < end, bytes[colon] != UInt8(ascii: ":") { colon += 1 }
    end = colon
    while end > start, bytes[end - 1] == UInt8(ascii: ".") { end -= 1 }
    guard end > start else { return .some(nil) }
    return .some(asciiLowercased(UnsafeBufferPointer(rebasing: bytes[start..<end])))
}

private func asciiLowercased(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
    String(unsafeUninitializedCapacity: bytes.count) { buffer in
        for (index, byte) in bytes.enumerated() {
            buffer[index] = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
        }
        return bytes.count
    }
}

private func characterURLHost(_ url: String) -> String? {
    guard let schemeEnd = url.firstRange(of: "://") else { return nil }
    var rest = url[schemeEnd.upperBound...]
    if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
    if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
    if rest.hasPrefix("[") {
        guard let close = rest.firstIndex(of: "]") else { return nil }
        return String(rest[...close]).lowercased()
    }
    if let colon = rest.firstIndex(of: ":") { rest = rest[..<colon] }
    let host = DomainPattern.normalise(String(rest))
    return host.isEmpty ? nil : host
}
