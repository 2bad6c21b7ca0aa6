// SPDX-License-Identifier: Apache-2.0
// `vigil-console`: serve the console, and the admin commands that talk to a running one over its
// root-only Unix socket (so that every admin action goes through the console and into its audit log).
import ArgumentParser
import Foundation
import Glibc
import Logging
import VigilAPI
import VigilConsole
import VigilHost
import VigilTransport
import VigilTransportClient

@main
struct VigilConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-console",
        abstract: "Vigil's console: enrolled devices and one policy for the organisation.",
        subcommands: [
            Serve.self, EnrollTokenCommand.self, Devices.self, Revoke.self, PolicyCommand.self, AdminCommand.self, PeopleCommand.self,
            Logins.self,
        ]
    )

    static func logger(_ label: String) -> Logger {
        let level = ProcessInfo.processInfo.environment["VIGIL_LOG_LEVEL"].flatMap(Logger.Level.init(name:)) ?? .info
        return Logger(label: label) { StandardErrorLogHandler(label: $0, logLevel: level) }
    }
}

struct StateOptions: ParsableArguments {
    @Option(name: .long, help: "The console's state directory (keys, TLS, audit log, the SQLite database unless --db).")
    var state = "/var/lib/vigil-console"

    @Option(name: .long, help: "The admin socket (default STATE/admin.sock).")
    var adminSocket: String?

    var socketPath: String { adminSocket ?? state + "/admin.sock" }
}

extension VigilConsoleCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the console until SIGTERM.")

        @OptionGroup var state: StateOptions
        @Option(
            name: .long,
            help: """
                Database: sqlite:PATH (default sqlite:STATE/console.db), or postgres://USER@HOST:PORT/DB (also postgresql://; \
                ?sslmode=disable|prefer|require|verify-full, ?host=/socket/dir; the password from PGPASSWORD) for replicas \
                that share it and the key files.
                """) var db: String?
        @Option(name: .long, help: "Listen address HOST:PORT for the device API.") var listen = "127.0.0.1:8443"
        @Option(name: .long, help: "TLS certificate chain (PEM).") var tlsCert: String?
        @Option(name: .long, help: "TLS private key (PEM).") var tlsKey: String?
        @Flag(name: .long, help: "Make (once) and use a self-signed certificate under STATE (the default).") var selfSigned = false
        @Option(name: .long, help: "The URL devices are given in tokens (default https://LISTEN).") var publicURL: String?

        func run() async throws {
            // Everything the console writes (database, WAL, keys, log) is for its own user only.
            umask(0o077)
            guard let (host, port) = Self.split(listen) else { throw ValidationError("--listen \(listen) is not HOST:PORT") }
            let tls: ConsoleConfiguration.TLSSource
            switch (tlsCert, tlsKey, selfSigned) {
            case (let cert?, let key?, false): tls = .files(certificate: cert, key: key)
            case (nil, nil, _): tls = .selfSigned
            default: throw ValidationError("give --tls-cert and --tls-key together, or --self-signed")
            }
            let configuration = ConsoleConfiguration(
                stateDirectory: state.state, database: db, host: host, port: port, tls: tls, publicURL: publicURL, adminSocket: state.adminSocket)
            let console: Console
            do {
                console = try Console(configuration: configuration, logger: VigilConsoleCommand.logger("vigil-console"))
            } catch {
                throw CommandFailure("cannot start: \(error)")
            }
            print(
                "vigil-console: web console and device API \(console.publicURL) (certificate \(console.tls.pin)), admin socket \(configuration.adminSocket)"
            )
            try await console.run()
        }

        static func split(_ text: String) -> (String, Int)? {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
                return nil
            }
            var host = String(text[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return host.isEmpty ? nil : (host, port)
        }
    }

    struct EnrollTokenCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "enroll-token", abstract: "Issue an enrolment token and print it.")

        @OptionGroup var state: StateOptions
        @Option(name: .long, help: "The team devices enrolled with this token join.") var team: String?
        @Option(name: .long, help: "Lifetime: N[smhd] (default 24h).") var expires = "24h"
        @Option(name: .long, help: "How many devices may enrol with it.") var uses = 1
        @Flag(name: .long, help: "Refuse devices whose key is not held by a TPM (403 tpm_required; the key is not attested).")
        var requireTpm = false
        @Flag(name: .long, help: "Print the JSON answer instead of the token alone.") var json = false

        func run() async throws {
            guard let seconds = Self.duration(expires) else { throw ValidationError("--expires \(expires) is not N followed by s, m, h or d") }
            let body = try JSONEncoder().encode(
                IssueTokenRequest(
                    team: team, expiresIn: seconds, uses: uses, requireTPM: requireTpm, actor: AdminClient.actor))
            let answer = try AdminClient(socket: state.socketPath).call("POST", "/admin/v1/tokens", body: Array(body), expect: 201)
            if json {
                print(String(decoding: answer, as: UTF8.self))
                return
            }
            struct Issued: Decodable { var token: String }
            print(try JSONDecoder().decode(Issued.self, from: Data(answer)).token)
        }

        static func duration(_ text: String) -> Int64? {
            guard let unit = text.last, let value = Int64(text.dropLast()), value > 0 else { return Int64(text) }
            switch unit {
            case "s": return value
            case "m": return value * 60
            case "h": return value * 3600
            case "d": return value * 86400
            default: return nil
            }
        }
    }

    struct Devices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List enrolled devices.")
        @OptionGroup var state: StateOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let answer = try AdminClient(socket: state.socketPath).call("GET", "/admin/v1/devices", expect: 200)
            if json {
                print(String(decoding: answer, as: UTF8.self))
                return
            }
            let devices = try JSONDecoder().decode([DeviceSummary].self, from: Data(answer))
            print("DEVICE\tHOSTNAME\tTEAM\tVIGIL\tMODE\tLAST SEEN\tPOLICY\tSTATE")
            for device in devices {
                let state = device.revokedAt.map { "revoked at \($0)" } ?? "enrolled"
                print(
                    "\(device.id)\t\(device.facts.hostname)\t\(device.team ?? "-")\t\(device.facts.vigilVersion)\t\(device.facts.enforcementMode)\t\(PolicyCommand.List.time(device.lastSeen))\t\(device.policyVersion.map { "v\($0)" } ?? "-")\t\(state)"
                )
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a device: its key is refused from now on.")
        @OptionGroup var state: StateOptions
        @Argument(help: "The device id (vigil-console devices).") var device: String
        @Option(name: .long, help: "Why (kept in the audit log).") var reason = "revoked by an administrator"

        func run() async throws {
            let body = try JSONEncoder().encode(RevokeRequest(reason: reason, actor: AdminClient.actor))
            _ = try AdminClient(socket: state.socketPath).call("POST", "/admin/v1/devices/\(device)/revoke", body: Array(body), expect: 200)
            print("revoked \(device)")
        }
    }
}

extension VigilConsoleCommand {
    struct PolicyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy", abstract: "The organisation's policy: push a new version, list the versions, show one; edit its rules.",
            subcommands: [Push.self, List.self, Show.self, Rules.self, AddRule.self, RemoveRule.self, Import.self, Diff.self])

        struct Push: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make FILE the new policy version; it is compiled first and refused with its line and reason if broken.")
            @OptionGroup var state: StateOptions
            @Argument(help: "A Vigil policy (YAML).") var file: String
            @Option(name: .long, help: "Why (kept with the version and in the audit log).") var comment: String?

            func run() async throws {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CommandFailure("cannot read \(file)") }
                let body = try JSONEncoder().encode(PolicyChange(document: text, actor: AdminClient.actor, comment: comment))
                let answer = try AdminClient(socket: state.socketPath).call("POST", "/admin/v1/policy", body: Array(body), expect: 201)
                let bundle = try JSONDecoder().decode(PolicyBundle.self, from: Data(answer))
                print("policy v\(bundle.version) is current; enrolled devices apply it now")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Every version, newest first.")
            @OptionGroup var state: StateOptions

            func run() async throws {
                let answer = try AdminClient(socket: state.socketPath).call("GET", "/admin/v1/policy", expect: 200)
                print("VERSION\tCREATED\tAUTHOR\tCOMMENT")
                for bundle in try JSONDecoder().decode([PolicyBundle].self, from: Data(answer)) {
                    print("v\(bundle.version)\t\(Self.time(bundle.createdAt))\t\(bundle.author)\t\(bundle.comment ?? "")")
                }
            }

            static func time(_ seconds: Int64) -> String {
                ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print one version's document.")
            @OptionGroup var state: StateOptions
            @Argument(help: "The version number.") var version: Int

            func run() async throws {
                let answer = try AdminClient(socket: state.socketPath).call("GET", "/admin/v1/policy/\(version)", expect: 200)
                print(try JSONDecoder().decode(PolicyBundle.self, from: Data(answer)).document)
            }
        }
    }
}

/// One call to the running console's admin socket; a refusal is printed with the console's reason.
struct AdminClient {
    let socket: String

    /// Who is asking, as the admin would recognise it: the login user behind sudo when there is one.
    static var actor: String {
        let environment = ProcessInfo.processInfo.environment
        return environment["SUDO_USER"] ?? environment["USER"] ?? "uid \(getuid())"
    }

    func call(_ method: String, _ path: String, body: [UInt8] = [], expect: Int) throws -> [UInt8] {
        let client = HTTPClient(.unix(path: socket))
        defer { client.close() }
        var headers: VigilTransport.HTTPHeaders = [:]
        if !body.isEmpty { headers.add(name: "Content-Type", value: "application/json") }
        let response: VigilTransport.HTTPResponse
        do {
            response = try client.request(method, path, headers: headers, body: body)
        } catch {
            throw CommandFailure("cannot reach the console's admin socket \(socket) (is vigil-console serve running?): \(error)")
        }
        guard response.status == expect else {
            let reason = (try? JSONDecoder().decode(APIErrorBody.self, from: Data(response.body))).map(\.reason)
            throw CommandFailure("the console refused (\(response.status)): \(reason ?? String(decoding: response.body, as: UTF8.self))")
        }
        return response.body
    }
}

/// A command that ran and failed: printed as `Error: <message>`, without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
