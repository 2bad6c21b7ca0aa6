// SPDX-License-Identifier: Apache-2.0
// The one string escaper every JSON writer in Vigil uses.

/// JSON string literals in a ``JSONFormat``'s spelling.
public enum JSONString {
    /// `s` as a JSON string literal, quotes included.
    public static func quote(_ s: String, _ escapes: JSONFormat.ControlEscapes = .rfc8259) -> String {
        // Most strings (paths, keys, hashes) need no escape: a short one stays a small String.
        if !s.utf8.contains(where: needsEscape) { return "\"" + s + "\"" }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 8)
        append(s, escapes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `quote(s)`'s bytes, appended to `out`.
    public static func append(_ s: String, _ escapes: JSONFormat.ControlEscapes, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        if s.utf8.withContiguousStorageIfAvailable({ appendEscaped($0, escapes, to: &out) }) == nil {
            var copy = s  // not contiguous (a bridged string): withUTF8 makes it native
            copy.withUTF8 { appendEscaped($0, escapes, to: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always)
    static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Byte-wise is the same as per scalar: every byte escaped is ASCII, and UTF-8 never uses
    /// ASCII bytes inside a multi-byte sequence. Runs that need no escape are copied whole.
    private static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, _ escapes: JSONFormat.ControlEscapes, to out: inout [UInt8]) {
        var copied = 0
        for i in utf8.indices {
            let byte = utf8[i]
            guard needsEscape(byte) else { continue }
            if copied < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[copied..<i])) }
            copied = i + 1
            out.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x08 where escapes == .rfc8259: out.append(UInt8(ascii: "b"))
            case 0x0C where escapes == .rfc8259: out.append(UInt8(ascii: "f"))
            default:
                // \u00 and two lower-case hex digits (byte < 0x20: the first is 0 or 1).
                out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), 0x30 &+ byte >> 4])
                let low = byte & 0xF
                out.append(low < 10 ? 0x30 &+ low : 0x57 &+ low)  // 0x57 + 10 == "a"
            }
        }
        if copied < utf8.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[copied...])) }
    }
}

/// Decimal digits without Foundation or a String per number.
public enum JSONNumber {
    /// `String(value)`'s bytes.
    public static func append(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude, minimumWidth: 1, to: &out)
    }

    public static func append(_ value: UInt64, to out: inout [UInt8]) {
        appendDigits(value, minimumWidth: 1, to: &out)
    }

    /// Decimal digits, zero-padded on the left to `minimumWidth` (at most 20).
    public static func appendDigits(_ value: UInt64, minimumWidth: Int, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var rest = value
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = 0x30 &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest != 0
            while digits.count - start < minimumWidth {
                start -= 1
                digits[start] = UInt8(ascii: "0")
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }
}
