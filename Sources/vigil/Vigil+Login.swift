// SPDX-License-Identifier: Apache-2.0
// `vigil login EMAIL`, run by the developer: binds their OS account on this device to the person
// the console knows by EMAIL. vigild (which knows the caller's uid from the kernel) starts the
// login at the console; an admin of the console reads the six-digit code out to the person, who
// enters it here (or passes `--login ID --code CODE` later).
import ArgumentParser
import Foundation
import Glibc
import VigilAPI
import VigilTransport
import VigilTransportClient

extension Vigil {
    struct Login: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bind your OS account on this device to you, as the console knows you (run as yourself, not root).")

        @Argument(help: "Your email address, as the console's people list has it.") var email: String?
        @Option(name: .long, help: "Complete a login started before (its id, as printed).") var login: String?
        @Option(name: .long, help: "The six-digit code the console's admin gave you (else asked for).") var code: String?
        @Option(help: "vigild's API socket.")
        var socket = ProcessInfo.processInfo.environment["VIGIL_SOCKET"] ?? "/run/vigil/vigild.sock"

        func validate() throws {
            guard (email == nil) != (login == nil) else { throw ValidationError("give your email to start a login, or --login ID to complete one") }
            if login != nil, code == nil { throw ValidationError("--login needs --code") }
        }

        func run() async throws {
            guard geteuid() != 0 else { throw ValidationError("run vigil login as yourself: it binds the account that runs it") }
            let client = HTTPClient(.unix(path: socket), timeout: .seconds(30))
            defer { client.close() }
            var id = login
            if let email {
                let started: LoginStarted = try Self.call(client, "/v1/login", LocalLoginRequest(email: email))
                let expires = Date(timeIntervalSince1970: TimeInterval(started.expiresAt)).formatted(date: .omitted, time: .shortened)
                print("login \(started.id) started for \(email).")
                print("Ask an admin of your console for its code (vigil-console logins); it is good until \(expires).")
                id = started.id
            }
            guard let id else { return }
            let entered: String
            if let code {
                entered = code
            } else {
                // Nobody at a terminal to type it: the person completes it when they have the code.
                guard isatty(0) == 1 else {
                    print("then: vigil login --login \(id) --code CODE")
                    return
                }
                print("code: ", terminator: "")
                guard let line = readLine(), !line.isEmpty else {
                    throw CommandFailure("no code entered; complete it later with vigil login --login \(id) --code CODE")
                }
                entered = line
            }
            let binding: HumanBinding = try Self.call(client, "/v1/login/\(id)", LocalLoginCode(code: entered))
            let expires = Date(timeIntervalSince1970: TimeInterval(binding.expiresAt)).ISO8601Format()
            print("\(binding.user) (uid \(binding.uid)) on this device is now \(binding.email)")
            print("teams: \(binding.teams.joined(separator: ", ")); roles: \(binding.roles.joined(separator: ", ")); until \(expires)")
        }

        private static func call<Answer: Decodable>(_ client: HTTPClient, _ path: String, _ body: some Encodable) throws -> Answer {
            let response: VigilTransport.HTTPResponse
            do {
                response = try client.request(
                    "POST", path, headers: ["Content-Type": "application/json"], body: Array(try JSONEncoder().encode(body)))
            } catch {
                throw CommandFailure("vigild is not reachable on its socket: \(error)")
            }
            guard response.status == 200 else { throw CommandFailure(response.bodyText.trimmingCharacters(in: .whitespacesAndNewlines)) }
            do {
                return try JSONDecoder().decode(Answer.self, from: Data(response.body))
            } catch {
                throw CommandFailure("vigild's answer does not decode: \(error)")
            }
        }
    }
}
