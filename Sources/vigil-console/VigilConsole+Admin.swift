// SPDX-License-Identifier: Apache-2.0
// `vigil-console admin add | list | set`: the web console's accounts, made and changed through the
// admin socket (so into the console's audit log). `add` prints a one-time password.
import ArgumentParser
import Foundation
import VigilConsole

extension AdminRole: ExpressibleByArgument {}

extension VigilConsoleCommand {
    struct AdminCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "admin", abstract: "The web console's admin accounts.", subcommands: [Add.self, List.self, Set.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make an account and print its one-time password (the first login replaces it).")
            @OptionGroup var state: StateOptions
            @Argument(help: "The account's name.") var name: String
            @Option(name: .long, help: "admin (everything), policy-editor (the policy, read the rest) or auditor (read-only).")
            var role: AdminRole

            func run() async throws {
                let body = try JSONEncoder().encode(AddAdminRequest(name: name, role: role, actor: AdminClient.actor))
                let answer = try AdminClient(socket: state.socketPath).call("POST", "/admin/v1/admins", body: Array(body), expect: 201)
                let added = try JSONDecoder().decode(AddedAdmin.self, from: Data(answer))
                print("admin \(added.name) (\(added.role.rawValue)) made; one-time password (shown once):")
                print(added.oneTimePassword)
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Every account.")
            @OptionGroup var state: StateOptions

            func run() async throws {
                let answer = try AdminClient(socket: state.socketPath).call("GET", "/admin/v1/admins", expect: 200)
                print("NAME\tROLE\tTOTP\tSTATE\tCREATED BY")
                for admin in try JSONDecoder().decode([AdminSummary].self, from: Data(answer)) {
                    let state = admin.disabledAt != nil ? "disabled" : admin.mustChangePassword ? "one-time password" : "active"
                    print("\(admin.name)\t\(admin.role.rawValue)\t\(admin.totp ? "on" : "off")\t\(state)\t\(admin.createdBy)")
                }
            }
        }

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Change an account's role, disable or enable it, reset its TOTP.")
            @OptionGroup var state: StateOptions
            @Argument(help: "The account's name.") var name: String
            @Option(name: .long) var role: AdminRole?
            @Flag(name: .long) var disable = false
            @Flag(name: .long) var enable = false
            @Flag(name: .long, help: "Turn TOTP off (a lost authenticator); the admin can set it up again.") var resetTotp = false

            func run() async throws {
                guard !(disable && enable) else { throw ValidationError("--disable and --enable together") }
                let change = UpdateAdminRequest(
                    role: role, disabled: disable ? true : enable ? false : nil, resetTOTP: resetTotp, actor: AdminClient.actor)
                _ = try AdminClient(socket: state.socketPath).call(
                    "POST", "/admin/v1/admins/\(name)", body: Array(try JSONEncoder().encode(change)), expect: 200)
                print("admin \(name) changed")
            }
        }
    }
}
