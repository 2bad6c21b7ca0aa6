// Lexical path joining for the one case the kernel cannot resolve for us: a failed open of a
// relative path, reported with the directory it was relative to.
public enum PathNormalizer {
    /// Joins `base` and `relative` and removes `.`, `..` and duplicate slashes.
    public static func join(_ base: String, _ relative: String) -> String {
        normalize(relative.hasPrefix("/") ? relative : base + "/" + relative)
    }

    public static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
