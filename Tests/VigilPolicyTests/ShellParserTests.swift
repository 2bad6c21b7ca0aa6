// SPDX-License-Identifier: Apache-2.0
// The shell parser on its own: which simple commands it finds, and what it refuses to trust.
import Testing
@testable import VigilPolicy

private func commands(_ text: String) -> [[String]] {
    ShellParser.parse(text).parts.map { $0.words.map(\.text) }
}

@Test(arguments: [
    ("{ mytool x; }", [["mytool", "x"]]),
    ("(mytool x)", [["mytool", "x"]]),
    ("if true; then mytool x; fi", [["true"], ["mytool", "x"]]),
    ("a && b || c; d | e & f", [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]),
    ("echo $(mytool x)", [["mytool", "x"], ["echo", "$(mytool x)"]]),
    ("echo 'a b' \"c $HOME\" d\\ e", [["echo", "a b", "c $HOME", "d e"]]),
    ("cmd 2>/dev/null >out.txt arg", [["cmd", "arg"]]),
    ("for f in a b; do rm $f; done", [["rm", "$f"]]),
    ("cat <<'EOF'\nmytool x\nEOF\necho done", [["cat"], ["echo", "done"]]),
    ("cat <<EOF\n$(mytool x)\nEOF", [["cat"], ["mytool", "x"]]),
    (
        "git commit -m \"$(cat <<'EOF'\nIt's a fix (really)\nEOF\n)\"",
        [["cat"], ["git", "commit", "-m", "$(cat <<'EOF'\nIt's a fix (really)\nEOF\n)"]]
    ),
    ("diff <(sort a) b", [["sort", "a"], ["diff", "b"]]),
    ("# just a comment", []),
])
func findsEverySimpleCommand(_ text: String, _ expected: [[String]]) {
    #expect(commands(text) == expected)
}

@Test(arguments: ["echo 'unterminated", "echo $(broken", "echo \"open", "cat <<EOF\nno end"])
func unbalancedInputIsMalformed(_ text: String) {
    #expect(ShellParser.parse(text).malformed)
}

@Test func dynamicCommandWordsAreFlagged() {
    for text in ["$m x", "$(which mytool) x", "/usr/bin/cur? x", "{mytool,x}", "$'\\x6dytool' x"] {
        let part = ShellParser.parse(text).parts.last!
        #expect(part.words[0].dynamic, "\(text)")
        #expect(part.analyze().opaque, "\(text)")
    }
}

@Test func heredocBodyIsAttachedToItsRedirect() {
    let part = ShellParser.parse("bash <<EOF\nmytool x\nEOF").parts[0]
    #expect(part.redirects.first?.text == "mytool x\n")
    #expect(part.analyze().code == ["mytool x\n"])
}
