// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// One posture value. "Could not tell" is a value with a reason, never a silent `false`.

/// The value of one posture fact.
///
/// A probe that cannot read its source reports ``unknown(reason:)`` — never a guessed `bool(true)`.
/// ``notApplicable(reason:)`` is for facts that do not exist on this device (no EFI firmware, no
/// desktop session), which is different from "could not read".
public enum PostureFact: Sendable, Hashable {
    case bool(Bool)
    case int(Int)
    case string(String)
    case unknown(reason: String)
    case notApplicable(reason: String)

    /// `true` for ``bool(_:)``, ``int(_:)`` and ``string(_:)``: the probe observed a value.
    public var isKnown: Bool {
        switch self {
        case .bool, .int, .string: true
        case .unknown, .notApplicable: false
        }
    }

    /// The reason carried by ``unknown(reason:)`` or ``notApplicable(reason:)``, else `nil`.
    public var reason: String? {
        switch self {
        case .unknown(let reason), .notApplicable(let reason): reason
        case .bool, .int, .string: nil
        }
    }
}

extension PostureFact: CustomStringConvertible {
    /// Short human form: `true`, `42`, `"text"`, `unknown (reason)`, `n/a (reason)`.
    public var description: String {
        switch self {
        case .bool(let value): String(value)
        case .int(let value): String(value)
        case .string(let value): value
        case .unknown(let reason): "unknown (\(reason))"
        case .notApplicable(let reason): "n/a (\(reason))"
        }
    }
}

extension PostureFact: Codable {
    private enum CodingKeys: String, CodingKey { case type, value, reason }
    private enum Kind: String, Codable { case bool, int, string, unknown, notApplicable = "not_applicable" }

    /// Encodes as `{"type":"bool","value":true}` or `{"type":"unknown","reason":"…"}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .bool(let value):
            try container.encode(Kind.bool, forKey: .type)
            try container.encode(value, forKey: .value)
        case .int(let value):
            try container.encode(Kind.int, forKey: .type)
            try container.encode(value, forKey: .value)
        case .string(let value):
            try container.encode(Kind.string, forKey: .type)
            try container.encode(value, forKey: .value)
        case .unknown(let reason):
            try container.encode(Kind.unknown, forKey: .type)
            try container.encode(reason, forKey: .reason)
        case .notApplicable(let reason):
            try container.encode(Kind.notApplicable, forKey: .type)
            try container.encode(reason, forKey: .reason)
        }
    }

    /// - Throws: `DecodingError` when `type` is missing or unknown, or its payload has the wrong type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Kind.self, forKey: .type) {
        case .bool: self = .bool(try container.decode(Bool.self, forKey: .value))
        case .int: self = .int(try container.decode(Int.self, forKey: .value))
        case .string: self = .string(try container.decode(String.self, forKey: .value))
        case .unknown: self = .unknown(reason: try container.decode(String.self, forKey: .reason))
        case .notApplicable: self = .notApplicable(reason: try container.decode(String.self, forKey: .reason))
        }
    }
}
