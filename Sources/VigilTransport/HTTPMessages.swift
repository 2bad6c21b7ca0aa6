// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 vocabulary of the transport: header fields with case-insensitive lookup, a request as the
// server received it, a response as a handler returns it (and the client receives it).

import NIOHTTP1

/// Header fields in the order received, names as sent. Lookups compare names ASCII case-insensitively.
public struct HTTPHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public private(set) var fields: [Field]

    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields.map { Field(name: $0.name, value: $0.value) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.fields = elements.map { Field(name: $0.0, value: $0.1) }
    }

    /// The first value of `name`, compared case-insensitively.
    public subscript(name: String) -> String? {
        fields.first { HTTPHeaders.namesEqual($0.name, name) }?.value
    }

    /// Every value of `name`, in order.
    public func values(for name: String) -> [String] {
        fields.filter { HTTPHeaders.namesEqual($0.name, name) }.map(\.value)
    }

    public mutating func add(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Replaces every field called `name` with one field.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        add(name: name, value: value)
    }

    public mutating func remove(name: String) {
        fields.removeAll { HTTPHeaders.namesEqual($0.name, name) }
    }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    public var description: String { fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n") }

    /// ASCII case-insensitive equality without allocating (field names are tokens: ASCII only).
    package static func namesEqual(_ a: String, _ b: String) -> Bool {
        var left = a.utf8.makeIterator()
        var right = b.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return true
            case (let x?, let y?) where lowercased(x) == lowercased(y): continue
            default: return false
            }
        }
    }

    @inline(__always) static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}

public enum HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    case http1_0
    case http1_1

    public var description: String { self == .http1_0 ? "HTTP/1.0" : "HTTP/1.1" }
}

/// A request as received: method and target exactly as sent, the body as Content-Length framed it.
public struct HTTPRequest: Sendable, Hashable {
    public var method: String
    /// The request target as sent (origin form, e.g. `/hook?x=1`); not decoded.
    public var path: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String, path: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.version = version
        self.headers = headers
        self.body = body
    }
}

/// A response. The server writes Content-Length and Connection itself: a handler's own framing headers
/// (Content-Length, Transfer-Encoding, Connection) are dropped so a handler cannot desynchronise the stream.
public struct HTTPResponse: Sendable, Hashable {
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Close the connection after this response (e.g. after refusing an unauthenticated peer).
    public var closesConnection: Bool

    public init(status: Int, reason: String? = nil, headers: HTTPHeaders = [:], body: [UInt8] = [], closesConnection: Bool = false) {
        self.status = status
        self.reason = reason ?? HTTPResponse.standardReason(status)
        self.headers = headers
        self.body = body
        self.closesConnection = closesConnection
    }

    /// `application/json` with the given bytes.
    public static func json(status: Int = 200, _ bytes: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: bytes)
    }

    /// `text/plain; charset=utf-8`, with a newline appended when missing.
    public static func text(status: Int = 200, _ text: String) -> HTTPResponse {
        let body = text.hasSuffix("\n") ? text : text + "\n"
        return HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(body.utf8))
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public static func standardReason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}

extension HTTPResponse {
    /// The parts NIO's `HTTPResponseEncoder` writes: the head (the handler's headers without framing
    /// ones, then the server's Content-Length and Connection) and the body. `head`: a HEAD request, so
    /// no body but its Content-Length. 1xx and 204 carry neither (RFC 9110 §8.6).
    func parts(closing: Bool, version: HTTPVersion, head: Bool) -> (head: HTTPResponseHead, body: [UInt8]?) {
        let bodiless = status / 100 == 1 || status == 204
        var fields = NIOHTTP1.HTTPHeaders()
        for field in headers.fields where HTTPResponse.isWritable(field) { fields.add(name: field.name, value: field.value) }
        if !bodiless { fields.add(name: "Content-Length", value: String(body.count)) }
        if closing {
            fields.add(name: "Connection", value: "close")
        } else if version == .http1_0 {
            fields.add(name: "Connection", value: "keep-alive")
        }
        let responseHead = HTTPResponseHead(
            version: .http1_1, status: HTTPResponseStatus(statusCode: status, reasonPhrase: HTTPResponse.sanitized(reason)), headers: fields)
        return (responseHead, bodiless || head || body.isEmpty ? nil : body)
    }

    private static let framingHeaders = ["content-length", "transfer-encoding", "connection"]

    /// Framing headers are the server's; a name or value with CR, LF or NUL would split the response.
    private static func isWritable(_ field: HTTPHeaders.Field) -> Bool {
        !framingHeaders.contains { HTTPHeaders.namesEqual($0, field.name) }
            && !field.name.isEmpty
            && field.name.utf8.allSatisfy(HTTPSyntax.isTokenByte)
            && field.value.utf8.allSatisfy { $0 != 0x0D && $0 != 0x0A && $0 != 0 }
    }

    private static func sanitized(_ reason: String) -> String {
        String(reason.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" })
    }
}

/// Byte classes from RFC 9110 §5.6.2 and §5.5.
enum HTTPSyntax {
    /// tchar: `!#$%&'*+-.^_`|~`, digits and letters.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
        default: false
        }
    }

    /// field-value bytes: HTAB, SP, VCHAR and obs-text.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }
}

/// Why a request was refused, with the status the server answers and a reason it writes in the body.
public struct HTTPRequestError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case badRequest  // 400
        case lengthRequired  // 411
        case bodyTooLarge  // 413
        case headerTooLarge  // 431
        case notImplemented  // 501
        case versionNotSupported  // 505
    }

    public let kind: Kind
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var status: Int {
        switch kind {
        case .badRequest: 400
        case .lengthRequired: 411
        case .bodyTooLarge: 413
        case .headerTooLarge: 431
        case .notImplemented: 501
        case .versionNotSupported: 505
        }
    }

    public var isTooLarge: Bool { kind == .bodyTooLarge || kind == .headerTooLarge }

    public var description: String { "\(status): \(reason)" }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        let text = Substring(self)
        guard let first = text.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let last = text.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return text[first...last]
    }
}
