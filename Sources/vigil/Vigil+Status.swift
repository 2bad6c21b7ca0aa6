// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import VigilAPI
import VigilTransport
import VigilTransportClient
import Foundation
import VigilCore
import VigilSensor

extension Vigil {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what this kernel allows and whether the sensor loads: programs, degraded modes, counters.")

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        @Option(help: "vigild's API socket.")
        var socket = ProcessInfo.processInfo.environment["VIGIL_SOCKET"] ?? "/run/vigil/vigild.sock"

        @Flag(help: "Only the local probe (do not ask vigild).")
        var local = false

        func run() async throws {
            if !local {
                let client = HTTPClient(.unix(path: socket), timeout: .seconds(5))
                defer { client.close() }
                if let response = try? client.request("GET", "/v1/status"), response.status == 200 {
                    if json {
                        print(response.bodyText)
                    } else {
                        guard let status = try? JSONDecoder().decode(DaemonStatus.self, from: Data(response.body)) else {
                            throw ValidationError("vigild answered with a status this vigil cannot read:\n\(response.bodyText)")
                        }
                        print(DaemonStatusText.render(status))
                    }
                    return
                }
                FileHandle.standardError.write(Data("vigil status: vigild is not running (no answer on \(socket)); showing the local probe\n".utf8))
            }
            let features = Environment.probeFeatures()
            var programs: [(String, String)] = []
            var loadError: String?
            do {
                let sensor = try Sensor()
                programs = sensor.programs.map {
                    ($0.name, $0.attached ? "attached" : "not attached: \(String(cString: strerror($0.errorCode ?? 0)))")
                }
            } catch {
                loadError = "\(error)"
            }
            if json {
                var o = JSONObjectWriter()
                o.raw("btf", features.btf ? "true" : "false")
                for (key, probe) in [
                    ("tp_btf", features.tpBTF), ("fentry", features.fentry), ("lsm", features.lsm), ("cgroup_sock_addr", features.cgroupSockAddr),
                ] {
                    o.string(key, probe.description)
                }
                o.string("enforcement_mode", features.enforcementMode)
                o.raw(
                    "programs", "{" + programs.map { JSONObjectWriter.quote($0.0) + ":" + JSONObjectWriter.quote($0.1) }.joined(separator: ",") + "}")
                if let loadError { o.string("sensor_error", loadError) }
                print(o.finish())
            } else {
                print("kernel BTF:             \(features.btf ? "yes" : "no")")
                print("tp_btf programs:        \(features.tpBTF)")
                print("fentry programs:        \(features.fentry)")
                print("BPF LSM programs:       \(features.lsm)")
                print("cgroup connect hooks:   \(features.cgroupSockAddr)")
                print("enforcement mode:       \(features.enforcementMode)")
                if let loadError { print("sensor:                 FAILED: \(loadError)") }
                for (name, state) in programs { print("  \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(state)") }
            }
            if loadError != nil { throw ExitCode(1) }
        }
    }
}
