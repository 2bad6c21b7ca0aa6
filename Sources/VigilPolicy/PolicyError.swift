// SPDX-License-Identifier: Apache-2.0
// Failures to load a policy: always located, always naming the rule when there is one.

/// A policy document that cannot be used. The whole document is rejected; nothing is half-applied.
public struct PolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when the failure has no position (e.g. an empty file).
    public var line: Int
    public var column: Int
    /// The id of the rule at fault, when the failure is inside a rule.
    public var ruleID: String?
    public var reason: String

    public init(file: String, line: Int, column: Int, ruleID: String? = nil, reason: String) {
        self.file = file
        self.line = line
        self.column = column
        self.ruleID = ruleID
        self.reason = reason
    }

    public var description: String {
        let rule = ruleID.map { " rule '\($0)':" } ?? ""
        return "\(file):\(line):\(column):\(rule) \(reason)"
    }
}

/// Something legal but probably not what the author meant (a rule Claude Code would never match, …).
public struct PolicyWarning: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var ruleID: String?
    public var message: String

    public var description: String {
        let rule = ruleID.map { " rule '\($0)':" } ?? ""
        return "\(file):\(line):\(column): warning:\(rule) \(message)"
    }
}

/// A position in the source document, carried from the YAML node into errors.
public struct SourceLocation: Sendable, Hashable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static let unknown = SourceLocation(line: 0, column: 0)
}

/// A pattern-level failure before a location is attached; the document parser adds file:line:column.
struct PatternError: Error, Sendable {
    var reason: String

    init(_ reason: String) {
        self.reason = reason
    }
}
