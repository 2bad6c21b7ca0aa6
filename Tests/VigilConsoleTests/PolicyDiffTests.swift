// SPDX-License-Identifier: Apache-2.0
// The unified diff of two policy texts: minimal (against a longest common subsequence), applies
// back to the new text, marks a missing final newline, splits distant changes, and stays bounded.
import Foundation
import Testing

@testable import VigilConsole

@Suite struct PolicyDiffTests {
    /// Applies a unified diff to `old`; nil when a context or removed line does not match.
    private func apply(_ diff: String, to old: String) -> String? {
        var source = PolicyDiff.lines(old).map { String($0.text) }
        var output: [String] = []
        var cursor = 0
        let lines = diff.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(2)
        for line in lines where !line.isEmpty && !line.hasPrefix("\\") {
            if line.hasPrefix("@@") {
                let start = Int(line.dropFirst(4).prefix { $0.isNumber })!
                let skipTo = line.dropFirst(4).contains(",0 +") ? start : start - 1
                while cursor < skipTo { output.append(source[cursor]); cursor += 1 }
                continue
            }
            let text = String(line.dropFirst())
            switch line.first {
            case " ", "-":
                guard cursor < source.count, source[cursor] == text else { return nil }
                if line.first == " " { output.append(text) }
                cursor += 1
            default: output.append(text)
            }
        }
        while cursor < source.count { output.append(source[cursor]); cursor += 1 }
        source = output
        return source.joined(separator: "\n")
    }

    private func lcs(_ a: [String], _ b: [String]) -> Int {
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                table[i][j] = a[i] == b[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        return table[0][0]
    }

    @Test func randomTextsDiffMinimallyAndTheDiffRebuildsTheNewText() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let a = (0..<Int.random(in: 0...30, using: &generator)).map { _ in "l\(Int.random(in: 0...5, using: &generator))" }
            let b = (0..<Int.random(in: 0...30, using: &generator)).map { _ in "l\(Int.random(in: 0...5, using: &generator))" }
            let old = a.map { $0 + "\n" }.joined()
            let new = b.map { $0 + "\n" }.joined()
            let result = PolicyDiff.compare(old, new, fromName: "a", toName: "b")
            let common = lcs(a, b)
            #expect(result.removed == a.count - common && result.added == b.count - common, "\(a) → \(b)")
            if old == new {
                #expect(result.unified.isEmpty)
            } else {
                #expect(apply(result.unified, to: old) == b.joined(separator: "\n"), "\(a) → \(b)\n\(result.unified)")
            }
        }
    }

    @Test func aMissingFinalNewlineIsADifference() {
        let result = PolicyDiff.compare("a\nb\n", "a\nb", fromName: "x", toName: "y")
        #expect(result.added == 1 && result.removed == 1)
        #expect(result.unified == "--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n")
    }

    @Test func distantChangesGetHunksOfTheirOwn() {
        let old = (1...20).map { "line \($0)\n" }.joined()
        let new = old.replacingOccurrences(of: "line 2\n", with: "line two\n").replacingOccurrences(of: "line 18\n", with: "")
        let result = PolicyDiff.compare(old, new, fromName: "x", toName: "y")
        #expect(result.unified.components(separatedBy: "\n@@ ").count == 3, "\(result.unified)")
        #expect(result.unified.contains("@@ -1,5 +1,5 @@") && result.unified.contains("@@ -15,6 +15,5 @@"), "\(result.unified)")
    }

    @Test func pastTheEditLimitTheMiddleIsReplacedWhole() {
        let old = (0..<1200).map { "a\($0)\n" }.joined()
        let new = (0..<1200).map { "b\($0)\n" }.joined()
        let result = PolicyDiff.compare("head\n" + old + "tail\n", "head\n" + new + "tail\n", fromName: "x", toName: "y")
        #expect(result.added == 1200 && result.removed == 1200)
        #expect(result.unified.contains("@@ -1,1202 +1,1202 @@"))
    }
}
