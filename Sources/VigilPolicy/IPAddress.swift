// SPDX-License-Identifier: Apache-2.0
// IPv4/IPv6 literals and CIDR blocks, parsed in pure Swift (no inet_pton: the core does no libc calls).

/// An IP address as 128 bits; IPv4 is stored IPv4-mapped (`::ffff:a.b.c.d`) so one CIDR test serves both.
struct IPAddress: Sendable, Hashable {
    var high: UInt64
    var low: UInt64
    var isV4: Bool

    init?(_ text: some StringProtocol) {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
        if let v4 = IPAddress.parseV4(text) {
            high = 0
            low = 0xFFFF_0000_0000 | UInt64(v4)
            isV4 = true
            return
        }
        guard let (high, low) = IPAddress.parseV6(text) else { return nil }
        self.high = high
        self.low = low
        // An IPv4-mapped IPv6 address is the IPv4 host: a v4 rule must catch it.
        isV4 = high == 0 && (low >> 32) == 0xFFFF
    }

    static func parseV4(_ text: Substring) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0 else { return nil }
                value = value << 8 | octet
                octet = 0
                digits = 0
                dots += 1
            } else if (48...57).contains(byte) {
                octet = octet * 10 + UInt32(byte - 48)
                digits += 1
                guard digits <= 3, octet < 256 else { return nil }
            } else {
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return value << 8 | octet
    }

    /// RFC 4291 text form: up to eight hex groups, one `::`, an optional trailing dotted IPv4.
    static func parseV6(_ text: Substring) -> (UInt64, UInt64)? {
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawDouble = false
        var group: UInt32 = 0
        var digits = 0
        var index = text.utf8.startIndex
        let end = text.utf8.endIndex
        func push(_ value: UInt16) {
            if sawDouble { tail.append(value) } else { head.append(value) }
        }
        while index < end {
            let byte = text.utf8[index]
            if byte == UInt8(ascii: ":") {
                let next = text.utf8.index(after: index)
                if next < end, text.utf8[next] == UInt8(ascii: ":") {
                    guard !sawDouble else { return nil }
                    if digits > 0 { push(UInt16(group)) }
                    sawDouble = true
                    index = text.utf8.index(after: next)
                } else {
                    guard digits > 0 else { return nil }
                    push(UInt16(group))
                    index = next
                }
                group = 0
                digits = 0
                continue
            }
            if byte == UInt8(ascii: "."), let v4 = parseV4(text[text.utf8.index(index, offsetBy: -digits)...]) {
                push(UInt16(v4 >> 16))
                push(UInt16(v4 & 0xFFFF))
                digits = 0
                index = end
                break
            }
            guard let value = hexValue(byte), digits < 4 else { return nil }
            group = group << 4 | UInt32(value)
            digits += 1
            index = text.utf8.index(after: index)
        }
        if digits > 0 { push(UInt16(group)) }
        let total = head.count + tail.count
        guard sawDouble ? total < 8 : total == 8 else { return nil }
        let all = head + Array(repeating: 0, count: 8 - total) + tail
        let high = all[0..<4].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        let low = all[4..<8].reduce(UInt64(0)) { $0 << 16 | UInt64($1) }
        return (high, low)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 97...102: byte - 87
        case 65...70: byte - 55
        default: nil
        }
    }

    /// The address with all but the first `bits` (of 128) cleared.
    func masked(_ bits: Int) -> IPAddress {
        var copy = self
        copy.high = bits >= 64 ? high : (bits == 0 ? 0 : high & ~(UInt64.max >> UInt64(bits)))
        copy.low = bits >= 128 ? low : (bits <= 64 ? 0 : low & ~(UInt64.max >> UInt64(bits - 64)))
        copy.isV4 = false
        return copy
    }
}

/// A CIDR block; a bare address is a /32 or /128.
struct CIDR: Sendable, Hashable {
    let network: IPAddress
    /// Prefix length over the 128-bit form (an IPv4 /8 is 104).
    let bits: Int

    init?(_ text: some StringProtocol) {
        let pieces = text.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count <= 2, let address = IPAddress(pieces[0]) else { return nil }
        let width = address.isV4 && !pieces[0].contains(":") ? 32 : 128
        var length = width
        if pieces.count == 2 {
            guard let parsed = Int(pieces[1]), (0...width).contains(parsed) else { return nil }
            length = parsed
        }
        bits = length + (128 - width)
        network = address.masked(bits)
    }

    func contains(_ address: IPAddress) -> Bool {
        address.masked(bits) == network
    }
}
