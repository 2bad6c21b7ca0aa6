// SPDX-License-Identifier: Apache-2.0
// Which inodes to mark so that only the opens and execs a policy names go through user space. A
// filesystem-wide mark would send every open on the machine to the daemon; instead each kernel rule
// becomes marks on exact files, on one directory's children, or on a bounded directory tree, and a rule
// that has no fixed place in the filesystem is reported as not enforceable by fanotify (never dropped).

import Glibc

/// One place to mark.
public struct MarkTarget: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Scope: Int, Sendable, Hashable {
        /// The file's inode (symlinks followed).
        case file
        /// The directory and its direct children (`FAN_EVENT_ON_CHILD`).
        case children
        /// The directory and every directory below it, each with `FAN_EVENT_ON_CHILD`, up to the walk's bounds.
        case tree
    }

    public var path: String
    public var scope: Scope
    /// `FAN_OPEN_EXEC_PERM` (an exec rule) rather than `FAN_OPEN_PERM`.
    public var exec: Bool

    public init(_ path: String, _ scope: Scope, exec: Bool) {
        self.path = path
        self.scope = scope
        self.exec = exec
    }

    public static func < (a: MarkTarget, b: MarkTarget) -> Bool {
        (a.path, a.scope.rawValue, a.exec ? 1 : 0) < (b.path, b.scope.rawValue, b.exec ? 1 : 0)
    }

    public var description: String { "\(exec ? "exec" : "open") \(scope) \(path)" }
}

/// What one kernel rule became.
public struct RuleMarks: Sendable, Hashable {
    /// The rule as given, e.g. `Open(~/.aws/**)`.
    public var rule: String
    public var targets: [MarkTarget]
    /// Set when fanotify cannot enforce the rule: the caller must fall back (kill on the sensor's event).
    public var notEnforceable: String?
    /// Enforced, with a caveat the caller should know (e.g. an argument pattern decided from argv).
    public var note: String?
}

/// The marks for a set of kernel rules.
public struct MarkPlan: Sendable, Hashable {
    public var rules: [RuleMarks]

    public init(rules: [RuleMarks]) {
        self.rules = rules
    }

    /// Every target, deduplicated and sorted.
    public var targets: [MarkTarget] { Array(Set(rules.flatMap(\.targets))).sorted() }

    /// The rules fanotify cannot enforce, with the reason.
    public var notEnforceable: [(rule: String, reason: String)] {
        rules.compactMap { rule in rule.notEnforceable.map { (rule.rule, $0) } }
    }
}

/// What the planner needs to know about the filesystem; `LiveFileSystem` in production, a table in tests.
public protocol MarkFileSystem: Sendable {
    /// The kind of the file at path, symlinks followed; nil when missing.
    func kind(of path: String) -> FileKind?
    /// The names in a directory, nil when unreadable.
    func names(in directory: String) -> [String]?
    /// The names of the real subdirectories (not symlinks) of a directory, nil when unreadable.
    func subdirectories(of directory: String) -> [String]?
    /// The names of the regular files (not symlinks) in a directory, nil when unreadable.
    func regularFiles(in directory: String) -> [String]?
}

extension MarkFileSystem {
    public func regularFiles(in directory: String) -> [String]? {
        names(in: directory)?.filter { name in
            let kind = self.kind(of: MarkPlanner.join(directory, name))
            return kind == .file || kind == .executable
        }
    }
}

public enum FileKind: Sendable, Hashable {
    case directory
    case executable
    case file
}

public enum MarkPlanner {
    /// Where `Exec(name)` looks, before the PATH entries.
    public static let standardBinDirectories = [
        "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
    ]

    /// - Parameters:
    ///   - rules: kernel rules as written: `Open(…)` (mode suffix allowed), `Exec(…)`.
    ///   - home: what `~` means; nil makes `~/…` rules not enforceable.
    ///   - path: the PATH whose directories `Exec(name)` also searches.
    ///   - matching: whether a file name matches one glob segment of a rule: the policy's own semantics
    ///     (`Policy.segmentMatches`), so that a rule means here what it means when a path is decided.
    public static func plan(
        rules: [String], home: String?, path: String? = nil, fileSystem: some MarkFileSystem = LiveFileSystem(),
        matching: @escaping (String, String) -> Bool
    ) -> MarkPlan {
        var directories = standardBinDirectories
        for entry in (path ?? "").split(separator: ":") where entry.hasPrefix("/") {
            let directory = normalise(String(entry))
            if !directories.contains(directory) { directories.append(directory) }
        }
        return MarkPlan(rules: rules.map { plan(rule: $0, home: home, binDirectories: directories, fs: fileSystem, matching: matching) })
    }

    static func plan(
        rule: String, home: String?, binDirectories: [String], fs: some MarkFileSystem, matching: (String, String) -> Bool
    ) -> RuleMarks {
        var result = RuleMarks(rule: rule, targets: [])
        let text = rule.trimmingSet(" \t")
        guard text.hasSuffix(")"), let open = text.firstIndex(of: "(") else {
            result.notEnforceable = "not a kernel rule"
            return result
        }
        let kind = text[..<open]
        var body = String(text[text.index(after: open)..<text.index(before: text.endIndex)]).trimmingSet(" \t")
        switch kind {
        case "Open":
            if let comma = body.lastIndex(of: ","),
                ["read", "write", "any"].contains(body[body.index(after: comma)...].trimmingSet(" \t"))
            {
                body = String(body[..<comma]).trimmingSet(" \t")
            }
            planPath(body, exec: false, home: home, fs: fs, matching: matching, into: &result)
        case "Exec":
            let binary = String(body.prefix { $0 != " " })
            let arguments = body.dropFirst(binary.count).trimmingSet(" \t")
            guard !binary.isEmpty else {
                result.notEnforceable = "empty Exec pattern"
                return result
            }
            if binary.contains("/") {
                planPath(binary, exec: true, home: home, fs: fs, matching: matching, into: &result)
            } else {
                planName(binary, directories: binDirectories, fs: fs, matching: matching, into: &result)
            }
            if result.notEnforceable == nil, !arguments.isEmpty, arguments != "*" {
                result.note =
                    "argument pattern: decided from the argv read from /proc/<tid>/mem at exec time; "
                    + "when it cannot be read the event carries argv nil"
            }
        default:
            result.notEnforceable = "fanotify guards opens and execs only, not \(kind)(…)"
        }
        return result
    }

    /// `Exec(curl)`, `Exec(nc*)`: every matching executable in the search directories, as file inodes.
    private static func planName(
        _ name: String, directories: [String], fs: some MarkFileSystem, matching: (String, String) -> Bool,
        into result: inout RuleMarks
    ) {
        var seen = Set<String>()
        for directory in directories {
            guard let names = fs.names(in: directory) else { continue }
            for entry in names.sorted() where matching(name, entry) {
                let path = join(directory, entry)
                if fs.kind(of: path) == .executable, seen.insert(path).inserted {
                    result.targets.append(MarkTarget(path, .file, exec: true))
                }
            }
        }
        if result.targets.isEmpty {
            result.notEnforceable = "no executable named '\(name)' in \(directories.joined(separator: ":"))"
        }
    }

    /// `Open(/etc/shadow)`, `Open(~/.aws/**)`, `Open(~/.ssh/id_*)`, `Exec(/usr/bin/nc*)`, `Exec(/tmp/**)`.
    private static func planPath(
        _ pattern: String, exec: Bool, home: String?, fs: some MarkFileSystem, matching: (String, String) -> Bool,
        into result: inout RuleMarks
    ) {
        var body = Substring(pattern)
        var base = ""
        if body == "~" || body.hasPrefix("~/") {
            guard let home, home.hasPrefix("/") else {
                result.notEnforceable = "'~' needs the session's home directory"
                return
            }
            base = normalise(home)
            body = body.dropFirst(body == "~" ? 1 : 2)
        } else if !body.hasPrefix("/") {
            result.notEnforceable = "matches at any depth: no fixed directory to mark"
            return
        }
        var prefix = base == "/" ? [] : base.split(separator: "/").map(String.init)
        var rest: [String] = []
        for piece in body.split(separator: "/") where piece != "." {
            guard piece != ".." else {
                result.notEnforceable = "'..' in a path pattern"
                return
            }
            if rest.isEmpty, !isWildcard(piece) { prefix.append(unescape(piece)) } else { rest.append(String(piece)) }
        }
        guard !prefix.isEmpty else {
            result.notEnforceable = "no fixed directory prefix: marking '/' would put the whole machine through the daemon"
            return
        }
        let fixed = "/" + prefix.joined(separator: "/")
        let kind = fs.kind(of: fixed)

        if rest.isEmpty {
            // A pattern naming a directory matches everything under it.
            switch kind {
            case .directory: result.targets = [MarkTarget(fixed, .tree, exec: exec)]
            case .executable, .file: result.targets = [MarkTarget(fixed, .file, exec: exec)]
            case nil:
                let parent = parentDirectory(fixed)
                if fs.kind(of: parent) == .directory {
                    result.targets = [MarkTarget(parent, .children, exec: exec)]
                    result.note = "\(fixed) does not exist yet: the children of \(parent) are marked"
                } else {
                    result.notEnforceable = "neither \(fixed) nor its directory exists: nothing to mark"
                }
            }
            return
        }
        guard kind == .directory else {
            result.notEnforceable = "\(fixed) is not an existing directory: nothing to mark"
            return
        }
        if rest.count == 1, rest[0] != "**" {
            // One wildcard segment: the matching entries of one directory.
            let matches = (fs.names(in: fixed) ?? []).sorted().filter { matching(rest[0], $0) }
            if exec {
                // Marking /usr/bin's children would route every exec on the machine: mark the files found.
                for name in matches where fs.kind(of: join(fixed, name)) == .executable {
                    result.targets.append(MarkTarget(join(fixed, name), .file, exec: true))
                }
                for name in matches where fs.kind(of: join(fixed, name)) == .directory {
                    result.targets.append(MarkTarget(join(fixed, name), .tree, exec: true))
                }
                if result.targets.isEmpty {
                    result.notEnforceable = "nothing in \(fixed) matches '\(rest[0])' now"
                } else {
                    result.note = "files created later in \(fixed) that match '\(rest[0])' are not marked until re-marking"
                }
            } else {
                result.targets = [MarkTarget(fixed, .children, exec: false)]
                for name in matches where fs.kind(of: join(fixed, name)) == .directory {
                    result.targets.append(MarkTarget(join(fixed, name), .tree, exec: false))
                }
            }
            return
        }
        result.targets = [MarkTarget(fixed, .tree, exec: exec)]
    }

    /// The directories a tree target marks: breadth-first below root, real directories only (symlinks are not
    /// followed), at most `maxDepth` levels below the root and `maxDirectories` in all.
    public static func expand(
        tree root: String, fileSystem: some MarkFileSystem, maxDepth: Int, maxDirectories: Int
    ) -> (directories: [String], skipped: Int) {
        var directories: [String] = []
        var skipped = 0
        var level = [root]
        var depth = 0
        while !level.isEmpty {
            var next: [String] = []
            for directory in level {
                guard directories.count < maxDirectories else {
                    skipped += 1
                    continue
                }
                directories.append(directory)
                guard let children = fileSystem.subdirectories(of: directory) else { continue }
                if depth >= maxDepth {
                    skipped += children.count
                } else {
                    next.append(contentsOf: children.sorted().map { join(directory, $0) })
                }
            }
            level = next
            depth += 1
        }
        return (directories, skipped)
    }

    static func isWildcard(_ segment: some StringProtocol) -> Bool {
        var escaped = false
        for character in segment {
            if escaped { escaped = false; continue }
            if character == "\\" { escaped = true; continue }
            if character == "*" || character == "?" || character == "[" { return true }
        }
        return false
    }

    private static func unescape(_ segment: some StringProtocol) -> String {
        var result = ""
        var escaped = false
        for character in segment {
            if !escaped, character == "\\" { escaped = true; continue }
            escaped = false
            result.append(character)
        }
        return result
    }

    static func normalise(_ path: String) -> String {
        let parts = path.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory == "/" ? "/" + name : directory + "/" + name
    }

    static func parentDirectory(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}

/// The real filesystem.
public struct LiveFileSystem: MarkFileSystem {
    public init() {}

    public func kind(of path: String) -> FileKind? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return info.st_mode & 0o111 != 0 ? .executable : .file
        default: return .file
        }
    }

    public func names(in directory: String) -> [String]? {
        entries(of: directory)?.map(\.name)
    }

    public func subdirectories(of directory: String) -> [String]? {
        entries(of: directory)?.compactMap { entry in
            if entry.type == UInt8(DT_DIR) { return entry.name }
            guard entry.type == UInt8(DT_UNKNOWN) else { return nil }
            var info = stat()
            let path = MarkPlanner.join(directory, entry.name)
            return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR ? entry.name : nil
        }
    }

    public func regularFiles(in directory: String) -> [String]? {
        entries(of: directory)?.compactMap { entry in
            if entry.type == UInt8(DT_REG) { return entry.name }
            guard entry.type == UInt8(DT_UNKNOWN) else { return nil }
            var info = stat()
            return lstat(MarkPlanner.join(directory, entry.name), &info) == 0 && info.st_mode & S_IFMT == S_IFREG ? entry.name : nil
        }
    }

    private func entries(of directory: String) -> [(name: String, type: UInt8)]? {
        guard let handle = opendir(directory) else { return nil }
        defer { closedir(handle) }
        var result: [(String, UInt8)] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            result.append((name, entry.pointee.d_type))
        }
        return result
    }
}
