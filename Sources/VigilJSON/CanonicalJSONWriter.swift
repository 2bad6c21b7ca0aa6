// SPDX-License-Identifier: Apache-2.0
// The one writer for JSON whose bytes matter: streamed fields (the audit entry, written in key order
// by hand for speed) and whole ``JSONValue``s (keys sorted here).

/// A streaming JSON writer in one ``JSONFormat``. Streamed object fields come out in the order they
/// are written; the caller writes them in UTF-8 byte order when the output is canonical.
public struct CanonicalJSONWriter: Sendable {
    public var out: [UInt8] = []
    public let format: JSONFormat
    private var needsComma = false

    public init(format: JSONFormat, capacity: Int = 0) {
        self.format = format
        out.reserveCapacity(capacity)
    }

    public mutating func begin() {
        out.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func end() {
        out.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func field(_ key: String, _ value: (inout CanonicalJSONWriter) -> Void) {
        if needsComma { out.append(UInt8(ascii: ",")) }
        string(key)
        out.append(UInt8(ascii: ":"))
        value(&self)
        needsComma = true
    }

    public mutating func array<T>(_ items: [T], _ element: (inout CanonicalJSONWriter, T) -> Void) {
        out.append(UInt8(ascii: "["))
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            element(&self, item)
        }
        out.append(UInt8(ascii: "]"))
        needsComma = true
    }

    public mutating func string(_ value: String) {
        JSONString.append(value, format.controlEscapes, to: &out)
        needsComma = true
    }

    public mutating func int(_ value: Int64) {
        JSONNumber.append(value, to: &out)
        needsComma = true
    }

    public mutating func uint(_ value: UInt64) {
        JSONNumber.append(value, to: &out)
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        out.append(contentsOf: (value ? "true" : "false").utf8)
        needsComma = true
    }

    public mutating func null() {
        out.append(contentsOf: "null".utf8)
        needsComma = true
    }

    /// A whole value, object keys in UTF-8 byte order. A ``JSONValue/number(_:)`` that is not
    /// finite is written `null` (JSON has no spelling for it); a finite one as Swift's shortest
    /// round-trip form. No hashed format has one.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let v): bool(v)
        case .int(let v): int(v)
        case .number(let v):
            if !v.isFinite {
                null()
            } else if v == v.rounded(), v.magnitude < 9_007_199_254_740_992 {
                int(Int64(v))
            } else {
                out.append(contentsOf: v.description.utf8)
                needsComma = true
            }
        case .string(let v): string(v)
        case .array(let items): array(items) { $0.value($1) }
        case .object(let members):
            begin()
            for key in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                field(key) { $0.value(members[key]!) }
            }
            end()
        }
    }
}
