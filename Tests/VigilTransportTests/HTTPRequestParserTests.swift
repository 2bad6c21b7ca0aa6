// SPDX-License-Identifier: Apache-2.0
// The parser alone: bytes in, requests or a rejection out, however the bytes are split.

import Testing
@testable import VigilTransport

@Suite struct HTTPRequestParserTests {
    static let limits = HTTPRequestParser.Limits(maxHeaderBytes: 16 * 1024, maxBodyBytes: 1024)

    /// Feeds `chunks` one at a time and collects every step that is not `.needMoreData`.
    func parse(_ chunks: [[UInt8]], limits: HTTPRequestParser.Limits = limits) -> [HTTPRequestParser.Step] {
        var parser = HTTPRequestParser(limits: limits)
        var steps: [HTTPRequestParser.Step] = []
        for chunk in chunks {
            parser.append(chunk)
            while true {
                let step = parser.next()
                if step == .needMoreData { break }
                steps.append(step)
                if case .failure = step { return steps }
            }
        }
        return steps
    }

    func parse(_ text: String, limits: HTTPRequestParser.Limits = limits) -> [HTTPRequestParser.Step] {
        parse([Array(text.utf8)], limits: limits)
    }

    func requests(_ steps: [HTTPRequestParser.Step]) -> [HTTPRequest] {
        steps.compactMap { if case .request(let request, _) = $0 { request } else { nil } }
    }

    func failure(_ steps: [HTTPRequestParser.Step]) -> HTTPRequestError? {
        if case .failure(let error) = steps.last { error } else { nil }
    }

    let post = "POST /hook/pre-tool-use HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"bcd\"}"

    @Test func simplePost() {
        let steps = parse(post)
        #expect(steps.count == 1)
        guard case .request(let request, let keepAlive) = steps.first else { Issue.record("no request"); return }
        #expect(request.method == "POST")
        #expect(request.path == "/hook/pre-tool-use")
        #expect(request.version == .http1_1)
        #expect(request.headers["Content-Type"] == "application/json")
        #expect(request.headers["CONTENT-LENGTH"] == "11")
        #expect(String(decoding: request.body, as: UTF8.self) == "{\"a\":\"bcd\"}")
        #expect(keepAlive)
    }

    @Test func pipelinedRequestsComeOutInOrder() {
        let text = post + "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" + post + "GET /b HTTP/1.1\r\n\r\n"
        let got = requests(parse(text))
        #expect(got.map(\.path) == ["/hook/pre-tool-use", "/a", "/hook/pre-tool-use", "/b"])
        #expect(got.map(\.body.count) == [11, 0, 11, 0])
    }

    @Test func everySplitPointGivesTheSameRequests() {
        let text = Array((post + "GET /next HTTP/1.1\r\n\r\n").utf8)
        let whole = requests(parse([text]))
        for cut in 1..<text.count {
            #expect(requests(parse([Array(text[..<cut]), Array(text[cut...])])) == whole, "split at \(cut)")
        }
        #expect(requests(parse(text.map { [$0] })) == whole, "one byte at a time")
    }

    @Test func bareLineFeedsAndLeadingBlankLinesAreAccepted() {
        let got = requests(parse("\r\n\nGET /lf HTTP/1.1\nHost: x\n\n"))
        #expect(got.map(\.path) == ["/lf"])
        #expect(got.first?.headers["host"] == "x")
    }

    @Test func keepAliveFollowsVersionAndConnection() {
        func keepAlive(_ text: String) -> Bool? {
            if case .request(_, let keepAlive) = parse(text).first { keepAlive } else { nil }
        }
        #expect(keepAlive("GET / HTTP/1.1\r\n\r\n") == true)
        #expect(keepAlive("GET / HTTP/1.1\r\nConnection: close\r\n\r\n") == false)
        #expect(keepAlive("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n") == false)
        #expect(keepAlive("GET / HTTP/1.0\r\n\r\n") == false)
        #expect(keepAlive("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == true)
    }

    @Test(arguments: [
        ("GET /\r\n\r\n", 400),
        ("GET  / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1 extra\r\n\r\n", 400),
        ("G(T / HTTP/1.1\r\n\r\n", 400),
        ("GET / FTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\n\r\n", 505),
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
        ("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 411),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", 413),
    ])
    func rejected(text: String, status: Int) {
        let error = failure(parse(text))
        #expect(error?.status == status, "\(text.debugDescription) -> \(String(describing: error))")
        #expect(error?.reason.isEmpty == false)
    }

    @Test func duplicateEqualContentLengthIsAccepted() {
        let got = requests(parse("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"))
        #expect(got.first?.body == Array("abc".utf8))
    }

    @Test func oversizeHeadIsRejectedWithoutItsEnd() {
        let limits = HTTPRequestParser.Limits(maxHeaderBytes: 256, maxBodyBytes: 1024)
        // No blank line yet: refused as soon as the head can no longer fit.
        let endless = "GET / HTTP/1.1\r\nX-Filler: " + String(repeating: "a", count: 300)
        #expect(failure(parse(endless, limits: limits))?.status == 431)
        // Complete but too long.
        let long = "GET / HTTP/1.1\r\nX-Filler: " + String(repeating: "a", count: 300) + "\r\n\r\n"
        #expect(failure(parse(long, limits: limits))?.status == 431)
        // Exactly fitting heads pass.
        let fits = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 256 - 23) + "\r\n\r\n"
        #expect(fits.utf8.count == 256)
        #expect(requests(parse(fits, limits: limits)).count == 1)
    }

    @Test func bodyAtTheLimitIsAccepted() {
        let body = String(repeating: "b", count: 1024)
        let got = requests(parse("PUT /x HTTP/1.1\r\nContent-Length: 1024\r\n\r\n" + body))
        #expect(got.first?.body.count == 1024)
    }

    @Test func afterAFailureTheParserOnlyRepeatsIt() {
        var parser = HTTPRequestParser(limits: Self.limits)
        parser.append(Array("BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n".utf8))
        guard case .failure(let first) = parser.next() else { Issue.record("expected failure"); return }
        #expect(parser.next() == .failure(first))
    }

    @Test func expectContinueIsSignalledUntilTheBodyArrives() {
        var parser = HTTPRequestParser(limits: Self.limits)
        parser.append(Array("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8))
        #expect(parser.next() == .needMoreData)
        #expect(parser.wantsContinue)
        #expect(!parser.isIdle)
        parser.continueSent()
        parser.append(Array("ok".utf8))
        guard case .request(let request, _) = parser.next() else { Issue.record("expected request"); return }
        #expect(request.body == Array("ok".utf8))
        #expect(parser.isIdle)
    }

    @Test func manyRequestsThroughOneParserKeepTheBufferSmall() {
        var parser = HTTPRequestParser(limits: Self.limits)
        for index in 0..<10_000 {
            parser.append(Array("GET /\(index) HTTP/1.1\r\n\r\n".utf8))
            guard case .request(let request, _) = parser.next() else { Issue.record("no request \(index)"); return }
            #expect(request.path == "/\(index)")
        }
        #expect(parser.bufferedByteCount == 0)
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

    @Test func responsesCarryTheirOwnFraming() {
        var response = HTTPResponse.json(status: 200, Array("{}".utf8))
        response.headers.add(name: "Content-Length", value: "999")
        response.headers.add(name: "X-Evil", value: "a\r\nInjected: yes")
        let text = String(decoding: response.serialized(closing: true, version: .http1_1, head: false), as: UTF8.self)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        let noContent = String(decoding: HTTPResponse(status: 204, body: [1]).serialized(closing: false, version: .http1_1, head: false), as: UTF8.self)
        #expect(noContent == "HTTP/1.1 204 No Content\r\n\r\n")
        let head = String(decoding: HTTPResponse.text("hi").serialized(closing: false, version: .http1_0, head: true), as: UTF8.self)
        #expect(head.hasSuffix("Content-Length: 3\r\nConnection: keep-alive\r\n\r\n"))
    }
}
