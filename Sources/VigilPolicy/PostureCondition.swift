// SPDX-License-Identifier: Apache-2.0
// Conditions on device posture: `disk_encrypted == false`, `os_patch_age_days > 30`, `kernel_version < "6.1"`.

/// A posture comparison. A fact that is missing, `.unknown`, or of another type can't be evaluated:
/// the rule's `on_unknown` (or the document's default) decides what that means.
public struct PostureCondition: Sendable, Hashable, CustomStringConvertible {
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case equal = "=="
        case notEqual = "!="
        case lessOrEqual = "<="
        case greaterOrEqual = ">="
        case less = "<"
        case greater = ">"
    }

    public enum Value: Sendable, Hashable {
        case bool(Bool)
        case int(Int)
        case string(String)
    }

    public var key: String
    public var op: Operator
    public var value: Value

    public init(key: String, op: Operator, value: Value) {
        self.key = key
        self.op = op
        self.value = value
    }

    /// The keys the posture module emits and their types; others are accepted with a warning.
    public static let knownKeys: [String: String] = [
        "disk_encrypted": "bool", "secure_boot": "bool", "firewall_active": "bool", "edr_running": "bool",
        "os_patch_age_days": "int", "kernel_version": "string", "os_release": "string", "screen_locked": "bool",
        "kernel_lockdown": "string", "io_uring_disabled": "int", "unprivileged_bpf_disabled": "int",
        "yama_ptrace_scope": "int", "ptrace_restricted": "bool", "vigil_sensor_attached": "bool", "vigil_enforcement_mode": "string",
        "vigil_drops": "int",
    ]

    /// Parses `key op literal`. Literals: `true`/`false`, integers, `"quoted"` or bare strings.
    init(parsing text: String) throws(PatternError) {
        let trimmed = text.trimmingSpaces
        guard let opRange = PostureCondition.findOperator(in: trimmed) else {
            throw PatternError("condition '\(text)' needs one of == != < <= > >=")
        }
        let key = trimmed[..<opRange.range.lowerBound].trimmingSpaces
        let literal = trimmed[opRange.range.upperBound...].trimmingSpaces
        guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw PatternError("'\(key)' is not a posture key (letters, digits, underscores)")
        }
        guard !literal.isEmpty else { throw PatternError("condition '\(text)' has no value") }
        let value: Value
        if literal == "true" || literal == "false" {
            value = .bool(literal == "true")
        } else if let number = Int(literal) {
            value = .int(number)
        } else if literal.count >= 2, literal.first == "\"", literal.last == "\"" {
            value = .string(String(literal.dropFirst().dropLast()))
        } else {
            value = .string(String(literal))
        }
        if case .bool = value, opRange.op != .equal, opRange.op != .notEqual {
            throw PatternError("'\(opRange.op.rawValue)' can't compare booleans")
        }
        if let expected = PostureCondition.knownKeys[String(key)], expected != value.typeName {
            throw PatternError("'\(key)' is a \(expected), not a \(value.typeName)")
        }
        self.init(key: String(key), op: opRange.op, value: value)
    }

    private static func findOperator(in text: Substring) -> (op: Operator, range: Range<Substring.Index>)? {
        for op in [Operator.equal, .notEqual, .lessOrEqual, .greaterOrEqual, .less, .greater] {
            if let range = text.firstRange(of: op.rawValue) { return (op, range) }
        }
        return nil
    }

    /// true/false, or nil when the fact can't be evaluated.
    public func evaluate(_ posture: [String: PostureFact]) -> Bool? {
        guard let fact = posture[key] else { return nil }
        let order: Int
        switch (fact, value) {
        case (.bool(let have), .bool(let want)): order = have == want ? 0 : 1
        case (.int(let have), .int(let want)): order = have < want ? -1 : (have == want ? 0 : 1)
        case (.string(let have), .string(let want)): order = PostureCondition.compareVersions(have, want)
        default: return nil
        }
        switch op {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .greater: return order > 0
        case .greaterOrEqual: return order >= 0
        }
    }

    /// Dotted numbers compare numerically (`6.10 > 6.9`); anything else compares as text.
    static func compareVersions(_ a: String, _ b: String) -> Int {
        let left = a.split(whereSeparator: { !$0.isNumber }).map { Int($0) ?? 0 }
        let right = b.split(whereSeparator: { !$0.isNumber }).map { Int($0) ?? 0 }
        if !left.isEmpty, !right.isEmpty, a.first?.isNumber == true, b.first?.isNumber == true {
            for index in 0..<max(left.count, right.count) {
                let l = index < left.count ? left[index] : 0
                let r = index < right.count ? right[index] : 0
                if l != r { return l < r ? -1 : 1 }
            }
            return 0
        }
        return a == b ? 0 : (a < b ? -1 : 1)
    }

    public var description: String {
        switch value {
        case .bool(let v): "\(key) \(op.rawValue) \(v)"
        case .int(let v): "\(key) \(op.rawValue) \(v)"
        case .string(let v): "\(key) \(op.rawValue) \"\(v)\""
        }
    }
}

extension PostureCondition.Value {
    var typeName: String {
        switch self {
        case .bool: "bool"
        case .int: "int"
        case .string: "string"
        }
    }
}

/// What a condition that can't be evaluated means.
public enum UnknownPosture: String, Sendable, Hashable, Codable, CaseIterable {
    /// deny/ask rules apply, allow rules don't (the default).
    case failClosed = "fail_closed"
    /// The condition counts as true.
    case match
    /// The condition counts as false.
    case noMatch = "no_match"
}
