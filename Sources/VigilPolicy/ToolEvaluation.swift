// Matching one tool call against one rule. Deny and ask rules are matched strictly (every part, through
// wrappers, fail closed on what can't be known); allow rules leniently, exactly as far as Claude Code goes.

struct ToolEvaluation {
    static let all = UInt64.max
    static let readTools: Set<String> = ["Read", "Glob", "Grep", "LS", "NotebookRead"]
    static let editTools: Set<String> = ["Edit", "Write", "MultiEdit", "NotebookEdit"]

    let call: ToolCall
    let name: String
    let bash: BashCall?
    /// The file a path tool acts on, normalised; nil for other tools or when the input has no path.
    let target: [Substring]?
    let host: String?
    let cwd: [Substring]
    let home: [Substring]
    let project: [Substring]

    init(_ call: ToolCall) {
        self.call = call
        name = call.name == "Task" ? "Agent" : call.name
        // Only path tools and Bash (path arguments) need the anchors split.
        let pathy = name == "Bash" || ToolEvaluation.readTools.contains(name) || ToolEvaluation.editTools.contains(name)
        let cwd = pathy ? pathSegments(call.cwd, relativeTo: []) : []
        let home = pathy ? pathSegments(call.home, relativeTo: []) : []
        self.cwd = cwd
        self.home = home
        project = pathy ? pathSegments(call.projectDir, relativeTo: []) : []
        if name == "Bash", let command = call.input["command"]?.stringValue {
            bash = BashCall(command: command)
        } else {
            bash = nil
        }
        if ToolEvaluation.readTools.contains(name) || ToolEvaluation.editTools.contains(name) {
            let field = call.input["file_path"] ?? call.input["notebook_path"] ?? call.input["path"]
            let fallback = ToolEvaluation.readTools.contains(name) && name != "Read" ? call.cwd : nil
            target = (field?.stringValue ?? fallback).map { pathSegments($0, cwd: cwd, home: home) }
        } else {
            target = nil
        }
        host = name == "WebFetch" ? call.input["url"]?.stringValue.flatMap(urlHost) : nil
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
            return path.matches(target, home: home, cwd: cwd, project: project) ? Self.all : 0
        case .bash(let command):
            guard let bash else { return name == "Bash" && strict ? Self.all : 0 }
            return strict ? bashDenyMask(bash, command) : bashAllowMask(bash, command)
        case .exec, .open, .connect:
            return 0
        }
    }

    private func governs(_ family: PathFamily, strict: Bool) -> Bool {
        let reads = ToolEvaluation.readTools.contains(name)
        let edits = ToolEvaluation.editTools.contains(name)
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
                || analysis.texts.contains(where: command.matches)
                || (command.namesCommandOnly && analysis.codeWords.contains(command.commandWord!)) {
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
        var mask: UInt64 = 0
        for (index, part) in bash.parts.enumerated() {
            for (text, write) in part.paths where family == .read || write {
                let segments = pathSegments(text, cwd: cwd, home: home)
                if path.matches(segments, home: home, cwd: cwd, project: project) {
                    mask |= BashCall.bit(index)
                    break
                }
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
                let segments = pathSegments(target, cwd: cwd, home: home)
                if segments.starts(with: cwd) || segments.starts(with: project) { continue }
            }
            mask |= BashCall.bit(index)
        }
        return mask
    }

    /// Bash path arguments, for index lookups.
    var bashPathSegments: [[Substring]] {
        guard let bash else { return [] }
        return bash.parts.flatMap { $0.paths.map { pathSegments($0.path, cwd: cwd, home: home) } }
    }
}
