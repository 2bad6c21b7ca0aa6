// SPDX-License-Identifier: Apache-2.0
// Address text without libc: dotted quads, and IPv6 per RFC 5952 (lower case, longest zero run
// compressed, IPv4-mapped shown as ::ffff:a.b.c.d).
public enum IPAddressFormatter {
    public static func ipv4(_ r: UnsafeRawBufferPointer, at offset: Int) -> String {
        "\(r[offset]).\(r[offset + 1]).\(r[offset + 2]).\(r[offset + 3])"
    }

    public static func ipv6(_ r: UnsafeRawBufferPointer, at offset: Int) -> String {
        ipv6(bytes: (0..<16).map { r[offset + $0] })
    }

    public static func ipv6(bytes: [UInt8]) -> String {
        precondition(bytes.count == 16)
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return "::ffff:\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])"
        }
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        // The longest run (length >= 2) of zero groups; the first one on a tie.
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var text = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                text += "::"
                i += bestLength
                continue
            }
            if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
            text += String(groups[i], radix: 16)
            i += 1
        }
        return text
    }
}
