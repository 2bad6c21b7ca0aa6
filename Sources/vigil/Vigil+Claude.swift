// SPDX-License-Identifier: Apache-2.0
// `vigil claude [ARGS…]`: Claude Code as a Vigil session, with no change to how it is used — same
// arguments, same terminal, same exit status. The daemon puts this very process in the session (its
// own cgroup, tagged in the kernel, enforcement in place), then this process *becomes* Claude Code
// (execv keeps the pid, the terminal and the cgroup), so nothing escapes between the two.
import ArgumentParser
import Foundation
import VigilAPI
import VigilTransport
import VigilTransportClient
#if canImport(Glibc)
    import Glibc
#endif

extension Vigil {
    struct Claude: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run Claude Code as a Vigil session (arguments are passed to claude unchanged).",
            discussion: """
                Asks vigild (VIGIL_SOCKET, default /run/vigil/vigild.sock) for a new session for this process, \
                then executes Claude Code in its place: VIGIL_CLAUDE_BIN, else the first 'claude' on PATH. \
                Interactive use and -p work as with claude itself. If vigild is not reachable nothing is started \
                (its hooks would block every tool call anyway).
                """)

        @Argument(parsing: .captureForPassthrough, help: "Arguments for claude.")
        var arguments: [String] = []

        func run() throws {
            let environment = ProcessInfo.processInfo.environment
            let socket = environment["VIGIL_SOCKET"] ?? "/run/vigil/vigild.sock"
            let binary = try Self.claudeBinary(environment)
            let cwd = FileManager.default.currentDirectoryPath
            let body = try JSONEncoder().encode(SessionRequest(cwd: cwd, argv: [binary] + arguments))
            let client = HTTPClient(.unix(path: socket), timeout: .seconds(15))
            let response: HTTPResponse
            do {
                response = try client.request("POST", "/v1/sessions", headers: ["Content-Type": "application/json"], body: Array(body))
            } catch {
                fail(
                    "vigild is not reachable (\(error)). Start it ('systemctl start vigild', or 'make run'); "
                        + "Claude Code is not started: its managed hooks would block every tool call.", code: 69)
            }
            client.close()
            guard response.status == 200, let grant = try? JSONDecoder().decode(SessionGrant.self, from: Data(response.body)) else {
                fail(
                    "vigild refused the session (HTTP \(response.status)): \(response.bodyText.trimmingCharacters(in: .whitespacesAndNewlines))",
                    code: 77)
            }
            setenv("VIGIL_SESSION", grant.session, 1)
            let argv = [binary] + arguments
            var cArgs = argv.map { strdup($0) } + [nil]
            execv(binary, &cArgs)
            fail("cannot execute \(binary): \(String(cString: strerror(errno)))", code: 126)
        }

        private func fail(_ message: String, code: Int32) -> Never {
            FileHandle.standardError.write(Data("vigil claude: \(message)\n".utf8))
            Foundation.exit(code)
        }

        /// VIGIL_CLAUDE_BIN, else `claude` on PATH (never this binary).
        static func claudeBinary(_ environment: [String: String]) throws -> String {
            if let path = environment["VIGIL_CLAUDE_BIN"], !path.isEmpty {
                guard access(path, X_OK) == 0 else { throw ValidationError("VIGIL_CLAUDE_BIN=\(path) is not executable") }
                return path
            }
            for directory in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
                let candidate = "\(directory)/claude"
                if access(candidate, X_OK) == 0 { return candidate }
            }
            throw ValidationError("no 'claude' on PATH; set VIGIL_CLAUDE_BIN to the Claude Code binary")
        }
    }
}
