// SPDX-License-Identifier: Apache-2.0
// Matching one tool call against one rule. Deny and ask rules are matched strictly (every part, through
// wrappers, fail closed on what can't be known); allow rules leniently, exactly as far as Claude Code goes.
import VigilJSON

final class ToolEvaluation {
    static let all = UInt64.max
    static let readTools: Set<String> = ["Read", "Glob", "Grep", "LS", "NotebookRead"]
    static let editTools: Set<String> = ["Edit", "Write", "MultiEdit", "NotebookEdit"]

    /// What the tool is to path rules: one string comparison chain per call instead of set lookups per rule.
    enum Family {
        case bash
        case read
        case edit
        case other
    }

    static func family(_ name: String) -> Family {
        // Only names of these lengths can be path or Bash tools: the rest (MCP tools, …) skip the comparisons.
        switch name.utf8.count {
        case 2, 4, 5, 9, 12: break
        default: return .other
        }
        switch name {
        case "Bash": return .bash
        case "Read", "Glob", "Grep", "LS", "NotebookRead": return .read
        case "Edit", "Write", "MultiEdit", "NotebookEdit": return .edit
        default: return .other
        }
    }

    let call: ToolCall
    let name: String
    let family: Family
    let bash: BashCall?
    /// The file a path tool acts on, normalised; nil for other tools or when the input has no path.
    let target: [Substring]?
    let host: String?
    /// The anchors, split up front only when a path tool's target is relative to them; otherwise (Bash, an
    /// absolute target) `anchors()` splits them when a path rule or a `cd` needs them.
    let cwd: [Substring]
    let home: [Substring]
    let project: [Substring]
    private let anchorsSplit: Bool

    init(_ call: ToolCall) {
        self.call = call
        name = call.name == "Task" ? "Agent" : call.name
        family = ToolEvaluation.family(name)
        let pathy = family == .read || family == .edit
        var targetPath: String?
        if pathy {
            let field = call.input["file_path"] ?? call.input["notebook_path"] ?? call.input["path"]
            let fallback = family == .read && name != "Read" ? call.cwd : nil
            targetPath = field?.stringValue ?? fallback
        }
        if let targetPath, targetPath.utf8.first != UInt8(ascii: "/") {
            let cwd = pathSegments(call.cwd, relativeTo: [])
            let home = pathSegments(call.home, relativeTo: [])
            self.cwd = cwd
            self.home = home
            project = ToolEvaluation.projectSegments(call, cwd: cwd)
            anchorsSplit = true
            target = pathSegments(targetPath, cwd: cwd, home: home)
        } else {
            cwd = []
            home = []
            project = []
            anchorsSplit = false
            // Absolute: `pathSegments` ignores cwd and home for it.
            target = targetPath.map { pathSegments($0, relativeTo: []) }
        }
        if family == .bash, let command = call.input["command"]?.stringValue {
            bash = BashCall(command: command)
        } else {
            bash = nil
        }
        host = name == "WebFetch" ? call.input["url"]?.stringValue.flatMap(urlHost) : nil
    }

    private static func projectSegments(_ call: ToolCall, cwd: [Substring]) -> [Substring] {
        var projectDir = call.projectDir
        var cwdText = call.cwd
        let same = projectDir.withUTF8 { a in cwdText.withUTF8 { b in a.elementsEqual(b) } }
        return same ? cwd : pathSegments(call.projectDir, relativeTo: [])
    }

    /// cwd, home and project split (on demand when they weren't needed up front).
    private func anchors() -> (cwd: [Substring], home: [Substring], project: [Substring]) {
        if anchorsSplit { return (cwd, home, project) }
        let cwd = pathSegments(call.cwd, relativeTo: [])
        return (cwd, pathSegments(call.home, relativeTo: []), ToolEvaluation.projectSegments(call, cwd: cwd))
    }

    /// Path-rule candidates for a Bash call's path arguments: every `/`-separated piece of every path, and of
    /// the cwd and home they may be relative to. A superset of the pieces of their normalised forms
    /// (`..` only removes), so no rule that could match is missed; no path is split into a list here.
    func bashPathCandidates(_ index: PolicyIndex, into result: inout [Int]) {
        guard let bash else { return }
        var any = false
        var relative = false
        var tilde = false
        bash.parts.withUnsafeBufferPointer { parts in
            for part in parts.indices {
                parts[part].forEachPath { path, _ in
                    any = true
                    let first = path.utf8.first
                    if first == UInt8(ascii: "~") { tilde = true }
                    if first != UInt8(ascii: "/") { relative = true }
                    index.pathPieceCandidates(path, into: &result)
                }
            }
        }
        guard any else { return }
        if relative { index.pathPieceCandidates(call.cwd, into: &result) }
        if tilde { index.pathPieceCandidates(call.home, into: &result) }
        if !index.pathWild.isEmpty { result.append(contentsOf: index.pathWild) }
    }

    /// Which parts of the call the rule matches (all bits for non-Bash tools), 0 for none.
    /// - Parameter strict: deny/ask semantics; false for allow semantics.
    func mask(_ rule: CompiledRule, strict: Bool) -> UInt64 {
        switch rule.pattern {
        case .anyCall(let names):
            return names.matches(name) ? Self.all : 0
        case .parameter(let names, let key, let value):
            guard names.matches(name), let text = call.input[key]?.ruleText else { return 0 }
            return value.matches(text) ? Self.all : 0
        case .field(let tool, let key, let value):
            guard name == tool, let text = call.input[key]?.stringValue else { return 0 }
            return value.matches(text) ? Self.all : 0
        case .domain(let domain):
            guard name == "WebFetch" else { return 0 }
            guard let host else { return strict ? Self.all : 0 }  // no host to check: fail closed
            return domain.matches(host) ? Self.all : 0
        case .path(let family, let path):
            if let bash { return strict ? bashPathMask(bash, family, path) : 0 }
            guard governs(family, strict: strict) else { return 0 }
            guard let target else { return strict ? Self.all : 0 }
            let (cwd, home, project) = anchors()
            return path.matches(target, home: home, cwd: cwd, project: project) ? Self.all : 0
        case .bash(let command):
            guard let bash else { return name == "Bash" && strict ? Self.all : 0 }
            return strict ? bashDenyMask(bash, command) : bashAllowMask(bash, command)
        case .exec, .open, .connect, .peer:
            return 0
        }
    }

    private func governs(_ family: PathFamily, strict: Bool) -> Bool {
        let reads = self.family == .read
        let edits = self.family == .edit
        switch (family, strict) {
        case (.read, true): return reads || edits  // a Read deny also refuses Edit/Write on the file
        case (.read, false): return reads
        case (.edit, true), (.write, true): return edits
        case (.edit, false): return edits || reads  // an Edit allow also allows reading
        case (.write, false): return false
        }
    }

    private func bashDenyMask(_ bash: BashCall, _ command: CommandPattern) -> UInt64 {
        if bash.malformed { return Self.all }
        var mask: UInt64 = 0
        for (index, part) in bash.parts.enumerated() {
            let analysis = part.analysis
            if analysis.opaque
                || analysis.views.contains(where: { command.matches($0.text(in: part.shell.words)) })
                || (command.namesCommandOnly && analysis.codeWords.contains(command.commandWord!))
            {
                mask |= BashCall.bit(index)
            }
        }
        return mask
    }

    private func bashAllowMask(_ bash: BashCall, _ command: CommandPattern) -> UInt64 {
        if bash.malformed { return 0 }
        var mask: UInt64 = 0
        for (index, part) in bash.parts.enumerated() where part.needsAllow {
            if let text = part.allowText, command.matches(text) { mask |= BashCall.bit(index) }
        }
        return mask
    }

    /// Read/Edit deny rules meet Bash too: `cat .env` reads `.env` (reference §2.4).
    private func bashPathMask(_ bash: BashCall, _ family: PathFamily, _ path: PathPattern) -> UInt64 {
        let (cwd, home, project) = anchors()
        var mask: UInt64 = 0
        for (index, part) in bash.parts.enumerated() {
            part.forEachPath { text, write in
                guard family == .read || write, mask & BashCall.bit(index) == 0 else { return }
                let segments = pathSegments(text, cwd: cwd, home: home)
                if path.matches(segments, home: home, cwd: cwd, project: project) { mask |= BashCall.bit(index) }
            }
        }
        return mask
    }

    /// The parts an allow must cover: top-level parts that aren't effect-free or a `cd` within the project.
    var required: UInt64 {
        guard let bash else { return Self.all }
        if bash.malformed { return Self.all }
        var mask: UInt64 = 0
        for (index, part) in bash.parts.enumerated() where part.needsAllow && !part.neutral {
            if let target = part.cdTarget {
                let (cwd, home, project) = anchors()
                let segments = pathSegments(target, cwd: cwd, home: home)
                if segments.starts(with: cwd) || segments.starts(with: project) { continue }
            }
            mask |= BashCall.bit(index)
        }
        return mask
    }

}
