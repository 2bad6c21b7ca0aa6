// SPDX-License-Identifier: Apache-2.0
// RFC 4648 §5 base64url without padding: enrolment tokens, JWS parts, signature nonces and session
// tokens. Foundation does the coding; the alphabet is swapped byte by byte, since every policy
// fetch decodes a bundle this way on the device and string replacement was a visible part of it.
import Foundation

public enum Base64URL {
    public static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var base64 = Data(bytes).base64EncodedData()
        while base64.last == UInt8(ascii: "=") { base64.removeLast() }
        for index in base64.indices {
            switch base64[index] {
            case UInt8(ascii: "+"): base64[index] = UInt8(ascii: "-")
            case UInt8(ascii: "/"): base64[index] = UInt8(ascii: "_")
            default: break
            }
        }
        return String(decoding: base64, as: UTF8.self)
    }

    /// The bytes, or nil when `text` holds anything but the base64url alphabet, padding included,
    /// or has a length no encoding produces.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var base64: [UInt8] = []
        base64.reserveCapacity(text.utf8.count + 3)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                base64.append(byte)
            case UInt8(ascii: "-"): base64.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): base64.append(UInt8(ascii: "/"))
            default: return nil
            }
        }
        guard base64.count % 4 != 1 else { return nil }
        base64 += repeatElement(UInt8(ascii: "="), count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: Data(base64)).map { [UInt8]($0) }
    }
}
