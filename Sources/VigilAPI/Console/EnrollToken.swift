// SPDX-License-Identifier: Apache-2.0
// The enrolment token: what an administrator hands to a device. It names the console, pins the
// console's TLS certificate and carries a secret the console stores only as a hash.
import Foundation

/// `vigil-enroll-1.<base64url(JSON)>`: one string to paste, with everything the device needs to
/// reach the right console and nothing an eavesdropper on the first connection could swap.
public struct EnrollToken: Codable, Sendable, Equatable {
    public static let prefix = "vigil-enroll-1."

    /// The token's public id: the console looks the token up by it.
    public var id: String
    /// 32 random bytes, base64url: the console keeps only its SHA-256.
    public var secret: String
    /// The console's base URL, `https://host:port`.
    public var url: String
    /// `sha256:<hex>` of the DER of the console's TLS certificate: the device trusts that certificate only.
    public var pin: String

    public init(id: String, secret: String, url: String, pin: String) {
        self.id = id
        self.secret = secret
        self.url = url
        self.pin = pin
    }

    private enum CodingKeys: String, CodingKey {
        case id = "i", secret = "s", url = "u", pin = "p"
    }

    public var encoded: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(self)) ?? Data()
        return Self.prefix + Base64URL.encode([UInt8](json))
    }

    /// Parses a pasted token; the error says what is wrong with it.
    public init(parsing text: String) throws(EnrollTokenError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix(Self.prefix) else { throw .notAToken("it does not start with \(Self.prefix)") }
        guard let bytes = Base64URL.decode(String(trimmed.dropFirst(Self.prefix.count))) else {
            throw .notAToken("its body is not base64url")
        }
        let token: EnrollToken
        do {
            token = try JSONDecoder().decode(EnrollToken.self, from: Data(bytes))
        } catch {
            throw .notAToken("its body is not the token's JSON")
        }
        guard let url = URL(string: token.url), url.scheme == "https", url.host != nil else {
            throw .notAToken("its console URL \(token.url) is not an https URL")
        }
        guard token.pin.hasPrefix("sha256:"), token.pin.count == 7 + 64,
            token.pin.dropFirst(7).allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else { throw .notAToken("its certificate pin is not sha256:<64 lowercase hex digits>") }
        guard !token.id.isEmpty, token.secret.count >= 32 else { throw .notAToken("its id or secret is missing") }
        self = token
    }
}

public enum EnrollTokenError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAToken(String)

    public var description: String {
        switch self {
        case .notAToken(let reason): "not a Vigil enrolment token: \(reason)"
        }
    }
}
