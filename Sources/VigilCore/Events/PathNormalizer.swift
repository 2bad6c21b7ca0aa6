// SPDX-License-Identifier: Apache-2.0
// Lexical path joining for the one case the kernel cannot resolve for us: a failed open of a
// relative path, reported with the directory it was relative to. Byte-wise: it runs for every
// such event (a compiler's header search misses are most of them).
public enum PathNormalizer {
    /// Joins `base` and `relative` and removes `.`, `..` and duplicate slashes.
    public static func join(_ base: String, _ relative: String) -> String {
        normalize(relative.hasPrefix("/") ? relative : base + "/" + relative)
    }

    public static func normalize(_ path: String) -> String {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        var path = path
        return path.withUTF8 { src in
            var out: [UInt8] = []
            out.reserveCapacity(src.count + 1)
            var i = 0
            while i < src.count {
                if src[i] == slash { i += 1; continue }
                var end = i
                while end < src.count && src[end] != slash { end += 1 }
                switch end - i {
                case 1 where src[i] == dot:
                    break
                case 2 where src[i] == dot && src[i + 1] == dot:
                    // Up one: drop the last component ("/.." is "/").
                    if let last = out.lastIndex(of: slash) { out.removeSubrange(last...) }
                default:
                    out.append(slash)
                    out.append(contentsOf: src[i..<end])
                }
                i = end
            }
            return out.isEmpty ? "/" : String(decoding: out, as: UTF8.self)
        }
    }
}
