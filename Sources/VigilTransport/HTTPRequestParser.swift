// SPDX-License-Identifier: Apache-2.0
// The request parser: bytes in, requests or one rejection out. Pure (no I/O) so it is table-tested on
// byte splits; the connection loop feeds it whatever each read returned. Requests may be pipelined and may
// arrive split anywhere. Bodies are Content-Length only: any Transfer-Encoding is refused, because a
// Content-Length/Transfer-Encoding disagreement is the classic request-smuggling desync.

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

struct HTTPRequestParser {
    struct Limits: Sendable {
        var maxHeaderBytes: Int
        var maxBodyBytes: Int
    }

    enum Step: Equatable {
        case request(HTTPRequest, keepAlive: Bool)
        case needMoreData
        case failure(HTTPRequestError)
    }

    private struct Head {
        var request: HTTPRequest
        var contentLength: Int
        var keepAlive: Bool
        var expectsContinue: Bool
    }

    let limits: Limits
    private var buffer: [UInt8] = []
    private var start = 0
    /// Where the search for the end of the head resumes, so a head split over many reads is scanned once.
    private var scanFrom = 0
    private var head: Head?
    private var failed: HTTPRequestError?
    /// Set when a head with `Expect: 100-continue` waits for its body; the connection answers 100 once.
    private(set) var wantsContinue = false

    init(limits: Limits) {
        self.limits = limits
    }

    /// Bytes received but not yet part of a returned request.
    var bufferedByteCount: Int { buffer.count - start }

    /// Between requests: nothing of the next request received yet.
    var isIdle: Bool { head == nil && start == buffer.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    mutating func continueSent() { wantsContinue = false }

    /// The next complete request, `.needMoreData`, or the rejection (after which the parser only repeats it:
    /// the stream cannot be resynchronised).
    mutating func next() -> Step {
        if let failed { return .failure(failed) }
        if head == nil {
            switch parseHead() {
            case .success(let parsed?): head = parsed
            case .success(nil): return .needMoreData
            case .failure(let error):
                failed = error
                return .failure(error)
            }
        }
        guard let pending = head else { return .needMoreData }
        guard buffer.count - start >= pending.contentLength else {
            if pending.expectsContinue { wantsContinue = true }
            return .needMoreData
        }
        var request = pending.request
        request.body = Array(buffer[start..<(start + pending.contentLength)])
        start += pending.contentLength
        head = nil
        wantsContinue = false
        return .request(request, keepAlive: pending.keepAlive)
    }

    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            scanFrom = 0
            start = 0
        } else if start > 4096 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            scanFrom = max(0, scanFrom - start)
            start = 0
        }
    }

    // MARK: - Head

    private mutating func parseHead() -> Result<Head?, HTTPRequestError> {
        // RFC 9112 §2.2: ignore empty lines before the request line (some clients send CRLF after a body).
        while start < buffer.count, buffer[start] == 0x0A || (buffer[start] == 0x0D && start + 1 < buffer.count && buffer[start + 1] == 0x0A) {
            start += buffer[start] == 0x0D ? 2 : 1
        }
        scanFrom = max(scanFrom, start)
        guard let end = findEndOfHead() else {
            if buffer.count - start > limits.maxHeaderBytes {
                return .failure(HTTPRequestError(.headerTooLarge, "request head exceeds \(limits.maxHeaderBytes) bytes"))
            }
            scanFrom = max(start, buffer.count - 3)
            return .success(nil)
        }
        if end - start > limits.maxHeaderBytes {
            return .failure(HTTPRequestError(.headerTooLarge, "request head exceeds \(limits.maxHeaderBytes) bytes"))
        }
        let result = buffer.withUnsafeBufferPointer { all in
            HTTPRequestParser.parseHead(UnsafeBufferPointer(rebasing: all[start..<end]), limits: limits)
        }
        start = end
        scanFrom = end
        return result.map { Optional($0) }
    }

    /// The index just after the blank line that ends the head (CRLF CRLF, or bare LF LF), if present.
    private func findEndOfHead() -> Int? {
        var index = scanFrom
        while index < buffer.count {
            if buffer[index] == 0x0A {
                if index + 1 < buffer.count && buffer[index + 1] == 0x0A { return index + 2 }
                if index + 2 < buffer.count && buffer[index + 1] == 0x0D && buffer[index + 2] == 0x0A { return index + 3 }
            }
            index += 1
        }
        return nil
    }

    private static func parseHead(_ bytes: UnsafeBufferPointer<UInt8>, limits: Limits) -> Result<Head, HTTPRequestError> {
        // Lines end in LF, with an optional CR before it; a CR anywhere else is rejected below.
        var lines: [UnsafeBufferPointer<UInt8>.SubSequence] = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
            .map { $0.last == 0x0D ? $0.dropLast() : $0 }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let requestLine = lines.first else { return .failure(HTTPRequestError(.badRequest, "empty request")) }

        // request-line = method SP request-target SP HTTP-version
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure(HTTPRequestError(.badRequest, "malformed request line")) }
        guard !parts[0].isEmpty, parts[0].allSatisfy(HTTPSyntax.isTokenByte) else {
            return .failure(HTTPRequestError(.badRequest, "malformed method"))
        }
        guard !parts[1].isEmpty, parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(HTTPRequestError(.badRequest, "malformed request target"))
        }
        let version: HTTPVersion
        switch String(decoding: parts[2], as: UTF8.self) {
        case "HTTP/1.1": version = .http1_1
        case "HTTP/1.0": version = .http1_0
        case let other where other.hasPrefix("HTTP/"):
            return .failure(HTTPRequestError(.versionNotSupported, "only HTTP/1.0 and HTTP/1.1 are supported"))
        default:
            return .failure(HTTPRequestError(.badRequest, "malformed HTTP version"))
        }

        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            if line.first == 0x20 || line.first == 0x09 {
                return .failure(HTTPRequestError(.badRequest, "obsolete header line folding"))
            }
            guard let colon = line.firstIndex(of: 0x3A) else {
                return .failure(HTTPRequestError(.badRequest, "header line without a colon"))
            }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(HTTPSyntax.isTokenByte) else {
                return .failure(HTTPRequestError(.badRequest, "malformed header name"))
            }
            var value = line[(colon + 1)...]
            while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
            while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
            guard value.allSatisfy(HTTPSyntax.isFieldValueByte) else {
                return .failure(HTTPRequestError(.badRequest, "invalid character in header \(String(decoding: name, as: UTF8.self))"))
            }
            headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
        }

        let method = String(decoding: parts[0], as: UTF8.self)
        let request = HTTPRequest(method: method, path: String(decoding: parts[1], as: UTF8.self), version: version, headers: headers)
        return framing(of: request, limits: limits)
    }

    /// Body length and connection persistence (RFC 9112 §6.3, §9.3).
    private static func framing(of request: HTTPRequest, limits: Limits) -> Result<Head, HTTPRequestError> {
        let headers = request.headers
        if let encoding = headers["Transfer-Encoding"] {
            if encoding.lowercased().contains("chunked") {
                return .failure(HTTPRequestError(.lengthRequired, "chunked request bodies are not supported; send Content-Length"))
            }
            return .failure(HTTPRequestError(.notImplemented, "Transfer-Encoding \(encoding) is not supported"))
        }

        var contentLength: Int?
        for value in headers.values(for: "Content-Length") {
            // Digits only: no sign, no spaces inside, no list; at most 18 digits so it cannot overflow.
            guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(value) else {
                return .failure(HTTPRequestError(.badRequest, "invalid Content-Length"))
            }
            if let earlier = contentLength, earlier != length {
                return .failure(HTTPRequestError(.badRequest, "conflicting Content-Length headers"))
            }
            contentLength = length
        }
        let bodyExpected = ["POST", "PUT", "PATCH"].contains(request.method)
        if contentLength == nil && bodyExpected {
            return .failure(HTTPRequestError(.lengthRequired, "\(request.method) requires Content-Length"))
        }
        let length = contentLength ?? 0
        if length > limits.maxBodyBytes {
            return .failure(HTTPRequestError(.bodyTooLarge, "body of \(length) bytes exceeds \(limits.maxBodyBytes) bytes"))
        }

        var keepAlive = request.version == .http1_1
        for value in headers.values(for: "Connection") {
            for token in value.split(separator: ",") {
                switch token.trimmingSpaces.lowercased() {
                case "close": keepAlive = false
                case "keep-alive" where request.version == .http1_0: keepAlive = true
                default: break
                }
            }
        }
        let expectsContinue = length > 0 && headers["Expect"].map { $0.trimmingSpaces.lowercased() == "100-continue" } == true
        return .success(Head(request: request, contentLength: length, keepAlive: keepAlive, expectsContinue: expectsContinue))
    }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        let text = Substring(self)
        guard let first = text.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let last = text.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return text[first...last]
    }
}
