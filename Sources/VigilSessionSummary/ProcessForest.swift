// SPDX-License-Identifier: Apache-2.0
// A tool call's execs drawn as a tree. The timeline says each exec's parent at fork time; a parent
// that never exec'd (a subshell, `( … &)`) is not in the timeline, so its children hang from the
// call's tool shell, which everything a Bash call runs descends from.

struct ProcessForest {
    private struct Node {
        var pid: Int32
        var ppid: Int32?
        var process: SessionSummary.Process
    }

    private var nodes: [Node] = []
    private var byPID: [Int32: Int] = [:]

    mutating func exec(pid: Int32, ppid: Int32?, path: String, argv: String, decision: String?, rule: String?) {
        let shell = ToolShell.command(inArgv: argv)
        let command = shell ?? (argv.isEmpty ? path : argv)
        if let at = byPID[pid] {
            // The same process exec'd again: one node, its programs in order.
            nodes[at].process.thenExecuted.append(command)
            if let decision, nodes[at].process.decision == nil {
                nodes[at].process.decision = decision
                nodes[at].process.rule = rule
            }
            return
        }
        let first = argv.prefix { $0 != " " }
        let executable = Self.basename(first) == Self.basename(Substring(path)) || shell != nil ? nil : path
        let process = SessionSummary.Process(
            pid: pid, command: command, executable: executable, isToolShell: shell != nil, thenExecuted: [], decision: decision,
            rule: rule, count: 1, children: [])
        byPID[pid] = nodes.count
        nodes.append(Node(pid: pid, ppid: ppid, process: process))
    }

    /// The forest, identical childless siblings merged with a count.
    func roots() -> [SessionSummary.Process] {
        var parentOf: [Int?] = Array(repeating: nil, count: nodes.count)
        let shell = nodes.firstIndex { $0.process.isToolShell }
        for (index, node) in nodes.enumerated() {
            if let ppid = node.ppid, let parent = byPID[ppid], parent != index {
                parentOf[index] = parent
            } else if let shell, shell != index {
                parentOf[index] = shell
            }
        }
        // A cycle (pid reuse) is cut at the node that closes it.
        for index in nodes.indices {
            var seen: Set<Int> = [index]
            var current = parentOf[index]
            while let at = current {
                if !seen.insert(at).inserted {
                    parentOf[index] = nil
                    break
                }
                current = parentOf[at]
            }
        }
        var children: [[Int]] = Array(repeating: [], count: nodes.count)
        var top: [Int] = []
        for index in nodes.indices {
            if let parent = parentOf[index] { children[parent].append(index) } else { top.append(index) }
        }
        func build(_ index: Int) -> SessionSummary.Process {
            var process = nodes[index].process
            process.children = Self.collapse(children[index].map(build))
            return process
        }
        return Self.collapse(top.map(build))
    }

    private static func collapse(_ siblings: [SessionSummary.Process]) -> [SessionSummary.Process] {
        var out: [SessionSummary.Process] = []
        var seen: [String: Int] = [:]
        for process in siblings {
            guard process.children.isEmpty, !process.isToolShell else {
                out.append(process)
                continue
            }
            let key =
                [process.command, process.executable ?? "", process.decision ?? "", process.rule ?? ""]
                .joined(separator: "\u{0}") + "\u{0}" + process.thenExecuted.joined(separator: "\u{0}")
            if let at = seen[key] {
                out[at].count += process.count
            } else {
                seen[key] = out.count
                out.append(process)
            }
        }
        return out
    }

    private static func basename(_ path: Substring) -> Substring {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return path[path.index(after: slash)...]
    }
}
