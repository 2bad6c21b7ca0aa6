// SPDX-License-Identifier: Apache-2.0
// How a `param:value` rule reads a tool input's field (the value type itself is VigilJSON's).
import VigilJSON

extension JSONValue {
    /// The text a `param:value` rule compares against: strings as-is, scalars in their JSON spelling.
    var ruleText: String? {
        switch self {
        case .string(let value): value
        case .bool(let value): value ? "true" : "false"
        case .int(let value): String(value)
        case .number(let value):
            value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .null: "null"
        case .array, .object: nil
        }
    }
}
