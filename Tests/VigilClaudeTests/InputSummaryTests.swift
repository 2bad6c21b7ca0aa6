// SPDX-License-Identifier: Apache-2.0
// What the audit log keeps of a tool input: no secrets, no file contents, bounded.
import Testing
import VigilClaude
import VigilJSON
import VigilPolicy

struct InputSummaryTests {
    @Test(arguments: [
        ("curl -H 'Authorization: Bearer abcdefghijklmnop123' https://api.x", "curl -H 'Authorization: Bearer [REDACTED]' https://api.x"),
        ("git clone https://alice:hunter2pass@github.com/x/y", "git clone https://[REDACTED]@github.com/x/y"),
        ("export API_KEY=sk-live-1234567890abcdef && run", "export API_KEY=[REDACTED] && run"),
        ("GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123 gh pr list", "GITHUB_TOKEN=[REDACTED] gh pr list"),
        ("mysql --password=s3cretpw -u root", "mysql --password=[REDACTED] -u root"),
        ("tool --api-key abcd1234efgh", "tool --api-key [REDACTED]"),
        (#"curl -d '{"client_secret":"abcdef123456"}' https://x"#, #"curl -d '{"client_secret":"[REDACTED]"}' https://x"#),
        ("echo AKIAIOSFODNN7EXAMPLE", "echo [REDACTED]"),
        ("echo sk-ant-api03-abcdefghijklmnopqrstuv", "echo [REDACTED]"),
        ("ls -la && git status", "ls -la && git status"),
        ("git commit --author 'Jane Doe <j@x>' -m 'fix token refresh'", "git commit --author 'Jane Doe <j@x>' -m 'fix token refresh'"),
    ])
    func redactsSecretsInText(_ input: String, _ expected: String) {
        #expect(InputSummary.redact(input) == expected)
    }

    @Test func toolInputSummary() {
        let write: [String: JSONValue] = [
            "file_path": .string("/home/dev/app/.env"),
            "content": .string("DB_PASSWORD=hunter2\nOTHER=1\n"),
        ]
        let summary = InputSummary.of(toolInput: write)
        #expect(summary.hasPrefix(#"{"content":"<28 bytes sha256:"#))
        #expect(summary.hasSuffix(#">","file_path":"/home/dev/app/.env"}"#))
        #expect(!summary.contains("hunter2"))

        let secretKeys: [String: JSONValue] = [
            "url": .string("https://x"), "headers": .object(["Authorization": .string("token abc"), "X-Api-Key": .string("k")]),
        ]
        #expect(InputSummary.of(toolInput: secretKeys) == #"{"headers":{"Authorization":"[REDACTED]","X-Api-Key":"[REDACTED]"},"url":"https://x"}"#)

        let edits: [String: JSONValue] = ["edits": .array([.object(["old_string": .string("a"), "new_string": .string("b")])])]
        #expect(InputSummary.of(toolInput: edits).hasPrefix(#"{"edits":"<"#))

        let scalars: [String: JSONValue] = ["command": .string("sleep 1"), "run_in_background": .bool(true), "timeout": .number(120000)]
        #expect(InputSummary.of(toolInput: scalars) == #"{"command":"sleep 1","run_in_background":true,"timeout":120000}"#)
    }

    @Test func boundedLength() {
        let long = String(repeating: "x", count: 10_000)
        let field = InputSummary.of(toolInput: ["command": .string(long)])
        #expect(field.utf8.count < InputSummary.maximumFieldLength + 64)
        #expect(field.contains("…[truncated, 10000 bytes]"))
        let many = Dictionary(uniqueKeysWithValues: (0..<100).map { ("k\($0)", JSONValue.string(String(repeating: "y", count: 400))) })
        let total = InputSummary.of(toolInput: many)
        #expect(total.utf8.count < InputSummary.maximumLength + 64)
        #expect(total.hasSuffix("bytes]"))
        // Multi-byte text is cut on a character boundary.
        let accents = InputSummary.of(text: String(repeating: "é", count: 5000))
        #expect(accents.hasPrefix("éé"))
        #expect(accents.utf8.count < InputSummary.maximumLength + 64)
    }

    @Test func privateKeysAreDropped() {
        let text = "cat <<EOF > k\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\nEOF"
        let redacted = InputSummary.redact(text)
        #expect(!redacted.contains("b3BlbnNzaC1rZXktdjEAAAAA"))
        #expect(redacted.contains("[REDACTED]"))
    }
}
