// SPDX-License-Identifier: Apache-2.0
// Real clients against the server: curl (Expect: 100-continue on large bodies, --unix-socket) and Node's
// http module with a keep-alive agent (what axios, and so Claude Code's http hooks, sit on).

import Foundation
import Glibc
import Synchronization
import Testing
@testable import VigilTransport
import VigilTransportClient

@Suite struct ClientInteropTests {
    static let hasCurl = FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")
    static let hasNode = FileManager.default.isExecutableFile(atPath: "/usr/bin/node")

    func run(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> (pid: Int32, output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(input) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.processIdentifier, String(decoding: data, as: UTF8.self), process.terminationStatus)
    }

    @Test(.enabled(if: hasCurl, "needs /usr/bin/curl")) func curlLargeBodyWithExpectContinue() throws {
        let path = temporarySocketPath("curl")
        let body = Data(repeating: 0x41, count: 2 * 1024 * 1024)
        for listener in [HTTPServer.Listener.tcp(host: "127.0.0.1", port: 0), .unix(path: path, mode: 0o600)] {
            try withServer(listener) { server in
                let target: [String]
                if let port = server.port {
                    target = ["http://127.0.0.1:\(port)/upload"]
                } else {
                    target = ["--unix-socket", path, "http://localhost/upload"]
                }
                // -H Expect: forces the interim-response path regardless of curl's size threshold.
                let result = try run(
                    "/usr/bin/curl", ["-sS", "--max-time", "10", "-H", "Expect: 100-continue", "--data-binary", "@-"] + target, input: body)
                #expect(result.status == 0)
                #expect(result.output == "POST /upload \(body.count) \(String(repeating: "A", count: body.count))\n")
            }
        }
    }

    @Test(.enabled(if: hasNode, "needs /usr/bin/node")) func nodeKeepAliveAgentUsesOneConnectionAndIsIdentified() throws {
        let connections = Mutex<Set<UInt64>>([])
        try withServer(handler: { request, connection in
            connections.withLock { _ = $0.insert(connection.id) }
            let pid = (try? connection.peer())?.pid.map(String.init) ?? "none"
            return .json(Array("{\"pid\":\(pid),\"bytes\":\(request.body.count)}".utf8))
        }) { server in
            let script = """
                const http = require('http');
                const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
                const post = (body) => new Promise((resolve, reject) => {
                  const req = http.request({ host: '127.0.0.1', port: \(server.port!), path: '/hook', method: 'POST', agent,
                    headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
                    let data = ''; res.on('data', (c) => data += c); res.on('end', () => resolve(data));
                  });
                  req.on('error', reject); req.end(body);
                });
                (async () => {
                  for (let i = 0; i < 3; i++) console.log(await post(JSON.stringify({ i })));
                  agent.destroy();
                })();
                """
            let result = try run("/usr/bin/node", ["-e", script])
            #expect(result.status == 0)
            let lines = result.output.split(separator: "\n")
            #expect(lines == Array(repeating: Substring("{\"pid\":\(result.pid),\"bytes\":7}"), count: 3), "\(result.output)")
            #expect(connections.withLock { $0.count } == 1)
        }
    }
}
