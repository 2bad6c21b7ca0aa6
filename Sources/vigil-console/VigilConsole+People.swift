// SPDX-License-Identifier: Apache-2.0
// `vigil-console people set | list` (the people OS accounts are bound to, with their teams and
// roles), `vigil-console logins` (the logins waiting for their one-time code, with the codes) and
// `vigil-console bindings`: through the admin socket, so into the console's audit log.
import ArgumentParser
import Foundation
import VigilAPI
import VigilConsole

extension VigilConsoleCommand {
    struct PeopleCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "people", abstract: "The people OS accounts of devices are bound to (vigil login).", subcommands: [Set.self, List.self])

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add a person, or replace their teams and roles.")
            @OptionGroup var state: StateOptions
            @Argument(help: "The person's email address.") var email: String
            @Option(name: .customLong("team"), help: "A team the person is in (repeat for several).") var teams: [String] = []
            @Option(name: .customLong("role"), help: "A role the person has (repeat for several).") var roles: [String] = []

            func run() async throws {
                let body = try JSONEncoder().encode(AddPersonRequest(email: email, teams: teams, roles: roles, actor: AdminClient.actor))
                let answer = try AdminClient(socket: state.socketPath).call("POST", "/admin/v1/people", body: Array(body), expect: 201)
                let person = try JSONDecoder().decode(PersonRecord.self, from: Data(answer))
                print("\(person.email): teams \(person.teams.joined(separator: ",")) roles \(person.roles.joined(separator: ","))")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Every person.")
            @OptionGroup var state: StateOptions

            func run() async throws {
                let answer = try AdminClient(socket: state.socketPath).call("GET", "/admin/v1/people", expect: 200)
                print("EMAIL\tTEAMS\tROLES\tSET BY")
                for person in try JSONDecoder().decode([PersonRecord].self, from: Data(answer)) {
                    print("\(person.email)\t\(person.teams.joined(separator: ","))\t\(person.roles.joined(separator: ","))\t\(person.createdBy)")
                }
            }
        }
    }

    struct Logins: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The logins waiting for their one-time code: tell the person theirs once you know it is them.")
        @OptionGroup var state: StateOptions

        func run() async throws {
            let answer = try AdminClient(socket: state.socketPath).call("GET", "/admin/v1/logins", expect: 200)
            print("CODE\tEMAIL\tDEVICE\tACCOUNT\tEXPIRES\tATTEMPTS LEFT\tLOGIN")
            for login in try JSONDecoder().decode([PendingLoginSummary].self, from: Data(answer)) {
                let expires = Date(timeIntervalSince1970: TimeInterval(login.expiresAt)).ISO8601Format()
                print(
                    "\(login.code)\t\(login.email)\t\(login.deviceID)\t\(login.user) (uid \(login.uid))\t\(expires)\t\(login.attemptsLeft)\t\(login.id)"
                )
            }
        }
    }
}
