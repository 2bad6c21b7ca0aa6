// SPDX-License-Identifier: Apache-2.0
// A minimal JSON value for building OCSF events with sorted keys.
import Foundation

/// A JSON value; objects encode with sorted keys.
public enum OCSFValue: Encodable, Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral
{
    case string(String)
    case int(Int64)
    case bool(Bool)
    case array([OCSFValue])
    case object([String: OCSFValue])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, OCSFValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
    public init(arrayLiteral elements: OCSFValue...) { self = .array(elements) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public subscript(key: String) -> OCSFValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// One line of compact JSON with sorted keys.
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("null".utf8), as: UTF8.self)
    }
}

extension Dictionary where Key == String, Value == OCSFValue {
    /// Sets `key` only when `value` is non-nil.
    mutating func set(_ key: String, _ value: OCSFValue?) {
        if let value { self[key] = value }
    }
}
