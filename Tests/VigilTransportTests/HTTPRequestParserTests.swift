// SPDX-License-Identifier: Apache-2.0
// Request framing over a real socket: NIO's parser (llhttp) under Vigil's rules. Bytes in, the requests
// the handler saw or the one refusal the client read, however the bytes are split.

import Glibc
import Synchronization
import Testing
@testable import VigilTransport
import VigilTransportClient

@Suite struct HTTPRequestParserTests {
    /// The limits the hand-written parser was tested with: 16 KiB of head, 1 KiB of body.
    static var configuration: HTTPServer.Configuration {
        var configuration = HTTPServer.Configuration()
        configuration.maxBodyBytes = 1024
        // A request wrongly accepted and kept alive fails the test in seconds, not at the default minute.
        configuration.idleTimeout = .seconds(2)
        configuration.handlerThreads = 2
        return configuration
    }

    /// What one connection carrying `chunks` produced: the requests the handler got (in order) and the
    /// raw response text, read until the server closes or the heads of `responses` answers are in.
    struct Outcome {
        var requests: [HTTPRequest]
        var text: String

        /// The status of the first answer, when it is a refusal.
        var status: Int? {
            guard text.hasPrefix("HTTP/1.1 "), let code = Int(text.dropFirst(9).prefix(3)) else { return nil }
            return code
        }
    }

    func exchange(_ chunks: [[UInt8]], responses: Int? = nil, configuration: HTTPServer.Configuration = configuration) throws -> Outcome {
        let seen = Mutex<[HTTPRequest]>([])
        return try withServer(
            configuration: configuration,
            handler: { request, connection in
                seen.withLock { $0.append(request) }
                return echoHandler(request, connection)
            }
        ) { server in
            let client = try RawClient(server: server)
            for (index, chunk) in chunks.enumerated() {
                client.send(chunk)
                if index + 1 < chunks.count { usleep(1_000) }  // a separate segment for each chunk
            }
            let text = responses.map { client.read(until: "\r\n\r\n", count: $0) } ?? client.readUntilClosed()
            return Outcome(requests: seen.withLock { $0 }, text: text)
        }
    }

    func exchange(_ text: String, responses: Int? = nil, configuration: HTTPServer.Configuration = configuration) throws -> Outcome {
        try exchange([Array(text.utf8)], responses: responses, configuration: configuration)
    }

    let post = "POST /hook/pre-tool-use HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"bcd\"}"

    @Test func simplePost() throws {
        let outcome = try exchange(post, responses: 1)
        #expect(outcome.requests.count == 1)
        let request = try #require(outcome.requests.first)
        #expect(request.method == "POST")
        #expect(request.path == "/hook/pre-tool-use")
        #expect(request.version == .http1_1)
        #expect(request.headers["Content-Type"] == "application/json")
        #expect(request.headers["CONTENT-LENGTH"] == "11")
        #expect(String(decoding: request.body, as: UTF8.self) == "{\"a\":\"bcd\"}")
        #expect(!outcome.text.contains("Connection: close"), "kept alive")
    }

    @Test func pipelinedRequestsComeOutInOrder() throws {
        let text = post + "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" + post + "GET /b HTTP/1.1\r\nConnection: close\r\n\r\n"
        let got = try exchange(text).requests
        #expect(got.map(\.path) == ["/hook/pre-tool-use", "/a", "/hook/pre-tool-use", "/b"])
        #expect(got.map(\.body.count) == [11, 0, 11, 0])
    }

    @Test func everySplitPointGivesTheSameRequests() throws {
        let text = Array((post + "GET /next HTTP/1.1\r\nConnection: close\r\n\r\n").utf8)
        let whole = try exchange([text]).requests
        #expect(whole.map(\.path) == ["/hook/pre-tool-use", "/next"])
        for cut in 1..<text.count {
            #expect(try exchange([Array(text[..<cut]), Array(text[cut...])]).requests == whole, "split at \(cut)")
        }
        #expect(try exchange(text.map { [$0] }).requests == whole, "one byte at a time")
    }

    @Test func leadingBlankLinesAreAccepted() throws {
        let got = try exchange("\r\n\r\nGET /lf HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").requests
        #expect(got.map(\.path) == ["/lf"])
        #expect(got.first?.headers["host"] == "x")
    }

    /// Where llhttp answers differently from the hand-written parser it replaced (issue 13). Bare LF line
    /// ends and a repeated equal Content-Length, accepted before, are refused; Content-Length beside
    /// Transfer-Encoding is refused by llhttp itself, as 400 (was 411 and 501), and so is another HTTP
    /// version (was 505, llhttp cannot tell it from a malformed request line); a run of spaces in the
    /// request line is read as one separator (RFC 9112 §3 allows it), no longer refused.
    @Test func whereLlhttpDecidesDifferently() throws {
        for text in [
            "GET /lf HTTP/1.1\nHost: x\n\n",
            "GET / HTTP/2.0\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
            "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n",
        ] {
            let outcome = try exchange(text)
            #expect(outcome.status == 400, "\(text.debugDescription) -> \(outcome.text.debugDescription)")
            #expect(!body(of: outcome.text).isEmpty, "the reason is in the body")
            #expect(outcome.requests.isEmpty)
        }
        let spaced = try exchange("GET  /s HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(spaced.requests.map(\.path) == ["/s"])
    }

    @Test func keepAliveFollowsVersionAndConnection() throws {
        func keepAlive(_ text: String) throws -> Bool? {
            let outcome = try exchange(text, responses: 1)
            guard outcome.status == 200 else { return nil }
            return !outcome.text.contains("Connection: close")
        }
        #expect(try keepAlive("GET / HTTP/1.1\r\n\r\n") == true)
        #expect(try keepAlive("GET / HTTP/1.1\r\nConnection: close\r\n\r\n") == false)
        #expect(try keepAlive("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n") == false)
        #expect(try keepAlive("GET / HTTP/1.0\r\n\r\n") == false)
        #expect(try keepAlive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == true)
    }

    @Test(arguments: [
        ("GET /\r\n\r\n", 400),
        ("GET / HTTP/1.1 extra\r\n\r\n", 400),
        ("G(T / HTTP/1.1\r\n\r\n", 400),
        ("GET / FTP/1.1\r\n\r\n", 400),
        ("GET /\u{1}x HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nName : x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\n\r\n", 411),
        ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nContent-Length: 1a\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
        ("POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 413),
    ])
    func rejected(text: String, status: Int) throws {
        let outcome = try exchange(text)
        #expect(outcome.status == status, "\(text.debugDescription) -> \(outcome.text.debugDescription)")
        #expect(!body(of: outcome.text).isEmpty, "the reason is in the body")
        #expect(outcome.requests.isEmpty)
    }

    @Test func oversizeHeadIsRejectedWithoutItsEnd() throws {
        var configuration = Self.configuration
        configuration.maxHeaderBytes = 256
        // No blank line yet: refused as soon as the head can no longer fit.
        let endless = "GET / HTTP/1.1\r\nX-Filler: " + String(repeating: "a", count: 300)
        #expect(try exchange(endless, configuration: configuration).status == 431)
        // Complete but too long.
        let long = "GET / HTTP/1.1\r\nX-Filler: " + String(repeating: "a", count: 300) + "\r\n\r\n"
        #expect(try exchange(long, configuration: configuration).status == 431)
        // Exactly fitting heads pass.
        let fits = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 256 - 23) + "\r\n\r\n"
        #expect(fits.utf8.count == 256)
        #expect(try exchange(fits, responses: 1, configuration: configuration).requests.count == 1)
    }

    @Test func bodyAtTheLimitIsAccepted() throws {
        let body = String(repeating: "b", count: 1024)
        let got = try exchange("PUT /x HTTP/1.1\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n" + body).requests
        #expect(got.first?.body.count == 1024)
    }

    @Test func afterAFailureNothingElseIsAnswered() throws {
        let outcome = try exchange("BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n")
        #expect(outcome.status == 400)
        #expect(occurrences(of: "HTTP/1.1 ", in: outcome.text) == 1, "\(outcome.text)")
        #expect(outcome.requests.isEmpty)
    }

    @Test func expectContinueIsSignalledUntilTheBodyArrives() throws {
        let seen = Mutex<[HTTPRequest]>([])
        try withServer(
            configuration: Self.configuration,
            handler: { request, connection in
                seen.withLock { $0.append(request) }
                return echoHandler(request, connection)
            }
        ) { server in
            let client = try RawClient(server: server)
            client.send("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            #expect(client.read(until: "\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n")
            #expect(seen.withLock { $0.isEmpty })
            client.send("ok")
            #expect(body(of: client.read(until: "POST / 2 ok")) == "POST / 2 ok\n")
            #expect(seen.withLock { $0.first?.body } == Array("ok".utf8))
        }
    }

    @Test func manyRequestsThroughOneConnection() throws {
        try withServer { server in
            let client = try RawClient(server: server)
            for index in 0..<10_000 {
                client.send("GET /\(index) HTTP/1.1\r\n\r\n")
                let text = client.read(until: "GET /\(index) 0")
                guard text.hasPrefix("HTTP/1.1 200 OK") else {
                    Issue.record("request \(index): \(text.debugDescription)")
                    return
                }
            }
            #expect(server.counters.connections == 1)
            #expect(server.counters.requests == 10_000)
        }
    }

    @Test func headerLookupIsCaseInsensitive() {
        var headers: HTTPHeaders = ["Content-Type": "a", "X-Multi": "1"]
        headers.add(name: "x-multi", value: "2")
        #expect(headers["content-type"] == "a")
        #expect(headers.values(for: "X-MULTI") == ["1", "2"])
        headers.replaceOrAdd(name: "X-Multi", value: "3")
        #expect(headers.values(for: "x-multi") == ["3"])
        #expect(headers["missing"] == nil)
        #expect(!HTTPHeaders.namesEqual("abc", "abcd"))
    }

    @Test func responsesCarryTheirOwnFraming() throws {
        var response = HTTPResponse.json(status: 200, Array("{}".utf8))
        response.headers.add(name: "Content-Length", value: "999")
        response.headers.add(name: "X-Evil", value: "a\r\nInjected: yes")
        let text = try ResponseWire.bytes(response, closing: true, version: .http1_1, head: false)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        let noContent = try ResponseWire.bytes(HTTPResponse(status: 204, body: [1]), closing: false, version: .http1_1, head: false)
        #expect(noContent == "HTTP/1.1 204 No Content\r\n\r\n")
        let head = try ResponseWire.bytes(HTTPResponse.text("hi"), closing: false, version: .http1_0, head: true)
        #expect(head.hasSuffix("Content-Length: 3\r\nConnection: keep-alive\r\n\r\n"))
    }
}
