// SPDX-License-Identifier: Apache-2.0
// Building the summary: the conversation (Claude Code's transcript) gives the steps when the daemon
// has it, the daemon's own timeline otherwise; both are joined with the timeline's decisions and
// kernel events by tool_use_id.
import Foundation
import VigilAPI

extension SessionSummary {
    public init(_ detail: SessionDetail) {
        var decisions: [String: Decision] = [:]
        var timelineResults: [String: Result] = [:]
        var kernel: [String: [KernelLine]] = [:]
        var unattributed: [KernelLine] = []
        var ended: String?
        for line in detail.timeline {
            switch line.kind {
            case .kernel:
                guard let call = line.toolUseID else {
                    unattributed.append(KernelLine(line))
                    continue
                }
                kernel[call, default: []].append(KernelLine(line))
            case .toolCall:
                if let call = line.toolUseID, let verdict = line.decision {
                    decisions[call] = Decision(verdict: verdict, rule: line.rule, reason: verdict == "allow" ? nil : line.reason)
                }
            case .toolResult:
                if let call = line.toolUseID, timelineResults[call] == nil {
                    // `ran` and `failed` are what `result:` and `error:` say already; `interrupted` is not.
                    let ended = line.decision ?? "ran"
                    timelineResults[call] = Result(
                        text: line.text ?? "", isError: ended != "ran", permission: ended == "ran" || ended == "failed" ? nil : ended)
                }
            case .sessionEnd:
                ended = line.text
            case .sessionStart, .prompt, .assistant, .notice:
                break
            }
        }

        var steps: [Step] = []
        var shown: Set<String> = []
        func call(_ id: String, tool: String?, input: String?, timestamp: String?, kind: Step.Kind = .toolCall) -> Step {
            var step = Step(kind: kind, timestamp: timestamp)
            step.toolUseID = id
            step.tool = tool
            step.input = input
            if tool == "Bash", let input { step.command = Self.command(fromInput: input) }
            step.decision = decisions[id]
            step.result = timelineResults[id]
            if let lines = kernel[id] { step.kernel = KernelSummary(lines) }
            return step
        }
        if !detail.conversation.isEmpty {
            var results: [String: Result] = [:]
            for item in detail.conversation {
                if case .toolResult(let id, let text, let isError, let permission) = item.content, results[id] == nil {
                    results[id] = Result(text: text, isError: isError, permission: permission)
                }
            }
            for item in detail.conversation {
                switch item.content {
                case .prompt(let text): steps.append(Step(kind: .prompt, timestamp: item.timestamp, text: text))
                case .assistantText(let text): steps.append(Step(kind: .assistantText, timestamp: item.timestamp, text: text))
                case .toolUse(let id, let name, let input):
                    guard shown.insert(id).inserted else { continue }
                    var step = call(id, tool: name, input: input, timestamp: item.timestamp)
                    if let result = results[id] { step.result = result }
                    steps.append(step)
                case .toolResult: continue  // under its call
                }
            }
        } else {
            for line in detail.timeline {
                let time = String(line.time)
                switch line.kind {
                case .prompt: steps.append(Step(kind: .prompt, timestamp: time, text: line.text))
                case .assistant: steps.append(Step(kind: .assistantText, timestamp: time, text: line.text))
                case .toolCall:
                    guard let id = line.toolUseID, shown.insert(id).inserted else { continue }
                    steps.append(call(id, tool: line.tool, input: line.text, timestamp: time))
                case .kernel, .toolResult, .sessionStart, .sessionEnd, .notice: continue
                }
            }
        }
        // Nothing the kernel saw drops out: calls the steps do not show come last.
        let orphans = Set(kernel.keys).union(decisions.keys).union(timelineResults.keys).subtracting(shown)
        for id in orphans.sorted() { steps.append(call(id, tool: nil, input: nil, timestamp: nil, kind: .orphanActivity)) }

        self.init(
            record: detail.record, steps: steps, unattributedEvents: unattributed.count,
            agentActivity: unattributed.isEmpty ? nil : KernelSummary(unattributed), unreadableTimelineLines: detail.unreadableTimelineLines,
            ended: ended)
    }

    /// `command` of a Bash tool input (`{"command":"…","description":"…"}`).
    static func command(fromInput input: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(input.utf8)) as? [String: Any] else { return nil }
        return object["command"] as? String
    }
}

extension SessionSummary.Step {
    init(kind: Kind, timestamp: String?, text: String? = nil) {
        self.kind = kind
        self.timestamp = timestamp
        self.text = text
    }
}

extension SessionSummary.KernelSummary {
    init(_ lines: [KernelLine]) {
        events = lines.count
        var refusals = Counted<SessionSummary.Refusal>()
        var network = Counted<SessionSummary.Destination>()
        var files = Counted<SessionSummary.FileAccess>()
        var system: [SystemFileCategory: Int] = [:]
        var other = Counted<SessionSummary.Other>()
        var tree = ProcessForest()
        for line in lines {
            if line.refused {
                refusals.add(
                    SessionSummary.Refusal(
                        event: line.event, decision: line.decision, what: line.what, rule: line.rule, mechanism: line.mechanism, count: 0))
            }
            switch line.body {
            case .exec(let path, let argv):
                tree.exec(pid: line.pid, ppid: line.ppid, path: path, argv: argv, decision: line.refused ? line.decision : nil, rule: line.rule)
            case .open(let path, let write, let result):
                guard !line.refused else { continue }
                if let category = SystemFileCategory.of(path: path, write: write, notFound: result == -2) {
                    system[category, default: 0] += 1
                } else {
                    let failure = result.flatMap { $0 < 0 ? ErrnoName.of($0) : nil }
                    files.add(SessionSummary.FileAccess(path: path, write: write, failure: failure, count: 0))
                }
            case .network(let event, let family, var endpoint, let result, let peer):
                guard !line.refused else { continue }
                if family == "unix" {
                    // A path has no port; the name service cache's socket is libc's own (getpwuid…).
                    if endpoint.hasSuffix(" port 0") { endpoint.removeLast(7) }
                    if endpoint == "/var/run/nscd/socket" || endpoint == "/run/nscd/socket" {
                        system[.nameService, default: 0] += 1
                        continue
                    }
                }
                let failure = result.flatMap { $0 < 0 && $0 != -115 ? ErrnoName.of($0) : nil }
                network.add(SessionSummary.Destination(event: event, family: family, endpoint: endpoint, peer: peer, failure: failure, count: 0))
            case .other(let text):
                guard !line.refused else { continue }
                other.add(SessionSummary.Other(text: text, count: 0))
            }
        }
        self.refusals = refusals.items
        processes = tree.roots()
        self.network = network.items
        self.files = files.items
        systemFiles = SystemFileCategory.allCases.compactMap { category in
            system[category].map { SessionSummary.SystemFiles(category: category, count: $0) }
        }
        self.other = other.items
    }
}

/// Items with a `count`, identical ones (count aside) merged, in first-seen order.
private struct Counted<Item: Hashable & CountedItem> {
    private(set) var items: [Item] = []
    private var index: [Item: Int] = [:]

    mutating func add(_ item: Item) {
        if let at = index[item] {
            items[at].count += 1
        } else {
            index[item] = items.count
            var first = item
            first.count = 1
            items.append(first)
        }
    }
}

private protocol CountedItem { var count: Int { get set } }
extension SessionSummary.Refusal: CountedItem {}
extension SessionSummary.Destination: CountedItem {}
extension SessionSummary.FileAccess: CountedItem {}
extension SessionSummary.Other: CountedItem {}

extension KernelLine {
    /// The event's name as the timeline's `event` field has it.
    var event: String {
        switch body {
        case .exec: "exec"
        case .open: "open"
        case .network(let event, _, _, _, _): event
        case .other: "other"
        }
    }

    /// What was refused, in a few words.
    var what: String {
        switch body {
        case .exec(let path, let argv): ToolShell.command(inArgv: argv) ?? (argv.isEmpty ? path : argv)
        case .open(let path, let write, _): path + (write ? " (write)" : " (read)")
        case .network(_, let family, let endpoint, _, let peer): family + " " + endpoint + (peer.map { " — crossing to \($0)" } ?? "")
        case .other(let text): text
        }
    }
}
