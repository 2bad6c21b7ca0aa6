// SPDX-License-Identifier: Apache-2.0
// The device's client for the console: the pinned HTTPS client, and an RFC 9421 signature (with an
// RFC 9530 Content-Digest) by the device key on every request.
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import VigilAPI
import VigilSignatures

public struct ConsoleClient: Sendable {
    public let baseURL: URL
    public let transport: PinnedHTTPSClient
    private let signer: MessageSigner
    private let clock: @Sendable () -> Int64

    public typealias Answer = PinnedHTTPSClient.Response

    public init(
        baseURL: String, pin: String, key: any MessageSigningKey, keyID: String,
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) throws(FleetError) {
        guard let url = URL(string: baseURL), url.scheme == "https", let host = url.host, !host.isEmpty else {
            throw FleetError(.state, "the console URL \(baseURL) is not an https URL")
        }
        self.baseURL = url
        transport = PinnedHTTPSClient(host: host, port: url.port ?? 443, pin: pin)
        signer = MessageSigner(key: key, keyID: keyID)
        self.clock = clock
    }

    /// Opens a signed event stream (GET) and hands each server-sent event to `onEvent` until the
    /// console ends it; fails on a refusal, or when nothing arrived for `idle`.
    public func events(
        _ path: String, idle: TimeAmount, onOpen: @escaping @Sendable () async -> Void,
        onEvent: @escaping @Sendable (ServerSentEvent) async throws -> Void
    ) async throws(FleetError) {
        let headers = try signedHeaders("GET", path, body: [])
        let parser = NIOLockedValueBox(ServerSentEventParser())
        let refused = NIOLockedValueBox<Int?>(nil)
        try await transport.stream(
            baseURL.path.trimmingSuffix("/") + path, headers: headers, idle: idle,
            onStatus: { status in
                if status == 200 { await onOpen() } else { refused.withLockedValue { $0 = status } }
            },
            onBody: { buffer in
                if refused.withLockedValue({ $0 }) != nil { return }
                let events = parser.withLockedValue { $0.feed(Array(buffer.readableBytesView)) }
                for event in events { try await onEvent(event) }
            })
        if let status = refused.withLockedValue({ $0 }) {
            throw FleetError(.refused, "the console refused the event stream \(path) (\(status))", status: status)
        }
    }

    private func signedHeaders(_ method: String, _ path: String, body: [UInt8]) throws(FleetError) -> [(String, String)] {
        let digest = ContentDigest.header(for: body)
        let (pathOnly, query) = Self.split(path)
        let signable = SignableRequest(
            method: method, authority: transport.authority, path: pathOnly, query: query, headers: [(name: "Content-Digest", value: digest)])
        let signature: (signatureInput: String, signature: String)
        do {
            signature = try signer.sign(signable, created: clock())
        } catch {
            throw FleetError(.deviceKey, "cannot sign the request to \(path): \(error)")
        }
        return [("Content-Digest", digest), ("Signature-Input", signature.signatureInput), ("Signature", signature.signature)]
    }

    /// Sends one signed request and reads the whole answer: on the kept-alive connection, or with
    /// `once` on a connection of its own that ends with the answer (enrolment: a client used once
    /// must not leave a connection open).
    public func send(_ method: String, _ path: String, body: [UInt8] = [], once: Bool = false) async throws(FleetError) -> Answer {
        var headers = try signedHeaders(method, path, body: body)
        if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
        let target = baseURL.path.trimmingSuffix("/") + path
        if once { return try await transport.execute(method, target, headers: headers, body: body) }
        return try await transport.executeKeptAlive(method, target, headers: headers, body: body)
    }

    /// Sends and decodes a 2xx answer; a refusal becomes a `FleetError` with the console's reason.
    public func call<Answer: Decodable>(
        _ method: String, _ path: String, body: [UInt8] = [], once: Bool = false, as type: Answer.Type
    ) async throws(FleetError) -> Answer {
        let answer = try await send(method, path, body: body, once: once)
        guard (200..<300).contains(answer.status) else { throw Self.refusal(answer, path) }
        do {
            return try JSONDecoder().decode(type, from: Data(answer.body))
        } catch {
            throw FleetError(.response, "the console's answer to \(path) does not decode: \(error)")
        }
    }

    static func refusal(_ answer: Answer, _ path: String) -> FleetError {
        let reason = (try? JSONDecoder().decode(APIErrorBody.self, from: Data(answer.body))).map { "\($0.error): \($0.reason)" }
        return FleetError(
            .refused, "the console refused \(path) (\(answer.status)): \(reason ?? String(decoding: answer.body, as: UTF8.self))",
            status: answer.status)
    }

    private static func split(_ path: String) -> (String, String?) {
        guard let mark = path.firstIndex(of: "?") else { return (path, nil) }
        return (String(path[..<mark]), String(path[path.index(after: mark)...]))
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
