// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// firewall_active: is any packet-filtering rule loaded, in nftables or legacy iptables?

import Foundation

/// Decides `firewall_active`.
///
/// Sources: `nft list ruleset` (through the command runner), and for legacy iptables
/// `/proc/net/ip_tables_names` / `ip6_tables_names` (readable without privileges; they list loaded
/// tables, not rules), then `iptables-legacy-save` / `ip6tables-legacy-save` when a `filter` table is
/// loaded. Active means at least one *filtering* chain — an nftables base chain of `type filter`, or
/// a built-in chain of the iptables `filter` table — holds a rule or has a `drop` policy. NAT-only
/// rules do not count. `true` if any source shows one; `false` only if every source was read and none
/// does; otherwise `unknown` with each unreadable source's reason.
public struct FirewallProbe: Sendable {
    public var root: PostureRoot
    public var runner: CommandRunner

    public init(root: PostureRoot, runner: CommandRunner) {
        self.root = root
        self.runner = runner
    }

    /// What one source showed.
    public enum SourceVerdict: Sendable, Equatable {
        case filtering([String])
        case noFiltering(String)
        case unreadable(String)
    }

    public func observe() -> PostureObservation {
        var evidence: [PostureEvidence] = []
        var verdicts = [nftables(&evidence)]
        for family in [("ip_tables_names", "iptables"), ("ip6_tables_names", "ip6tables")] {
            verdicts.append(legacy(file: "/proc/net/" + family.0, tool: family.1, &evidence))
        }
        if verdicts.contains(where: { if case .filtering = $0 { true } else { false } }) {
            return PostureObservation(.bool(true), evidence: evidence)
        }
        let reasons = verdicts.compactMap { if case .unreadable(let reason) = $0 { reason } else { nil } }
        guard reasons.isEmpty else { return PostureObservation(.unknown(reason: reasons.joined(separator: "; ")), evidence: evidence) }
        return PostureObservation(.bool(false), evidence: evidence)
    }

    private func nftables(_ evidence: inout [PostureEvidence]) -> SourceVerdict {
        let command = PostureCommand("nft", ["list", "ruleset"])
        let verdict: SourceVerdict =
            switch runner.run(command) {
            case .exited(0, let stdout, _): Self.nftablesVerdict(ruleset: stdout)
            case .exited(let status, _, let stderr): .unreadable("\(command) exited \(status): \(Self.firstLine(stderr))")
            case .unavailable(let reason): .unreadable("\(command) not run: \(reason)")
            }
        evidence.append(.init(source: command.description, detail: Self.describe(verdict)))
        return verdict
    }

    private func legacy(file: String, tool: String, _ evidence: inout [PostureEvidence]) -> SourceVerdict {
        let tables: [String]
        do throws(PostureReadError) {
            tables = try root.readText(file).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        } catch  where error.isNotFound && root.exists("/proc/net") {
            evidence.append(.init(source: file, detail: "absent: legacy \(tool) not loaded"))
            return .noFiltering("legacy \(tool) not loaded")
        } catch {
            evidence.append(.init(source: file, detail: "\(error)"))
            return .unreadable("\(error)")
        }
        evidence.append(.init(source: file, detail: tables.isEmpty ? "no tables" : "tables: \(tables.joined(separator: ", "))"))
        guard tables.contains("filter") else { return .noFiltering("no legacy \(tool) filter table") }
        var reasons: [String] = []
        for command in [PostureCommand("\(tool)-legacy-save", ["-t", "filter"]), PostureCommand("\(tool)-save", ["-t", "filter"])] {
            switch runner.run(command) {
            case .exited(0, let stdout, _):
                let verdict = Self.iptablesSaveVerdict(stdout)
                evidence.append(.init(source: command.description, detail: Self.describe(verdict)))
                return verdict
            case .exited(let status, _, let stderr): reasons.append("\(command) exited \(status): \(Self.firstLine(stderr))")
            case .unavailable(let reason): reasons.append(reason)
            }
        }
        let reason = "legacy \(tool) filter table loaded but rules unreadable: " + reasons.joined(separator: "; ")
        evidence.append(.init(source: file, detail: reason))
        return .unreadable(reason)
    }

    /// Filtering chains in `nft list ruleset` text: base chains of `type filter` with a rule or `policy drop`.
    public static func nftablesVerdict(ruleset: String) -> SourceVerdict {
        var filtering: [String] = []
        var table = ""
        var depth = 0
        var chain: (name: String, startDepth: Int, isFilter: Bool, hook: String?, policy: String, rules: Int)?
        for raw in ruleset.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if chain == nil, line.hasPrefix("table "), line.hasSuffix("{") {
                table = String(line.dropFirst("table ".count).dropLast()).trimmingCharacters(in: .whitespaces)
            } else if chain == nil, line.hasPrefix("chain "), line.hasSuffix("{") {
                let name = String(line.dropFirst("chain ".count).dropLast()).trimmingCharacters(in: .whitespaces)
                chain = (name, depth, false, nil, "accept", 0)
            } else if var current = chain, depth == current.startDepth + 1, line != "}" {
                let words = line.split(whereSeparator: { $0 == " " || $0 == ";" }).map(String.init)
                if line.hasPrefix("type ") {
                    current.isFilter = words.count > 1 && words[1] == "filter"
                    current.hook = words.firstIndex(of: "hook").flatMap { $0 + 1 < words.count ? words[$0 + 1] : nil }
                }
                if let index = words.firstIndex(of: "policy"), index + 1 < words.count { current.policy = words[index + 1] }
                if !line.isEmpty, !line.hasPrefix("type "), !line.hasPrefix("policy "), !line.hasPrefix("comment ") {
                    current.rules += 1
                }
                chain = current
            }
            depth += line.filter { $0 == "{" }.count - line.filter { $0 == "}" }.count
            if let current = chain, depth <= current.startDepth {
                if current.isFilter, let hook = current.hook, current.rules > 0 || current.policy == "drop" {
                    filtering.append("\(table) \(current.name) (hook \(hook), policy \(current.policy), \(current.rules) rules)")
                }
                chain = nil
            }
        }
        return filtering.isEmpty ? .noFiltering("no filter base chain with rules or drop policy") : .filtering(filtering)
    }

    /// Filtering chains in `iptables-save` text: in `*filter`, built-in chains with a non-ACCEPT
    /// policy, and chains with `-A` rules.
    public static func iptablesSaveVerdict(_ text: String) -> SourceVerdict {
        var inFilter = false
        var rules: [String: Int] = [:]
        var filtering: [String] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("*") { inFilter = line == "*filter"; continue }
            guard inFilter else { continue }
            let words = line.split(separator: " ").map(String.init)
            if line.hasPrefix(":"), words.count >= 2, words[1] != "-", words[1] != "ACCEPT" {
                filtering.append("filter \(words[0].dropFirst()) policy \(words[1])")
            } else if words.first == "-A", words.count >= 2 {
                rules[words[1], default: 0] += 1
            }
        }
        filtering += rules.keys.sorted().map { "filter \($0) (\(rules[$0]!) rules)" }
        return filtering.isEmpty ? .noFiltering("filter table has no rules and ACCEPT policies") : .filtering(filtering)
    }

    private static func describe(_ verdict: SourceVerdict) -> String {
        switch verdict {
        case .filtering(let chains): "filtering: " + chains.joined(separator: "; ")
        case .noFiltering(let detail): detail
        case .unreadable(let reason): reason
        }
    }

    private static func firstLine(_ text: String) -> String {
        let line = text.split(separator: "\n").first.map(String.init) ?? ""
        return line.isEmpty ? "(no message)" : line
    }
}
