// SPDX-License-Identifier: Apache-2.0
// Typed access to Yams nodes, turning every shape mismatch into a located PolicyError.
import Yams

struct YAMLReader {
    let file: String
    var ruleID: String?

    func location(_ node: Node) -> SourceLocation {
        node.mark.map { SourceLocation(line: $0.line, column: $0.column) } ?? .unknown
    }

    func error(_ node: Node?, _ reason: String) -> PolicyError {
        let at = node.map(location) ?? .unknown
        return PolicyError(file: file, line: at.line, column: at.column, ruleID: ruleID, reason: reason)
    }

    func error(at location: SourceLocation, _ reason: String) -> PolicyError {
        PolicyError(file: file, line: location.line, column: location.column, ruleID: ruleID, reason: reason)
    }

    /// A mapping's entries with string keys; unknown keys are rejected so typos don't silently do nothing.
    func mapping(_ node: Node, what: String, allowed: [String]) throws(PolicyError) -> [String: (key: Node, value: Node)] {
        guard case .mapping(let mapping) = node else { throw error(node, "\(what) must be a mapping") }
        var result: [String: (key: Node, value: Node)] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else { throw error(key, "\(what) keys must be plain strings") }
            guard allowed.contains(scalar.string) else {
                throw error(key, "unknown key '\(scalar.string)' in \(what); expected one of: \(allowed.joined(separator: ", "))")
            }
            guard result[scalar.string] == nil else { throw error(key, "duplicate key '\(scalar.string)' in \(what)") }
            result[scalar.string] = (key, value)
        }
        return result
    }

    func string(_ node: Node, what: String) throws(PolicyError) -> String {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, scalar.string == "~" || scalar.string == "null" || scalar.string.isEmpty {
                throw error(node, "\(what) must not be empty")
            }
            return scalar.string
        case .alias: throw error(node, "YAML aliases are not supported in policies")
        default: throw error(node, "\(what) must be a string")
        }
    }

    func bool(_ node: Node, what: String) throws(PolicyError) -> Bool {
        guard case .scalar = node, let value = node.bool else { throw error(node, "\(what) must be true or false") }
        return value
    }

    /// A string or a list of strings.
    func strings(_ node: Node, what: String) throws(PolicyError) -> [String] {
        if case .sequence(let sequence) = node {
            var values: [String] = []
            for item in sequence { values.append(try string(item, what: what)) }
            guard !values.isEmpty else { throw error(node, "\(what) must not be an empty list") }
            return values
        }
        return [try string(node, what: what)]
    }

    func choice<T: RawRepresentable<String>>(_ node: Node, what: String, _ type: T.Type, allowed: [T]) throws(PolicyError) -> T {
        let text = try string(node, what: what)
        guard let value = T(rawValue: text), allowed.contains(where: { $0.rawValue == value.rawValue }) else {
            throw error(node, "\(what) must be one of \(allowed.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
        }
        return value
    }
}
