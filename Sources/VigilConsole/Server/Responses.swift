// SPDX-License-Identifier: Apache-2.0
// Answers: JSON bodies, and one shape for every refusal (what was refused, and why).
import Foundation
import Hummingbird
import NIOCore
import VigilAPI
import HTTPTypes
import Logging

/// A request refused: the status, a short code and a sentence for the caller. Thrown by handlers
/// and turned into the JSON body by ``RefusalMiddleware``.
public struct Refusal: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var reason: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ reason: String) {
        self.status = status
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(status.code) \(code): \(reason)" }
}

enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        var buffer = ByteBuffer()
        buffer.writeBytes(data)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    static func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body.readableBytesView))
        } catch let DecodingError.keyNotFound(key, _) {
            throw Refusal(.badRequest, "malformed_body", "\(what): the field \(key.stringValue) is missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw Refusal(.badRequest, "malformed_body", "\(what): the field \(path) has the wrong type")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            // An enum's unknown value, e.g. `"action": "perhaps"`.
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw Refusal(.badRequest, "malformed_body", "\(what): the field \(path) has a value it can't take")
        } catch {
            throw Refusal(.badRequest, "malformed_body", "\(what) is not valid JSON")
        }
    }
}

/// Turns a ``Refusal`` (and Hummingbird's own HTTP errors, such as a body over the limit) into the
/// one JSON refusal body; any other error is a 500 whose details stay in the log.
struct RefusalMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let refusal as Refusal {
            return try JSONResponse.make(APIErrorBody(error: refusal.code, reason: refusal.reason), status: refusal.status)
        } catch is NIOTooManyBytesError {
            return try JSONResponse.make(APIErrorBody(error: "body_too_large", reason: "the body is over the limit"), status: .contentTooLarge)
        } catch let error as HTTPError {
            let reason = error.body ?? error.status.reasonPhrase
            return try JSONResponse.make(APIErrorBody(error: "http_\(error.status.code)", reason: reason), status: error.status)
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return try JSONResponse.make(APIErrorBody(error: "internal", reason: "the console failed; see its log"), status: .internalServerError)
        }
    }
}
