// SPDX-License-Identifier: Apache-2.0
// Buckets that turn 10 k rules into a handful of candidates per decision. Every bucket key is something
// every matching input must contain (a command word, a path segment, a domain suffix, a masked address),
// so a rule missing from the candidates cannot match.

/// A class with only constants: built once, then read by reference on the hot path (no bucket is copied,
/// no access is checked at run time).
final class PolicyIndex: Sendable {
    /// Exact tool name → rules on that tool (bare, key:value, main-field, WebFetch domain).
    let byTool: [String: [Int]]
    /// `mcp__server` → rules naming the whole server.
    let byMCPServer: [String: [Int]]
    /// Tool-name globs: checked on every call.
    let nameGlobs: [Int]
    /// Bash patterns by their literal first word or first two words (`git push`), and the rest.
    let bashByWord: [String: [Int]]
    let bashWild: [Int]
    /// Deny/ask Bash patterns in order: all apply to a command whose command word can't be known.
    let bashStrict: [Int]
    /// Path rules (tool side) by their most selective literal segment, and the rest.
    let pathBySegment: [String: [Int]]
    let pathWild: [Int]
    let domainBySuffix: [String: [Int]]
    let domainWild: [Int]
    let execByName: [String: [Int]]
    let execWild: [Int]
    let openBySegment: [String: [Int]]
    let openWild: [Int]
    /// Prefix length → masked network → rules.
    let connectByNetwork: [Int: [IPAddress: [Int]]]
    let connectPrefixLengths: [Int]
    let connectByHostSuffix: [String: [Int]]
    let connectWild: [Int]
    /// `Peer(…)` rules: few, each checked.
    let peerRules: [Int]

    /// The buckets above, frozen for the hot path (looked up from input bytes, no String built).
    let toolTable: ByteTable
    let mcpServerTable: ByteTable
    let bashWordTable: ByteTable
    let pathTable: ByteTable
    let domainTable: ByteTable
    let execTable: ByteTable
    let openTable: ByteTable
    let connectHostTable: ByteTable

    init(rules: [CompiledRule]) {
        var builder = PolicyIndexBuilder()
        for (index, rule) in rules.enumerated() where !rule.inert {
            builder.add(rule.pattern, index, strict: rule.action != .allow)
        }
        byTool = builder.byTool
        byMCPServer = builder.byMCPServer
        nameGlobs = builder.nameGlobs
        bashByWord = builder.bashByWord
        bashWild = builder.bashWild
        bashStrict = builder.bashStrict
        pathBySegment = builder.pathBySegment
        pathWild = builder.pathWild
        domainBySuffix = builder.domainBySuffix
        domainWild = builder.domainWild
        execByName = builder.execByName
        execWild = builder.execWild
        openBySegment = builder.openBySegment
        openWild = builder.openWild
        connectByNetwork = builder.connectByNetwork
        connectPrefixLengths = builder.connectByNetwork.keys.sorted(by: >)
        connectByHostSuffix = builder.connectByHostSuffix
        connectWild = builder.connectWild
        peerRules = builder.peerRules
        toolTable = ByteTable(byTool)
        mcpServerTable = ByteTable(byMCPServer)
        bashWordTable = ByteTable(bashByWord)
        pathTable = ByteTable(pathBySegment)
        domainTable = ByteTable(domainBySuffix)
        execTable = ByteTable(execByName)
        openTable = ByteTable(openBySegment)
        connectHostTable = ByteTable(connectByHostSuffix)
    }

    // MARK: lookups

    /// Rules that may match a call of `name`, excluding Bash patterns and path rules (looked up by content).
    func toolCandidates(_ name: String, into result: inout [Int]) {
        var name = name
        let start = result.count
        let handled = name.withUTF8 { bytes -> Bool in
            guard toolTable.append(bytes, into: &result) else { return false }
            // `mcp__server__tool`: the server is everything before the second `__`.
            guard bytes.count >= 5, bytes[0] == 0x6d, bytes[1] == 0x63, bytes[2] == 0x70, bytes[3] == 0x5f,
                bytes[4] == 0x5f
            else { return true }
            var end = bytes.count
            var cursor = 5
            while cursor + 1 < bytes.count {
                if bytes[cursor] == 0x5f, bytes[cursor + 1] == 0x5f {
                    end = cursor
                    break
                }
                cursor += 1
            }
            return mcpServerTable.append(UnsafeBufferPointer(rebasing: bytes[..<end]), into: &result)
        }
        if !handled {
            result.removeSubrange(start...)  // start over with String lookups (canonical equivalence)
            if let hits = byTool[name] { result.append(contentsOf: hits) }
            if name.hasPrefix("mcp__") {
                let rest = name.utf8.dropFirst(5)
                var server = name
                if let split = rest.firstRange(of: "__".utf8) {
                    server = String(name[..<split.lowerBound])
                }
                if let hits = byMCPServer[server] { result.append(contentsOf: hits) }
            }
        }
        result.append(contentsOf: nameGlobs)
    }

    func bashWord(_ word: String, into result: inout [Int]) {
        if !bashWordTable.append(word, into: &result), let hits = bashByWord[word] { result.append(contentsOf: hits) }
    }

    func bashWords(_ first: String, _ second: String, into result: inout [Int]) {
        if !bashWordTable.append(first, second, into: &result), let hits = bashByWord[first + " " + second] {
            result.append(contentsOf: hits)
        }
    }

    func execCandidates(_ name: String, into result: inout [Int]) {
        if !execTable.append(name, into: &result), let hits = execByName[name] { result.append(contentsOf: hits) }
    }

    func pathCandidates(_ segments: [Substring], into result: inout [Int]) {
        pathCandidates(segments[...], into: &result)
        result.append(contentsOf: pathWild)
    }

    /// Path-rule buckets of some segments, without the wildcard rules.
    func pathCandidates(_ segments: ArraySlice<Substring>, into result: inout [Int]) {
        if pathTable.isEmpty { return }
        for segment in segments where !pathTable.append(segment, into: &result) {
            if let hits = pathBySegment[String(segment)] { result.append(contentsOf: hits) }
        }
    }

    /// Path-rule buckets of every non-empty `/`-separated piece of `path` (as written: no normalisation).
    func pathPieceCandidates(_ path: String, into result: inout [Int]) {
        if pathTable.isEmpty { return }
        var path = path
        path.withUTF8 { bytes in
            var start = 0
            var cursor = 0
            while cursor <= bytes.count {
                if cursor == bytes.count || bytes[cursor] == UInt8(ascii: "/") {
                    if cursor > start {
                        let piece = UnsafeBufferPointer(rebasing: bytes[start..<cursor])
                        if !pathTable.append(piece, into: &result),
                            let hits = pathBySegment[String(decoding: piece, as: UTF8.self)]
                        {
                            result.append(contentsOf: hits)
                        }
                    }
                    start = cursor + 1
                }
                cursor += 1
            }
        }
    }

    func openCandidates(_ segments: [Substring], into result: inout [Int]) {
        if !openTable.isEmpty {
            for segment in segments where !openTable.append(segment, into: &result) {
                if let hits = openBySegment[String(segment)] { result.append(contentsOf: hits) }
            }
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

    /// Looks up every label-aligned suffix of `host` in `table` (`dictionary` when the bytes can't decide).
    private static func suffixCandidates(
        _ host: String, _ table: ByteTable, _ dictionary: [String: [Int]], into result: inout [Int]
    ) {
        if table.isEmpty { return }
        var bytes = host
        let handled = bytes.withUTF8 { bytes -> Bool in
            var found: [Int] = []
            var start = 0
            while start < bytes.count {
                guard table.append(UnsafeBufferPointer(rebasing: bytes[start...]), into: &found) else { return false }
                while start < bytes.count, bytes[start] != UInt8(ascii: ".") { start += 1 }
                start += 1
            }
            result.append(contentsOf: found)
            return true
        }
        if handled { return }
        for suffix in PolicyIndex.suffixes(of: host) {
            if let hits = dictionary[String(suffix)] { result.append(contentsOf: hits) }
        }
    }

    func domainCandidates(_ host: String, into result: inout [Int]) {
        PolicyIndex.suffixCandidates(host, domainTable, domainBySuffix, into: &result)
        result.append(contentsOf: domainWild)
    }

    func connectCandidates(address: IPAddress?, host: String?, into result: inout [Int]) {
        if let address {
            for bits in connectPrefixLengths {
                if let hits = connectByNetwork[bits]?[address.masked(bits)] { result.append(contentsOf: hits) }
            }
        }
        if let host { PolicyIndex.suffixCandidates(host, connectHostTable, connectByHostSuffix, into: &result) }
        result.append(contentsOf: connectWild)
    }
}

/// The buckets while the rules are added.
private struct PolicyIndexBuilder {
    var byTool: [String: [Int]] = [:]
    var byMCPServer: [String: [Int]] = [:]
    var nameGlobs: [Int] = []
    var bashByWord: [String: [Int]] = [:]
    var bashWild: [Int] = []
    var bashStrict: [Int] = []
    var pathBySegment: [String: [Int]] = [:]
    var pathWild: [Int] = []
    var domainBySuffix: [String: [Int]] = [:]
    var domainWild: [Int] = []
    var execByName: [String: [Int]] = [:]
    var execWild: [Int] = []
    var openBySegment: [String: [Int]] = [:]
    var openWild: [Int] = []
    var connectByNetwork: [Int: [IPAddress: [Int]]] = [:]
    var connectPrefixLengths: [Int] = []
    var connectByHostSuffix: [String: [Int]] = [:]
    var connectWild: [Int] = []
    var peerRules: [Int] = []

    mutating func add(_ pattern: RulePattern, _ index: Int, strict: Bool) {
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
        case .peer:
            peerRules.append(index)
        }
    }

    private mutating func addName(_ names: ToolNameMatcher, _ index: Int) {
        switch names {
        case .exact(let name): byTool[name, default: []].append(index)
        case .mcpServer(let server): byMCPServer[server, default: []].append(index)
        case .glob: nameGlobs.append(index)
        }
    }
}
