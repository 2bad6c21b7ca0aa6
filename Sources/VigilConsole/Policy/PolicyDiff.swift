// SPDX-License-Identifier: Apache-2.0
// A unified diff of two policy texts (what a change's audit entry carries and the editor shows):
// a shortest edit script (Myers, "An O(ND) Difference Algorithm", 1986) printed as `diff -u` does.

enum PolicyDiff {
    struct Result: Sendable, Equatable {
        /// Empty when the texts are the same.
        var unified: String
        var added: Int
        var removed: Int
    }

    /// Lines of context around each change, as `diff -u`.
    static let context = 3
    /// Past this many differing lines the middle is shown as removed and added whole: still a
    /// correct diff, and the search stays small (its memory grows with the square of this).
    static let maxEdits = 1000

    static func unified(from old: String, to new: String, fromName: String = "before", toName: String = "after") -> String {
        compare(old, new, fromName: fromName, toName: toName).unified
    }

    static func compare(_ old: String, _ new: String, fromName: String, toName: String) -> Result {
        let a = lines(old)
        let b = lines(new)
        let script = editScript(a, b)
        let added = script.count { $0.kind == .insert }
        let removed = script.count { $0.kind == .delete }
        guard added + removed > 0 else { return Result(unified: "", added: 0, removed: 0) }
        var out = ["--- \(fromName)", "+++ \(toName)"]
        for hunk in hunks(script) {
            let oldCount = hunk.count { $0.kind != .insert }
            let newCount = hunk.count { $0.kind != .delete }
            let first = hunk[0]
            // As diff -u: an empty side is numbered by the line before it.
            let oldStart = oldCount == 0 ? first.oldIndex : first.oldIndex + 1
            let newStart = newCount == 0 ? first.newIndex : first.newIndex + 1
            out.append("@@ -\(range(oldStart, oldCount)) +\(range(newStart, newCount)) @@")
            for edit in hunk {
                let line: Line
                switch edit.kind {
                case .equal:
                    line = a[edit.oldIndex]
                    out.append(" " + line.text)
                case .delete:
                    line = a[edit.oldIndex]
                    out.append("-" + line.text)
                case .insert:
                    line = b[edit.newIndex]
                    out.append("+" + line.text)
                }
                if !line.endsWithNewline { out.append("\\ No newline at end of file") }
            }
        }
        return Result(unified: out.joined(separator: "\n") + "\n", added: added, removed: removed)
    }

    // MARK: lines

    struct Line: Equatable {
        var text: Substring
        /// Only a text's last line can lack it; it then differs from the same text with one.
        var endsWithNewline: Bool
    }

    static func lines(_ text: String) -> [Line] {
        guard !text.isEmpty else { return [] }
        var parts = text.split(separator: "\n", omittingEmptySubsequences: false)
        let terminated = parts.last == ""
        if terminated { parts.removeLast() }
        return parts.enumerated().map { index, part in Line(text: part, endsWithNewline: terminated || index < parts.count - 1) }
    }

    private static func range(_ start: Int, _ count: Int) -> String { count == 1 ? "\(start)" : "\(start),\(count)" }

    // MARK: edit script

    struct Edit: Equatable {
        enum Kind { case equal, delete, insert }
        var kind: Kind
        /// Lines of each side before this edit (for equal and delete, the old line it is; for insert, the new one).
        var oldIndex: Int
        var newIndex: Int
    }

    /// The common head and tail, and a shortest script for the middle.
    static func editScript(_ a: [Line], _ b: [Line]) -> [Edit] {
        var head = 0
        while head < a.count, head < b.count, a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head, tail < b.count - head, a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
        var script = (0..<head).map { Edit(kind: .equal, oldIndex: $0, newIndex: $0) }
        let middleA = Array(a[head..<(a.count - tail)])
        let middleB = Array(b[head..<(b.count - tail)])
        let middle =
            myers(middleA, middleB)
            ?? (0..<middleA.count).map { Edit(kind: .delete, oldIndex: $0, newIndex: 0) }
            + (0..<middleB.count).map { Edit(kind: .insert, oldIndex: middleA.count, newIndex: $0) }
        script += middle.map { Edit(kind: $0.kind, oldIndex: $0.oldIndex + head, newIndex: $0.newIndex + head) }
        script += (0..<tail).map { Edit(kind: .equal, oldIndex: a.count - tail + $0, newIndex: b.count - tail + $0) }
        return script
    }

    /// nil when more than ``maxEdits`` lines differ.
    private static func myers(_ a: [Line], _ b: [Line]) -> [Edit]? {
        let n = a.count
        let m = b.count
        let limit = min(n + m, maxEdits)
        // v[k + offset]: the furthest x on diagonal k; trace[d] keeps v[-d...d] after step d.
        let offset = limit + 1
        var v = [Int](repeating: 0, count: 2 * limit + 3)
        var trace: [[Int]] = []
        var done = false
        for d in 0...limit {
            for k in stride(from: -d, through: d, by: 2) {
                var x = k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1
                var y = x - k
                while x < n, y < m, a[x] == b[y] {
                    x += 1
                    y += 1
                }
                v[offset + k] = x
                if x >= n, y >= m {
                    done = true
                    break
                }
            }
            trace.append(Array(v[(offset - d)...(offset + d)]))
            if done { break }
        }
        guard done else { return nil }
        var edits: [Edit] = []
        var x = n
        var y = m
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let k = x - y
            var previousX = 0
            var previousY = 0
            var previousK = 0
            if d > 0 {
                let previous = trace[d - 1]
                func at(_ k: Int) -> Int { previous[k + d - 1] }
                previousK = k == -d || (k != d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1
                previousX = at(previousK)
                previousY = previousX - previousK
            }
            while x > previousX, y > previousY {
                x -= 1
                y -= 1
                edits.append(Edit(kind: .equal, oldIndex: x, newIndex: y))
            }
            guard d > 0 else { break }
            if previousK == k + 1 {
                y -= 1
                edits.append(Edit(kind: .insert, oldIndex: x, newIndex: y))
            } else {
                x -= 1
                edits.append(Edit(kind: .delete, oldIndex: x, newIndex: y))
            }
        }
        return edits.reversed()
    }

    /// Changes with their context; changes closer than twice the context share a hunk.
    private static func hunks(_ script: [Edit]) -> [[Edit]] {
        let changed = script.indices.filter { script[$0].kind != .equal }
        var hunks: [[Edit]] = []
        var start = changed[0]
        var end = changed[0]
        for index in changed.dropFirst() {
            if index - end > 2 * context {
                hunks.append(Array(script[max(0, start - context)...min(script.count - 1, end + context)]))
                start = index
            }
            end = index
        }
        hunks.append(Array(script[max(0, start - context)...min(script.count - 1, end + context)]))
        return hunks
    }
}
