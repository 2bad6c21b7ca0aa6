// SPDX-License-Identifier: Apache-2.0
// Kernel rules implied by tool rules. Only where sound: the derived rule denies nothing the tool rule
// wouldn't, read as a statement about what the agent may run, open or reach.

extension Policy {
    /// Binaries the harness itself runs for every tool call: denying their exec would kill the agent.
    static let harnessBinaries: Set<String> = Wrappers.shells.union(["env", "timeout", "claude", "node", "bun"])

    /// The kernel pattern a deny tool rule implies, or why there is none.
    static func derivation(for pattern: RulePattern) -> Result<RulePattern, DerivationGap> {
        switch pattern {
        case .bash(let command):
            guard let word = command.commandWord else { return .failure(.init("the command word is a wildcard")) }
            guard !harnessBinaries.contains(basename(word)) else {
                return .failure(.init("Claude Code runs every command through \(basename(word))"))
            }
            let arguments = command.namesCommandOnly ? "" : command.argumentsPattern.map { " " + $0 } ?? ""
            guard let exec = try? ExecPattern(word + arguments) else {
                return .failure(.init("the pattern has no exec equivalent"))
            }
            return .success(.exec(exec))
        case .path(let family, let path):
            guard path.anchor != .project, path.anchor != .cwd, path.anchor != .cwdAnyDepth else {
                return .failure(.init("project-relative paths have no fixed place in the kernel's view"))
            }
            // A Read deny also refuses writes (Claude Code blocks Edit/Write on it); an Edit deny only writes.
            let mode: OpenPattern.Mode = family == .read ? .any : .write
            guard let open = try? OpenPattern(path.kernelSpecifier + (mode == .any ? "" : ", write")) else {
                return .failure(.init("the path has no open() equivalent"))
            }
            return .success(.open(open))
        case .domain(let domain):
            guard let connect = try? ConnectPattern(domain.source) else {
                return .failure(.init("the domain has no connect() equivalent"))
            }
            return .success(.connect(connect))
        default:
            return .failure(.init("no kernel action corresponds to this rule form"))
        }
    }

    struct DerivationGap: Error, Sendable {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }
}

extension PathPattern {
    /// The same pattern spelled for `Open(…)`: absolute, `~/`, or any-depth relative.
    var kernelSpecifier: String {
        switch anchor {
        case .absolute: "/" + body
        case .home: "~/" + body
        default: body.hasPrefix("**/") ? body : "**/" + body
        }
    }

    private var body: String {
        segments.map { segment in
            switch segment {
            case .any: "**"
            case .glob(let glob): glob.text
            }
        }.drop { $0 == "**" && anchor != .absolute && anchor != .home }.joined(separator: "/")
    }
}
