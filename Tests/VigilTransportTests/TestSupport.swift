// SPDX-License-Identifier: Apache-2.0
// Helpers for the live tests: a server that always stops, a raw socket client that sends exact bytes, and
// a child process that connects on cue (so its pid is known before it connects).

import Foundation
import Glibc
import Synchronization
import Testing
@testable import VigilTransport
import VigilTransportClient

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Echoes what it received: `method path bodyBytes body`.
let echoHandler: HTTPServer.Handler = { request, _ in
    .text("\(request.method) \(request.path) \(request.body.count) \(String(decoding: request.body, as: UTF8.self))")
}

func withServer<R>(
    _ listener: HTTPServer.Listener = .tcp(host: "127.0.0.1", port: 0),
    configuration: HTTPServer.Configuration = .init(),
    handler: @escaping HTTPServer.Handler = echoHandler,
    _ body: (HTTPServer) throws -> R
) throws -> R {
    let server = try HTTPServer(listener: listener, configuration: configuration, handler: handler)
    defer { server.stop() }
    return try body(server)
}

/// A fresh socket path under /tmp (sun_path holds 107 bytes).
func temporarySocketPath(_ tag: String) -> String {
    "/tmp/vigil-transport-\(getpid())-\(tag)-\(UInt32.random(in: 0...UInt32.max)).sock"
}

/// Polls `condition` for up to `seconds` (for state that another thread updates).
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}

/// A blocking socket that sends exactly the bytes it is given.
final class RawClient {
    let fd: Int32

    init(to address: SocketAddress) throws {
        let family: Int32
        if case .ip(let bytes, _) = address { family = bytes.count == 4 ? AF_INET : AF_INET6 } else { family = AF_UNIX }
        fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        let result = address.withSockaddr { connect(fd, $0, $1) } ?? -1
        guard result == 0 else {
            let code = errno
            close(fd)
            throw TestFailure("connect \(address): \(String(cString: strerror(code)))")
        }
        var on: Int32 = 1
        if family != AF_UNIX { setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) }
        POSIX.setTimeout(fd, option: SO_RCVTIMEO, .seconds(10))
    }

    convenience init(server: HTTPServer) throws {
        try self.init(to: server.boundAddress)
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { POSIX.sendAll(fd, $0) }
    }

    /// Everything until the server closes (or 10 s pass).
    func readUntilClosed() -> String {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            all.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: all, as: UTF8.self)
    }

    /// Reads until `text` contains `marker` the given number of times (or the server closes).
    func read(until marker: String, count: Int = 1) -> String {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while String(decoding: all, as: UTF8.self).components(separatedBy: marker).count - 1 < count {
            let received = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if received <= 0 { break }
            all.append(contentsOf: chunk[0..<received])
        }
        return String(decoding: all, as: UTF8.self)
    }

    /// True if the server closed the connection (EOF or reset) within the receive timeout.
    func isClosedByServer() -> Bool {
        var byte: UInt8 = 0
        while true {
            let count = recv(fd, &byte, 1, 0)
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }
}

func occurrences(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

/// A Python child that waits for a line on stdin, then sends one request and prints the response.
/// Waiting for the cue means its pid is known before it connects.
final class PythonClient {
    let process = Process()
    let input = Pipe()
    let output = Pipe()

    static var interpreter: String {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "/usr/bin/env"
    }

    init(tcpPort port: UInt16) throws {
        try start(connect: "s = socket.create_connection(('127.0.0.1', \(port)))")
    }

    init(unixPath path: String) throws {
        try start(connect: "s = socket.socket(socket.AF_UNIX); s.connect('\(path)')")
    }

    private func start(connect: String) throws {
        let script = """
            import socket, sys
            sys.stdin.readline()
            \(connect)
            s.sendall(b'GET /whoami HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')
            data = b''
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            sys.stdout.write(data.decode())
            """
        process.executableURL = URL(fileURLWithPath: PythonClient.interpreter)
        process.arguments = (PythonClient.interpreter == "/usr/bin/env" ? ["python3"] : []) + ["-c", script]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Lets the child connect, and returns what it received.
    func go() -> String {
        input.fileHandleForWriting.write(Data("go\n".utf8))
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// The body of an HTTP response text (after the blank line).
func body(of response: String) -> String {
    guard let range = response.range(of: "\r\n\r\n") else { return "" }
    return String(response[range.upperBound...])
}
