// SPDX-License-Identifier: Apache-2.0
// The RFC 9421 §2.5 signature base: the exact bytes signed and verified, rebuilt from a request and
// the covered component list. Signer and verifier share this one function, so they cannot drift.
import RawStructuredFieldValues

/// The parts of a request a signature can cover, as plain values (no NIO types).
public struct SignableRequest: Sendable {
    /// `POST`: taken as given (RFC 9421 §2.2.1: the method is case-sensitive).
    public var method: String
    /// `console.example:8443`: the Host (or :authority) as sent, lowercased when used (§2.2.3).
    /// Give it without a default port: the request carries no scheme to tell which port is default.
    public var authority: String
    /// `/api/v1/devices/x`, without the query; an empty path is covered as `/` (§2.2.6).
    public var path: String
    /// The query without `?`; `@query` is `?` + query, or `?` alone when nil or empty (§2.2.7).
    public var query: String?
    /// Header fields in received order, names in any case. Same-name fields are combined, in order,
    /// with `, ` (§2.1); each value is trimmed of leading and trailing spaces and tabs first.
    public var headers: [(name: String, value: String)]

    public init(method: String, authority: String, path: String, query: String? = nil, headers: [(name: String, value: String)] = []) {
        self.method = method
        self.authority = authority
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// The combined value of every field named `name` (any case), or nil when there is none.
    public func fieldValue(_ name: String) -> String? {
        let name = name.lowercased()
        let values = headers.filter { $0.name.lowercased() == name }.map { $0.value.trimmingSpacesAndTabs() }
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }
}

/// The signature base of RFC 9421 §2.5.
public enum SignatureBase {
    /// The derived components this implementation can cover (§2.2); others are refused.
    public static let derivedComponents: Set<String> = ["@method", "@authority", "@path", "@query", "@request-target"]

    /// The exact signature base for `request`: one `"name": value` line per covered component, in
    /// order, then `"@signature-params": ` + `signatureParams` (the serialized inner list with its
    /// parameters), with no trailing newline.
    ///
    /// Components are bare lowercase names (`"@method"`, `"content-digest"`); component parameters
    /// (`;sf`, `;key=`, `;req`, `;bs`) are not supported, so such identifiers never reach here.
    /// Every value must be printable ASCII (tabs allowed): a CR or LF would let a header value forge
    /// further lines of the base, and §2.5 forbids non-ASCII.
    public static func make(_ request: SignableRequest, components: [String], signatureParams: String) throws(SignatureError) -> String {
        var lines: [String] = []
        var seen: Set<String> = []
        for name in components {
            guard seen.insert(name).inserted else { throw .malformed("the component \"\(name)\" is covered twice") }
            let value: String
            if name.hasPrefix("@") {
                value = try derivedValue(name, of: request)
            } else {
                guard isFieldName(name) else {
                    throw .malformed("\"\(name)\" is not a lowercase HTTP field name")
                }
                guard let field = request.fieldValue(name) else { throw .componentAbsent(name) }
                value = field
            }
            guard isSignable(value) else {
                throw .malformed("the value of \"\(name)\" has a character outside printable ASCII")
            }
            lines.append("\"\(name)\": \(value)")
        }
        guard isSignable(signatureParams) else {
            throw .malformed("the signature parameters have a character outside printable ASCII")
        }
        lines.append("\"@signature-params\": \(signatureParams)")
        return lines.joined(separator: "\n")
    }

    static func derivedValue(_ name: String, of request: SignableRequest) throws(SignatureError) -> String {
        let query = "?" + (request.query ?? "")
        let path = request.path.isEmpty ? "/" : request.path
        switch name {
        case "@method": return request.method
        case "@authority": return request.authority.lowercased()
        case "@path": return path
        case "@query": return query
        case "@request-target": return request.query.map { $0.isEmpty ? path : path + "?" + $0 } ?? path
        case "@signature-params": throw .malformed("\"@signature-params\" cannot be a covered component")
        default: throw .malformed("the derived component \"\(name)\" is not supported")
        }
    }

    /// The serialization of a covered list and its parameters: the `@signature-params` value and
    /// the `Signature-Input` member value (RFC 8941 §4.1.1.1, through the structured-field serializer).
    static func serialize(_ list: InnerList) throws(SignatureError) -> String {
        do {
            var serializer = StructuredFieldValueSerializer()
            return String(decoding: try serializer.writeListFieldValue([.innerList(list)]), as: UTF8.self)
        } catch {
            throw .malformed("the signature parameters cannot be serialized as a structured field (\(error))")
        }
    }

    /// tchar without uppercase: RFC 9421 §2.1 requires lowercased field names.
    static func isFieldName(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
                default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
                }
            }
    }

    static func isSignable(_ value: String) -> Bool {
        value.utf8.allSatisfy { (0x20...0x7E).contains($0) || $0 == 0x09 }
    }
}

extension String {
    /// HTTP's optional whitespace (SP and HTAB) removed from both ends.
    func trimmingSpacesAndTabs() -> String {
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        let last = bytes.lastIndex(where: { $0 != 0x20 && $0 != 0x09 })!
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
