// SPDX-License-Identifier: Apache-2.0
// A kernel line of a stored timeline read back into its parts. The daemon writes each kernel event
// as one line of text (`exec PATH  ARGV`, `open PATH  r  -> 3`, `connect inet ADDR port P  -> 0`, as
// VigilCore's EventRenderer spells it); the summary needs the parts to group and count them.
import Foundation
import VigilAPI

/// One kernel event of a timeline, parsed.
struct KernelLine: Sendable, Hashable {
    enum Body: Sendable, Hashable {
        /// `argv` as the sensor joined it (spaces between arguments; boundaries are not kept).
        case exec(path: String, argv: String)
        /// `result`: the fd, or a negative errno.
        case open(path: String, write: Bool, result: Int64?)
        /// `endpoint`: `ADDR port P` as written; `peer`: the boundary crossing it made, if any.
        case network(event: String, family: String, endpoint: String, result: Int64?, peer: String?)
        /// Anything else (process access, a refused session root): shown as written.
        case other(text: String)
    }

    var body: Body
    var pid: Int32
    var ppid: Int32?
    var decision: String
    var rule: String?
    var mechanism: String?

    var refused: Bool { decision != "allow" }

    init(_ record: TimelineRecord) {
        pid = record.pid ?? 0
        ppid = record.ppid
        decision = record.decision ?? "allow"
        rule = record.rule
        mechanism = record.mechanism
        body = Self.parse(event: record.event, text: record.text ?? "")
    }

    static func parse(event: String?, text: String) -> Body {
        // The text opens with the event's own name (`exec `, `open `, `connect `…).
        guard let event, let space = text.firstIndex(of: " ") else { return .other(text: text) }
        let rest = text[text.index(after: space)...]
        switch event {
        case "exec":
            guard let cut = rest.firstRange(of: "  ") else { return .exec(path: String(rest), argv: "") }
            return .exec(path: String(rest[..<cut.lowerBound]), argv: String(rest[cut.upperBound...]))
        case "open":
            let (head, result) = splitResult(rest)
            if head.hasSuffix("  r") || head.hasSuffix("  w") {
                return .open(path: String(head.dropLast(3)), write: head.hasSuffix("w"), result: result)
            }
            return .other(text: text)
        case "connect", "send":
            var line = rest
            var peer: String?
            if let crossing = line.firstRange(of: " — crossing to ") {
                peer = String(line[crossing.upperBound...])
                line = line[..<crossing.lowerBound]
            }
            let (head, result) = splitResult(line)
            guard let familyEnd = head.firstIndex(of: " ") else { return .other(text: text) }
            return .network(
                event: event, family: String(head[..<familyEnd]), endpoint: String(head[head.index(after: familyEnd)...]),
                result: result, peer: peer)
        default:
            return .other(text: text)
        }
    }

    /// `HEAD  -> RESULT` → (HEAD, RESULT).
    private static func splitResult(_ text: Substring) -> (Substring, Int64?) {
        guard let arrow = text.range(of: "  -> ", options: .backwards) else { return (text, nil) }
        return (text[..<arrow.lowerBound], Int64(text[arrow.upperBound...]))
    }
}

/// Claude Code's Bash tool wrapper and the command in it.
enum ToolShell {
    /// The user's command inside the wrapper Claude Code runs every Bash call through
    /// (`/bin/bash -c [-l] source …/shell-snapshots/snapshot-… && … && eval '<COMMAND>' < /dev/null
    /// && pwd -P >| /tmp/claude-XXXX-cwd`, each `'` of the command written `'"'"'`), or nil when
    /// `argv` is not that wrapper. A command cut off by the sensor's argv limit ends in `…`.
    static func command(inArgv argv: String) -> String? {
        guard argv.contains(" -c "), argv.contains("/shell-snapshots/snapshot-") || argv.contains("pwd -P >| "),
            let eval = argv.range(of: "eval '")
        else { return nil }
        var command = ""
        var index = eval.upperBound
        while index < argv.endIndex {
            let character = argv[index]
            index = argv.index(after: index)
            guard character == "'" else {
                command.append(character)
                continue
            }
            // A closing quote: `'"'"'` and `'\''` put a quote back and reopen.
            let tail = argv[index...]
            if tail.hasPrefix("\"'\"'") {
                command.append("'")
                index = argv.index(index, offsetBy: 4)
            } else if tail.hasPrefix("\\''") {
                command.append("'")
                index = argv.index(index, offsetBy: 3)
            } else {
                return command
            }
        }
        return command + "…"
    }
}

/// Errno names for the results a person reads most; others as their number.
enum ErrnoName {
    static let names: [Int64: String] = [
        1: "EPERM", 2: "ENOENT", 13: "EACCES", 17: "EEXIST", 20: "ENOTDIR", 21: "EISDIR", 101: "ENETUNREACH",
        110: "ETIMEDOUT", 111: "ECONNREFUSED", 113: "EHOSTUNREACH", 115: "EINPROGRESS",
    ]

    static func of(_ result: Int64) -> String { names[-result] ?? "error \(-result)" }
}
