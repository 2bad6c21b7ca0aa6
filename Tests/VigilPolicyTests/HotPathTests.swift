// SPDX-License-Identifier: Apache-2.0
// The byte-level hot path (parser runs, byte-keyed index, URL hosts, path splitting, reasons) decides
// exactly what the String-level code it replaced decided, non-ASCII and canonical equivalence included.
import Testing
import VigilJSON
@testable import VigilPolicy

private func commands(_ text: String) -> [[String]] {
    ShellParser.parse(text).parts.map { $0.words.map(\.text) }
}

@Test(arguments: [
    ("a\"b\"c d", [["abc", "d"]]),
    ("x'y z'w", [["xy zw"]]),
    ("ab\\ cd e", [["ab cd", "e"]]),
    ("cmd 2>err arg", [["cmd", "arg"]]),
    ("echo 12>f", [["echo"]]),
    ("echo a#b #c", [["echo", "a#b"]]),
    ("git commit -m \"fix: #12 (x)\"", [["git", "commit", "-m", "fix: #12 (x)"]]),
    ("a$b c", [["a$b", "c"]]),
    ("tool\\\nx", [["toolx"]]),
    ("café --naïve", [["café", "--naïve"]]),
])
func plainRunsAndQuotesMakeTheSameWords(_ text: String, _ expected: [[String]]) {
    #expect(commands(text) == expected)
}

@Test func wordsKeepTheirDynamicFlagAcrossRuns() {
    let words = ShellParser.parse("ls *.txt foo{a,b} $HOME/x plain").parts[0].words
    #expect(words.map(\.dynamic) == [false, true, true, true, false])
}

@Test(arguments: [
    ("https://User@API.Example.COM.:8443/x?y", "api.example.com" as String?),
    ("http://[::1]:80/", "[::1]"),
    ("https://a.b/c#d", "a.b"),
    ("no-scheme", nil),
    ("https:///path", nil),
    ("https://bücher.example/x", "bücher.example"),
    ("HTTPS://X.ORG", "x.org"),
])
func urlHostsByBytesAndByCharacters(_ url: String, _ expected: String?) {
    #expect(urlHost(url) == expected)
}

@Test func pathSegmentsNormalise() {
    let home = pathSegments("/home/dev", relativeTo: [])
    let cwd = pathSegments("/home/dev/w", relativeTo: [])
    #expect(pathSegments("~/a/../b", cwd: cwd, home: home) == ["home", "dev", "b"])
    #expect(pathSegments("a/./b/../c", cwd: cwd, home: home) == ["home", "dev", "w", "a", "c"])
    #expect(pathSegments("/x//y/", cwd: cwd, home: home) == ["x", "y"])
    #expect(pathSegments("/../..", cwd: cwd, home: home) == [])
    #expect(pathSegments("~", cwd: cwd, home: home) == home)
    #expect(pathSegments("~x", cwd: cwd, home: home) == ["home", "dev", "w", "~x"])
    #expect(pathSegments("/é/ü", cwd: cwd, home: home) == ["é", "ü"])
}

@Test func basenames() {
    #expect(basename("/usr/bin/curl") == "curl")
    #expect(basename("curl") == "curl")
    #expect(basename("/usr/bin/") == "/usr/bin/")
    #expect(basename("/opt/é/bin/ünï") == "ünï")
}

@Test func byteTableAnswersOnlyWhenBytesDecide() {
    let table = ByteTable(["git": [1, 2], "git push": [3], "curl": [4]])
    var found: [Int] = []
    #expect(table.append("git", into: &found))
    #expect(table.append("git", "push", into: &found))
    #expect(table.append("gi", into: &found))
    #expect(table.append("curl", into: &found))
    #expect(found == [1, 2, 3, 4])
    // Non-ASCII input: only a String comparison can say (canonical equivalence), so the table declines.
    #expect(!table.append("g\u{0131}t", into: &found))
    let accented = ByteTable(["caf\u{E9}": [7]])
    #expect(!accented.append("cafe", into: &found))
    #expect(found == [1, 2, 3, 4])
}

private func policy(_ rules: [(String, String)]) throws -> Policy {
    var lines = ["vigil: 1", "version: t", "rules:"]
    for (index, rule) in rules.enumerated() {
        lines.append("  - {id: r\(index), match: \"\(rule.0)\", action: \(rule.1)}")
    }
    return try Policy(yaml: lines.joined(separator: "\n"), file: "t.yaml")
}

private func call(_ name: String, _ input: [String: JSONValue]) -> ToolCall {
    ToolCall(name: name, input: input, cwd: "/home/dev/w", home: "/home/dev")
}

@Test func canonicallyEquivalentNamesStillFindTheirRules() throws {
    // U+212A KELVIN SIGN is canonically equivalent to "K": Swift's String == says equal, bytes don't.
    let rules = try policy([("Kill", "deny"), ("mcp__K", "deny")])
    #expect(rules.decide(call("\u{212A}ill", [:]), identity: someone).action == .deny)
    #expect(rules.decide(call("mcp__\u{212A}__x", [:]), identity: someone).action == .deny)
    #expect(rules.decide(call("\u{212A}illx", [:]), identity: someone).isDefault)
}

@Test(arguments: [
    "cat ./a/../secret.txt", "cat ~/secret.txt", "cat x/../../w/secret.txt", "cat /home/dev/w/secret.txt",
    "head -n 3 secret.txt | tr a b",
])
func bashPathArgumentsFindPathRulesThroughDotDot(_ command: String) throws {
    let rules = try policy([("Read(secret.txt)", "deny"), ("Bash", "allow")])
    #expect(rules.decide(call("Bash", ["command": .string(command)]), identity: someone).action == .deny)
}

@Test func pathToolsResolveRelativeAndAbsoluteTargets() throws {
    let rules = try policy([("Read(//srv/data/**)", "deny"), ("Read(src/**)", "allow"), ("Edit(~/notes/**)", "allow")])
    #expect(rules.decide(call("Read", ["file_path": .string("/srv/data/x")]), identity: someone).action == .deny)
    #expect(rules.decide(call("Read", ["file_path": .string("src/a.ts")]), identity: someone).action == .allow)
    #expect(rules.decide(call("Read", ["file_path": .string("/home/dev/w/src/a.ts")]), identity: someone).action == .allow)
    #expect(rules.decide(call("Edit", ["file_path": .string("/home/dev/notes/n.md")]), identity: someone).action == .allow)
    #expect(rules.decide(call("Edit", ["file_path": .string("~/notes/n.md")]), identity: someone).action == .allow)
    #expect(rules.decide(call("Edit", ["file_path": .string("/home/dev/other.md")]), identity: someone).isDefault)
}

@Test func defaultReasonsNameTheCallOrTheUncoveredCommand() throws {
    let rules = try policy([("Bash(git *)", "allow")])
    let bash = rules.decide(call("Bash", ["command": .string("git status && ls  -la  src")]), identity: someone)
    #expect(bash.isDefault)
    #expect(bash.reason == "No Vigil policy rule allows `ls -la src` (default: \(rules.document.defaultTool.rawValue))")
    let fetch = rules.decide(call("WebFetch", ["url": .string("https://x.org/")]), identity: someone)
    #expect(fetch.reason == "No Vigil policy rule allows this WebFetch call (default: \(rules.document.defaultTool.rawValue))")
}

@Test func mcpServerRulesByBytes() throws {
    let rules = try policy([("mcp__srv", "deny"), ("mcp__other__tool", "allow")])
    #expect(rules.decide(call("mcp__srv__echo", [:]), identity: someone).action == .deny)
    #expect(rules.decide(call("mcp__srv", [:]), identity: someone).action == .deny)
    #expect(rules.decide(call("mcp__srvx__echo", [:]), identity: someone).isDefault)
    #expect(rules.decide(call("mcp__other__tool", [:]), identity: someone).action == .allow)
}

@Test func lazyDefaultReasonsReadAndCompareAsText() throws {
    let rules = try policy([("Bash(git *)", "allow")])
    let bash = rules.decide(call("Bash", ["command": .string("git status; /usr/bin/env  -i  FOO=1 ls  -la")]), identity: someone)
    let text = "No Vigil policy rule allows `/usr/bin/env -i FOO=1 ls -la` (default: \(rules.document.defaultTool.rawValue))"
    #expect(bash.reason == text)
    // A decision holding the reason's pieces equals (and hashes like) one holding its text.
    let spelled = Decision(
        action: bash.action, enforcement: bash.enforcement, matchedRuleIDs: bash.matchedRuleIDs,
        winningRuleID: bash.winningRuleID, reason: text, policyVersion: bash.policyVersion,
        derived: bash.derived)
    #expect(bash == spelled)
    #expect(bash.hashValue == spelled.hashValue)
    var edited = bash
    edited.reason = "other"
    #expect(edited.reason == "other")
    #expect(edited != bash)
    let empty = rules.decide(call("Bash", ["command": .string("$cmd x")]), identity: someone)
    #expect(empty.reason == "No Vigil policy rule allows `` (default: \(rules.document.defaultTool.rawValue))")
    let kernel = rules.decide(KernelAction.open(path: "/etc/hostname", write: false), identity: someone)
    #expect(kernel.reason == "No Vigil policy rule names this open (default: \(rules.document.defaultKernel.rawValue))")
}

@Test(arguments: [
    ("/usr/bin/timeout 5 tool x", [["/usr/bin/timeout", "5", "tool", "x"], ["timeout", "5", "tool", "x"], ["tool", "x"]]),
    ("A=1 sudo -u root ./bin/run a", [["sudo", "-u", "root", "./bin/run", "a"], ["./bin/run", "a"], ["run", "a"]]),
    (
        "find . -exec rm {} \\; -exec ./x/y 1 +",
        [
            ["find", ".", "-exec", "rm", "{}", ";", "-exec", "./x/y", "1", "+"],
            ["./x/y", "1"], ["y", "1"], ["rm", "{}"],
        ]
    ),
    ("npm exec tool b", [["npm", "exec", "tool", "b"], ["tool", "b"]]),
])
func viewsAreRangesOverTheWords(_ text: String, _ expected: [[String]]) {
    let part = ShellParser.parse(text).parts[0]
    let views = part.analyze().views
    #expect(views.map { $0.words(in: part.words) } == expected)
    #expect(views.map { $0.text(in: part.words) } == expected.map { $0.joined(separator: " ") })
}
