// SPDX-License-Identifier: Apache-2.0
// `vigil enroll TOKEN` and `vigil unenroll`: join this device to a console, or leave it.
import ArgumentParser
import Foundation
import Glibc
import VigilAPI
import VigilFleet
import VigilTransport
import VigilTransportClient

extension Vigil {
    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol this device with a console (as root): make the device key, pin the console, register.")

        @Argument(help: "The enrolment token (vigil-console enroll-token).") var token: String
        @Option(name: .long, help: "vigild's state directory.") var stateDir = "/var/lib/vigil"
        @Option(help: "vigild's API socket (for the enforcement mode it reports).")
        var socket = ProcessInfo.processInfo.environment["VIGIL_SOCKET"] ?? "/run/vigil/vigild.sock"

        func run() async throws {
            guard geteuid() == 0 else {
                throw ValidationError("vigil enroll must run as root: the device key is root's")
            }
            let facts = DeviceFacts.local(enforcementMode: Self.enforcementMode(socket: socket))
            do {
                let state = try await FleetEnrollment(stateDirectory: stateDir).enroll(token: token, facts: facts)
                print("enrolled as \(state.deviceID) with \(state.consoleURL)\(state.team.map { " (team \($0))" } ?? "")")
                print("device key \(state.keyID); console certificate \(state.pin)")
            } catch {
                throw CommandFailure("enrolment failed (\(error.step.rawValue)): \(error)")
            }
        }

        /// What vigild says, or `not running`: the console shows it until the uplink reports.
        static func enforcementMode(socket: String) -> String {
            let client = HTTPClient(.unix(path: socket), timeout: .seconds(2))
            defer { client.close() }
            guard let response = try? client.request("GET", "/v1/status"), response.status == 200,
                let status = try? JSONDecoder().decode(DaemonStatus.self, from: Data(response.body))
            else { return "vigild not running" }
            return status.enforcementMode
        }
    }

    struct Unenroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Leave the console: tell it (signed), then forget the key and the enrolment.")

        @Option(name: .long, help: "vigild's state directory.") var stateDir = "/var/lib/vigil"
        @Flag(name: .long, help: "Forget locally without telling the console (it is gone or refuses).") var local = false

        func run() async throws {
            do {
                guard let state = try await FleetEnrollment(stateDirectory: stateDir).unenroll(localOnly: local) else {
                    print("this device is not enrolled")
                    return
                }
                print("unenrolled \(state.deviceID) from \(state.consoleURL)\(local ? " (locally only: the console still lists it)" : "")")
            } catch {
                throw CommandFailure("unenrolment failed (\(error.step.rawValue)): \(error)")
            }
        }
    }
}

/// A command that ran and failed: ArgumentParser prints `Error: <message>` without the usage text
/// (that is for arguments it could not parse).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
