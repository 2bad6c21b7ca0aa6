// SPDX-License-Identifier: Apache-2.0
// The server over real sockets: keep-alive, pipelining, split writes, limits, timeouts, the connection
// cap, graceful stop, and the Unix listener's file handling.

import Foundation
import Glibc
import Synchronization
import Testing
@testable import VigilTransport
import VigilTransportClient

@Suite struct HTTPServerTests {
    @Test func keepAliveServesManyRequestsOnOneConnection() throws {
        let connectionIDs = Mutex<Set<UInt64>>([])
        try withServer(handler: { request, connection in
            connectionIDs.withLock { _ = $0.insert(connection.id) }
            return .json(Array("{\"n\":\(request.body.count)}".utf8))
        }) { server in
            let client = HTTPClient(.tcp(host: "127.0.0.1", port: try #require(server.port)))
            for index in 0..<50 {
                let response = try client.request("POST", "/hook", headers: ["Connection": "keep-alive"], body: Array(repeating: 0x61, count: index))
                #expect(response.status == 200)
                #expect(response.headers["content-type"] == "application/json")
                #expect(response.bodyText == "{\"n\":\(index)}")
                #expect(client.isConnected)
            }
            #expect(connectionIDs.withLock { $0.count } == 1)
            #expect(server.counters.requests == 50)
            #expect(server.counters.connections == 1)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        try withServer { server in
            let client = try RawClient(server: server)
            client.send(
                "POST /one HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                    + "GET /two HTTP/1.1\r\n\r\n"
                    + "POST /three HTTP/1.1\r\nContent-Length: 1\r\nConnection: close\r\n\r\nz")
            let text = client.readUntilClosed()
            #expect(occurrences(of: "HTTP/1.1 200 OK", in: text) == 3)
            let one = try #require(text.range(of: "POST /one 3 abc"))
            let two = try #require(text.range(of: "GET /two 0"))
            let three = try #require(text.range(of: "POST /three 1 z"))
            #expect(one.lowerBound < two.lowerBound && two.lowerBound < three.lowerBound)
            #expect(text.contains("Connection: close"))
        }
    }

    @Test func requestSplitAcrossWritesIsReassembled() throws {
        try withServer { server in
            let client = try RawClient(server: server)
            let request = Array("POST /split HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".utf8)
            for byte in request {
                client.send([byte])
                usleep(500)
            }
            let text = client.readUntilClosed()
            #expect(text.hasPrefix("HTTP/1.1 200 OK"))
            #expect(body(of: text) == "POST /split 5 hello\n")
        }
    }

    @Test func malformedRequestsAreAnsweredAndCounted() throws {
        try withServer { server in
            let cases: [(String, String)] = [
                ("GARBAGE\r\n\r\n", "HTTP/1.1 400 Bad Request"),
                ("POST /x HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 411 Length Required"),
                ("POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n", "HTTP/1.1 400 Bad Request"),
                ("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 411 Length Required"),
            ]
            for (request, statusLine) in cases {
                let client = try RawClient(server: server)
                client.send(request)
                let text = client.readUntilClosed()
                #expect(text.hasPrefix(statusLine), "\(request.debugDescription) -> \(text.debugDescription)")
                #expect(text.contains("Connection: close"))
                #expect(!body(of: text).isEmpty, "the reason is in the body")
            }
            #expect(server.counters.badRequests == 4)
            #expect(server.counters.requests == 0)
        }
    }

    @Test func oversizeHeadAndBodyAreRefused() throws {
        var configuration = HTTPServer.Configuration()
        configuration.maxBodyBytes = 1000
        try withServer(configuration: configuration) { server in
            let big = try RawClient(server: server)
            big.send("POST /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n")
            let bigText = big.readUntilClosed()
            #expect(bigText.hasPrefix("HTTP/1.1 413"))

            let head = try RawClient(server: server)
            head.send("GET / HTTP/1.1\r\nX-Filler: " + String(repeating: "a", count: 17 * 1024) + "\r\n\r\n")
            #expect(head.readUntilClosed().hasPrefix("HTTP/1.1 431"))
            #expect(server.counters.tooLarge == 2)

            // The limit itself passes, over the client too.
            let client = HTTPClient(.tcp(host: "127.0.0.1", port: try #require(server.port)))
            #expect(try client.request("POST", "/x", body: Array(repeating: 1, count: 1000)).status == 200)
        }
    }

    @Test func largeBodiesRoundTrip() throws {
        try withServer(handler: { request, _ in HTTPResponse(status: 200, body: request.body.reversed()) }) { server in
            let client = HTTPClient(.tcp(host: "127.0.0.1", port: try #require(server.port)))
            let payload = (0..<(3 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let response = try client.request("PUT", "/blob", body: payload)
            #expect(response.body == payload.reversed())
        }
    }

    @Test func expectContinueGetsAnInterimResponse() throws {
        try withServer { server in
            let client = try RawClient(server: server)
            client.send("POST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
            #expect(client.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 100 Continue\r\n\r\n"))
            client.send("ok")
            #expect(body(of: client.readUntilClosed()) == "POST /c 2 ok\n")
        }
    }

    @Test func idleAndSlowConnectionsTimeOut() throws {
        var configuration = HTTPServer.Configuration()
        configuration.idleTimeout = .milliseconds(200)
        try withServer(configuration: configuration) { server in
            let idle = try RawClient(server: server)
            #expect(idle.isClosedByServer())

            let partial = try RawClient(server: server)
            partial.send("GET / HTTP/1.1\r\nHo")
            #expect(partial.readUntilClosed().hasPrefix("HTTP/1.1 408"))
            #expect(eventually { server.counters.idleTimeouts == 2 })
        }
    }

    @Test func clientReconnectsAfterTheServerClosedAnIdleConnection() throws {
        var configuration = HTTPServer.Configuration()
        configuration.idleTimeout = .milliseconds(100)
        try withServer(configuration: configuration) { server in
            let client = HTTPClient(.tcp(host: "127.0.0.1", port: try #require(server.port)))
            #expect(try client.request("GET", "/1").status == 200)
            #expect(eventually { server.counters.idleTimeouts == 1 })
            #expect(try client.request("GET", "/2").status == 200)
            #expect(server.counters.connections == 2)
        }
    }

    @Test func clientClosingMidRequestIsCounted() throws {
        try withServer { server in
            do {
                let client = try RawClient(server: server)
                client.send("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
                usleep(50_000)
            }
            #expect(eventually { server.counters.incompleteRequests == 1 && server.openConnections == 0 })
        }
    }

    @Test func connectionsBeyondTheCapAreClosedAndCounted() throws {
        var configuration = HTTPServer.Configuration()
        configuration.maxConnections = 2
        try withServer(configuration: configuration) { server in
            let port = try #require(server.port)
            let first = HTTPClient(.tcp(host: "127.0.0.1", port: port))
            let second = HTTPClient(.tcp(host: "127.0.0.1", port: port))
            #expect(try first.request("GET", "/1").status == 200)
            #expect(try second.request("GET", "/2").status == 200)
            #expect(server.openConnections == 2)

            let third = try RawClient(server: server)
            let answer = third.readUntilClosed()
            #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 503"), "\(answer)")
            #expect(server.counters.rejectedConnections == 1)

            first.close()
            #expect(eventually { server.openConnections == 1 })
            let fourth = HTTPClient(.tcp(host: "127.0.0.1", port: port))
            #expect(try fourth.request("GET", "/4").status == 200)
            #expect(try second.request("GET", "/2again").status == 200)
        }
    }

    @Test func stopClosesIdleConnectionsAndJoins() throws {
        let server = try HTTPServer(listener: .tcp(host: "127.0.0.1", port: 0), handler: echoHandler)
        let port = try #require(server.port)
        let client = HTTPClient(.tcp(host: "127.0.0.1", port: port))
        #expect(try client.request("GET", "/").status == 200)
        let raw = try RawClient(server: server)  // connected, never sends
        #expect(eventually { server.openConnections == 2 })

        let started = Date()
        server.stop()
        #expect(Date().timeIntervalSince(started) < 5, "stop() does not wait for the idle timeout")
        #expect(server.openConnections == 0)
        #expect(raw.isClosedByServer())
        #expect(throws: HTTPClientError.self) { try client.request("GET", "/after") }
        server.stop()  // a second stop is harmless

        // The listener is gone.
        #expect(throws: HTTPClientError.self) { try HTTPClient(.tcp(host: "127.0.0.1", port: port)).request("GET", "/") }
    }

    @Test func stopLetsAnInFlightRequestFinish() throws {
        let entered = DispatchSemaphore(value: 0)
        let server = try HTTPServer(listener: .tcp(host: "127.0.0.1", port: 0)) { request, _ in
            entered.signal()
            usleep(200_000)
            return .text("finished \(request.path)")
        }
        let client = try RawClient(server: server)
        client.send("GET /slow HTTP/1.1\r\n\r\nGET /never HTTP/1.1\r\n\r\n")
        entered.wait()
        server.stop()
        let text = client.readUntilClosed()
        #expect(text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(text.contains("Connection: close"))
        #expect(body(of: text) == "finished /slow\n")
        #expect(server.counters.requests == 1, "the pipelined request after stop is not started")
    }

    @Test func concurrentStopsAreSafe() throws {
        let server = try HTTPServer(listener: .tcp(host: "127.0.0.1", port: 0), handler: echoHandler)
        let clients = try (0..<8).map { _ in try RawClient(server: server) }
        #expect(eventually { server.openConnections == clients.count })
        DispatchQueue.concurrentPerform(iterations: 4) { _ in server.stop() }
        #expect(server.openConnections == 0)
    }

    @Test func manyClientsInParallel() throws {
        try withServer { server in
            let port = try #require(server.port)
            let failures = Mutex(0)
            DispatchQueue.concurrentPerform(iterations: 16) { worker in
                let client = HTTPClient(.tcp(host: "127.0.0.1", port: port))
                for index in 0..<50 {
                    let body = Array("w\(worker)-\(index)".utf8)
                    guard let response = try? client.request("POST", "/p", body: body),
                        response.bodyText == "POST /p \(body.count) w\(worker)-\(index)\n"
                    else {
                        failures.withLock { $0 += 1 }
                        continue
                    }
                }
            }
            #expect(failures.withLock { $0 } == 0)
            #expect(server.counters.requests == 16 * 50)
        }
    }

    @Test func headRequestsGetNoBody() throws {
        try withServer { server in
            let client = HTTPClient(.tcp(host: "127.0.0.1", port: try #require(server.port)))
            let head = try client.request("HEAD", "/h")
            #expect(head.status == 200 && head.body.isEmpty)
            #expect(head.headers["Content-Length"] == "11")  // "HEAD /h 0 \n"
            #expect(try client.request("GET", "/after-head").bodyText == "GET /after-head 0 \n")
        }
    }

    @Test func handlerCanCloseTheConnection() throws {
        try withServer(handler: { _, _ in HTTPResponse(status: 403, closesConnection: true) }) { server in
            let client = HTTPClient(.tcp(host: "127.0.0.1", port: try #require(server.port)))
            #expect(try client.request("GET", "/").status == 403)
            #expect(!client.isConnected)
        }
    }

    @Test func ipv6Loopback() throws {
        let started = Result { () throws(HTTPServerError) in try HTTPServer(listener: .tcp(host: "::1", port: 0), handler: echoHandler) }
        if case .failure(let error) = started, error.errno == EADDRNOTAVAIL { return }  // no IPv6 loopback here
        let server = try started.get()
        defer { server.stop() }
        let client = HTTPClient(.tcp(host: "::1", port: try #require(server.port)))
        #expect(try client.request("GET", "/six").status == 200)
    }

    @Test func invalidListenersAreRefused() {
        #expect(throws: HTTPServerError.self) { try HTTPServer(listener: .tcp(host: "localhost", port: 0), handler: echoHandler) }
        #expect(throws: HTTPServerError.self) {
            try HTTPServer(listener: .unix(path: "/tmp/" + String(repeating: "x", count: 120), mode: 0o600), handler: echoHandler)
        }
    }

    @Test func clientTimesOutOnASlowServer() throws {
        try withServer(handler: { _, _ in
            usleep(1_000_000)
            return .text("late")
        }) { server in
            let client = HTTPClient(.tcp(host: "127.0.0.1", port: try #require(server.port)), timeout: .milliseconds(100))
            let started = Date()
            #expect(throws: HTTPClientError.self) { try client.request("GET", "/slow") }
            #expect(Date().timeIntervalSince(started) < 0.9)
            #expect(!client.isConnected)
        }
    }

    @Test func clientErrorsCarryPathAndErrno() {
        let path = temporarySocketPath("missing")
        do {
            _ = try HTTPClient(.unix(path: path)).request("GET", "/")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .connect)
            #expect(error.errno == ENOENT)
            #expect(error.endpoint == .unix(path: path))
            #expect(error.description.contains(path))
            #expect(error.description.contains("No such file or directory"))
        }
    }
}

@Suite struct UnixListenerTests {
    @Test func servesWithModeAndRemovesItsFileOnStop() throws {
        let path = temporarySocketPath("mode")
        let server = try HTTPServer(
            listener: .unix(path: path, mode: 0o660),
            handler: { request, connection in
                let credentials = connection.peerCredentials.map { "\($0.pid) \($0.uid) \($0.gid)" } ?? "none"
                return .text("\(request.path) \(credentials)")
            })
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o660)

        let client = HTTPClient(.unix(path: path))
        for _ in 0..<3 {
            #expect(try client.request("GET", "/me").bodyText == "/me \(getpid()) \(getuid()) \(getgid())\n")
        }
        server.stop()
        #expect(lstat(path, &info) != 0 && errno == ENOENT, "stop removes the socket it created")
    }

    @Test func stopClosesIdleUnixConnections() throws {
        let path = temporarySocketPath("stop")
        let server = try HTTPServer(listener: .unix(path: path, mode: 0o600), handler: echoHandler)
        let raw = try RawClient(to: .unix(path: path))
        raw.send("GET / HTTP/1.1\r\n\r\n")
        #expect(raw.read(until: "GET / 0").hasPrefix("HTTP/1.1 200"))
        server.stop()
        #expect(server.openConnections == 0)
        #expect(raw.isClosedByServer())
    }

    @Test func peerCredentialsOfAChildProcess() throws {
        let path = temporarySocketPath("child")
        try withServer(
            .unix(path: path, mode: 0o600),
            handler: { _, connection in
                .text(connection.peerCredentials.map { "pid=\($0.pid)" } ?? "none")
            }
        ) { _ in
            let child = try PythonClient(unixPath: path)
            let output = child.go()
            #expect(body(of: output) == "pid=\(child.pid)\n")
        }
    }

    @Test func staleSocketIsReplaced() throws {
        let path = temporarySocketPath("stale")
        // A socket file nobody listens on: what a crashed daemon leaves behind.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        _ = SocketAddress.unix(path: path).withSockaddr { bind(fd, $0, $1) }
        close(fd)
        var info = stat()
        #expect(lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK)

        try withServer(.unix(path: path, mode: 0o600)) { _ throws in
            #expect(try HTTPClient(.unix(path: path)).request("GET", "/").status == 200)
        }
    }

    @Test func aLiveServerIsNotReplaced() throws {
        let path = temporarySocketPath("live")
        try withServer(.unix(path: path, mode: 0o600)) { _ throws in
            do throws(HTTPServerError) {
                _ = try HTTPServer(listener: .unix(path: path, mode: 0o600), handler: echoHandler)
                Issue.record("a second server took over a live socket")
            } catch {
                #expect(error.code == .addressInUse)
            }
            #expect(try HTTPClient(.unix(path: path)).request("GET", "/").status == 200)
        }
    }

    @Test func otherFilesAreNeverRemoved() throws {
        let path = temporarySocketPath("file")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8)))
        defer { unlink(path) }
        do {
            _ = try HTTPServer(listener: .unix(path: path, mode: 0o600), handler: echoHandler)
            Issue.record("server started over a regular file")
        } catch {
            #expect(error.code == .notASocket)
            #expect(error.description.contains(path))
        }
        #expect(FileManager.default.contents(atPath: path) == Data("keep me".utf8))

        let directory = temporarySocketPath("dir")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { rmdir(directory) }
        #expect(throws: HTTPServerError.self) { try HTTPServer(listener: .unix(path: directory, mode: 0o600), handler: echoHandler) }
    }
}
