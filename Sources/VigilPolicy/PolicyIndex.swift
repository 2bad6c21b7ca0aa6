// Buckets that turn 10 k rules into a handful of candidates per decision. Every bucket key is something
// every matching input must contain (a command word, a path segment, a domain suffix, a masked address),
// so a rule missing from the candidates cannot match.

struct PolicyIndex: Sendable {
    /// Exact tool name → rules on that tool (bare, key:value, main-field, WebFetch domain).
    var byTool: [String: [Int]] = [:]
    /// `mcp__server` → rules naming the whole server.
    var byMCPServer: [String: [Int]] = [:]
    /// Tool-name globs: checked on every call.
    var nameGlobs: [Int] = []
    /// Bash patterns by their literal first word or first two words (`git push`), and the rest.
    var bashByWord: [String: [Int]] = [:]
    var bashWild: [Int] = []
    /// Deny/ask Bash patterns in order: all apply to a command whose command word can't be known.
    var bashStrict: [Int] = []
    /// Path rules (tool side) by their most selective literal segment, and the rest.
    var pathBySegment: [String: [Int]] = [:]
    var pathWild: [Int] = []
    var domainBySuffix: [String: [Int]] = [:]
    var domainWild: [Int] = []
    var execByName: [String: [Int]] = [:]
    var execWild: [Int] = []
    var openBySegment: [String: [Int]] = [:]
    var openWild: [Int] = []
    /// Prefix length → masked network → rules.
    var connectByNetwork: [Int: [IPAddress: [Int]]] = [:]
    var connectPrefixLengths: [Int] = []
    var connectByHostSuffix: [String: [Int]] = [:]
    var connectWild: [Int] = []

    init(rules: [CompiledRule]) {
        for (index, rule) in rules.enumerated() where !rule.inert {
            add(rule.pattern, index, strict: rule.action != .allow)
        }
        connectPrefixLengths = connectByNetwork.keys.sorted(by: >)
    }

    private mutating func add(_ pattern: RulePattern, _ index: Int, strict: Bool) {
        switch pattern {
        case .anyCall(let names), .parameter(let names, _, _):
            addName(names, index)
        case .field(let tool, _, _):
            byTool[tool, default: []].append(index)
        case .bash(let command):
            if let word = command.indexKey {
                bashByWord[word, default: []].append(index)
            } else {
                bashWild.append(index)
            }
            if strict { bashStrict.append(index) }
        case .path(_, let path):
            if let key = path.keySegment { pathBySegment[key, default: []].append(index) } else { pathWild.append(index) }
        case .domain(let domain):
            if let key = domain.literalSuffix { domainBySuffix[key, default: []].append(index) } else { domainWild.append(index) }
        case .exec(let exec):
            if let key = exec.nameKey { execByName[key, default: []].append(index) } else { execWild.append(index) }
        case .open(let open):
            if let key = open.path.keySegment { openBySegment[key, default: []].append(index) } else { openWild.append(index) }
        case .connect(let connect):
            switch connect.target {
            case .network(let cidr): connectByNetwork[cidr.bits, default: [:]][cidr.network, default: []].append(index)
            case .host(let domain):
                if let key = domain.literalSuffix {
                    connectByHostSuffix[key, default: []].append(index)
                } else {
                    connectWild.append(index)
                }
            case .anyAddress, .unixPath: connectWild.append(index)
            }
        }
    }

    private mutating func addName(_ names: ToolNameMatcher, _ index: Int) {
        switch names {
        case .exact(let name): byTool[name, default: []].append(index)
        case .mcpServer(let server): byMCPServer[server, default: []].append(index)
        case .glob: nameGlobs.append(index)
        }
    }

    // MARK: lookups

    /// Rules that may match a call of `name`, excluding Bash patterns and path rules (looked up by content).
    func toolCandidates(_ name: String, into result: inout [Int]) {
        if let hits = byTool[name] { result.append(contentsOf: hits) }
        if name.hasPrefix("mcp__") {
            let rest = name.utf8.dropFirst(5)
            var server = name
            if let split = rest.firstRange(of: "__".utf8) {
                server = String(name[..<split.lowerBound])
            }
            if let hits = byMCPServer[server] { result.append(contentsOf: hits) }
        }
        result.append(contentsOf: nameGlobs)
    }

    func pathCandidates(_ segments: [Substring], into result: inout [Int]) {
        for segment in segments {
            if let hits = pathBySegment[String(segment)] { result.append(contentsOf: hits) }
        }
        result.append(contentsOf: pathWild)
    }

    func openCandidates(_ segments: [Substring], into result: inout [Int]) {
        for segment in segments {
            if let hits = openBySegment[String(segment)] { result.append(contentsOf: hits) }
        }
        result.append(contentsOf: openWild)
    }

    /// Every label-aligned suffix of the host: `a.b.example.com`, `b.example.com`, `example.com`, `com`.
    static func suffixes(of host: String) -> [Substring] {
        var result: [Substring] = [host[...]]
        var rest = host[...]
        while let dot = rest.firstIndex(of: ".") {
            rest = rest[rest.index(after: dot)...]
            result.append(rest)
        }
        return result
    }

    func domainCandidates(_ host: String, into result: inout [Int]) {
        for suffix in PolicyIndex.suffixes(of: host) {
            if let hits = domainBySuffix[String(suffix)] { result.append(contentsOf: hits) }
        }
        result.append(contentsOf: domainWild)
    }

    func connectCandidates(address: IPAddress?, host: String?, into result: inout [Int]) {
        if let address {
            for bits in connectPrefixLengths {
                if let hits = connectByNetwork[bits]?[address.masked(bits)] { result.append(contentsOf: hits) }
            }
        }
        if let host {
            for suffix in PolicyIndex.suffixes(of: host) {
                if let hits = connectByHostSuffix[String(suffix)] { result.append(contentsOf: hits) }
            }
        }
        result.append(contentsOf: connectWild)
    }
}
