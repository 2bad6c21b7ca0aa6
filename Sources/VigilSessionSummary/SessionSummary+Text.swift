// SPDX-License-Identifier: Apache-2.0
// The summary as a person reads it in a terminal: one block per step, refusals marked `!!` and
// listed first under their call, the commands as a tree, then destinations, files and one line for
// the system's own files.
import Foundation
import VigilAPI

extension SessionSummary {
    public struct TextLimits: Sendable, Hashable {
        /// Characters of a prompt, answer, input, command or result.
        public var textCharacters = 300
        /// Files (and destinations) listed per call; the rest are counted.
        public var filesPerCall = 12
        /// Process lines per call; the rest are counted.
        public var processesPerCall = 40

        public init() {}
    }

    /// The readable form, ending with a newline.
    public func text(limits: TextLimits = TextLimits()) -> String {
        var out = TextWriter(limits: limits)
        let r = record
        out.line("session \(r.id) (\(r.origin.rawValue)) of \(r.user), pid \(r.rootPID)\(r.cwd.map { ", \($0)" } ?? "")")
        if !r.claudeSessionIDs.isEmpty { out.line("claude sessions: \(r.claudeSessionIDs.joined(separator: ", "))") }
        out.line(
            "\(r.toolCalls) tool calls (\(r.deniedToolCalls) denied), \(r.kernelEvents) kernel events"
                + (r.decisions.isEmpty
                    ? "" : " (" + r.decisions.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")"))
        for problem in r.problems { out.line("!! \(problem)") }
        for step in steps { out.step(step) }
        if let agent = agentActivity {
            // Its refusals and destinations matter; its own helpers (git, the shell snapshot) and
            // files (config, transcript, caches) are counted, and --all lists them.
            out.line("the agent's own activity, tied to no tool call: \(unattributedEvents) kernel events")
            var own = agent
            own.processes = []
            own.files = []
            own.systemFiles = []
            out.kernel(own)
            let processes = agent.processes.reduce(0) { $0 + SessionSummary.count($1) }
            let system = agent.systemFiles.reduce(0) { $0 + $1.count }
            out.line("  ran \(processes) processes, opened \(agent.files.count) files and \(system) of the system's own (--all lists them)")
        }
        if unreadableTimelineLines > 0 { out.line("!! \(unreadableTimelineLines) timeline lines could not be read") }
        if let ended { out.line("ended: \(out.short(ended))") }
        out.line("(vigil session show --all \(r.id): every event)")
        return out.text
    }
}

private struct TextWriter {
    let limits: SessionSummary.TextLimits
    var text = ""

    mutating func line(_ s: String) { text += s + "\n" }

    func short(_ s: String) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: "⏎")
        return flat.count <= limits.textCharacters ? flat : flat.prefix(limits.textCharacters) + "…"
    }

    mutating func step(_ step: SessionSummary.Step) {
        let time = step.timestamp.map { Self.clock($0) + " " } ?? ""
        switch step.kind {
        case .prompt: line("\(time)prompt: \(short(step.text ?? ""))")
        case .assistantText: line("\(time)assistant: \(short(step.text ?? ""))")
        case .toolCall, .orphanActivity:
            var head =
                step.kind == .toolCall
                ? "\(time)\(step.tool ?? "?") \(step.toolUseID ?? "")"
                : "\(time)activity of \(step.toolUseID ?? "") (call not in the conversation)"
            if let d = step.decision {
                head += d.verdict == "allow" ? " → allow" : " → !! \(d.verdict.uppercased())"
                if let rule = d.rule { head += " [\(rule)]" }
                if let reason = d.reason { head += ": \(short(reason))" }
            }
            line(head)
            // The tree's first line is the command itself when Claude Code's shell ran it.
            let inTree = step.kernel?.processes.contains { $0.isToolShell && $0.command == step.command } == true
            if let command = step.command {
                if !inTree { line("  $ \(short(command))") }
            } else if let input = step.input {
                line("  input: \(short(input))")
            }
            if let kernel = step.kernel { self.kernel(kernel) }
            if let r = step.result {
                line("  " + (r.isError ? "error: " : "result: ") + short(r.text) + (r.permission.map { "  (\($0))" } ?? ""))
            }
        }
    }

    mutating func kernel(_ k: SessionSummary.KernelSummary) {
        for r in k.refusals {
            line(
                "  !! \(r.decision.uppercased()) \(r.event) \(short(r.what))\(r.rule.map { " [\($0)]" } ?? "")"
                    + (r.mechanism.map { " (\(short($0)))" } ?? "") + times(r.count))
        }
        if !k.processes.isEmpty {
            line("  ran:")
            var budget = limits.processesPerCall
            var omitted = 0
            for (index, process) in k.processes.enumerated() {
                tree(process, prefix: "    ", last: index == k.processes.count - 1, root: true, budget: &budget, omitted: &omitted)
            }
            if omitted > 0 { line("    … \(omitted) more processes") }
        }
        let destinations = k.network.map { d in
            "\(d.event) \(d.family) \(d.endpoint)\(d.peer.map { " — crossing to \($0)" } ?? "")\(d.failure.map { " (\($0))" } ?? "")\(times(d.count))"
        }
        list("network", destinations)
        let files = k.files.map { f in "\(f.path) (\(f.write ? "write" : "read")\(f.failure.map { ", \($0)" } ?? ""))\(times(f.count))" }
        list("files", files)
        for o in k.other { line("  \(short(o.text))\(times(o.count))") }
        if !k.systemFiles.isEmpty {
            line("  system files: " + k.systemFiles.map { "\($0.count) \($0.category.label)" }.joined(separator: ", "))
        }
    }

    private mutating func list(_ title: String, _ items: [String]) {
        guard !items.isEmpty else { return }
        for (index, item) in items.prefix(limits.filesPerCall).enumerated() {
            line((index == 0 ? "  \(title): " : String(repeating: " ", count: title.count + 4)) + short(item))
        }
        if items.count > limits.filesPerCall { line(String(repeating: " ", count: title.count + 4) + "… \(items.count - limits.filesPerCall) more") }
    }

    private mutating func tree(
        _ p: SessionSummary.Process, prefix: String, last: Bool, root: Bool, budget: inout Int, omitted: inout Int
    ) {
        guard budget > 0 else {
            omitted += SessionSummary.count(p)
            return
        }
        budget -= 1
        var text = p.isToolShell ? "$ \(p.command)" : p.command
        if let exe = p.executable { text += "  (\(exe))" }
        for next in p.thenExecuted { text += " → \(next)" }
        var tail = "  [pid \(p.pid)]" + times(p.count)
        if let decision = p.decision { tail += "  !! \(decision.uppercased())\(p.rule.map { " [\($0)]" } ?? "")" }
        let branch = root ? "" : (last ? "└─ " : "├─ ")
        line(prefix + branch + short(text) + tail)
        let childPrefix = root ? prefix : prefix + (last ? "   " : "│  ")
        for (index, child) in p.children.enumerated() {
            tree(child, prefix: childPrefix, last: index == p.children.count - 1, root: false, budget: &budget, omitted: &omitted)
        }
    }

    private func times(_ count: Int) -> String { count > 1 ? "  ×\(count)" : "" }

    /// `2026-11-22T04:56:20.851Z` → `04:56:20.851`; Unix nanoseconds → the UTC time of day.
    static func clock(_ timestamp: String) -> String {
        if let t = timestamp.firstIndex(of: "T") { return String(timestamp[timestamp.index(after: t)...].prefix { $0 != "Z" }) }
        guard let nanoseconds = Int64(timestamp) else { return timestamp }
        let seconds = nanoseconds / 1_000_000_000
        let day = ((seconds % 86_400) + 86_400) % 86_400
        let millis = (nanoseconds / 1_000_000) % 1000
        return String(format: "%02d:%02d:%02d.%03d", day / 3600, day / 60 % 60, day % 60, (millis + 1000) % 1000)
    }
}

extension SessionSummary {
    /// The processes a node stands for: itself (with its identical siblings) and its descendants.
    static func count(_ p: Process) -> Int { p.count + p.children.reduce(0) { $0 + count($1) } }

    /// The JSON form, keys sorted.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
