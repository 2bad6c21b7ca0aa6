// SPDX-License-Identifier: Apache-2.0
// `vigil posture`: probe this device's security posture and print the snapshot, its evidence and hash.
import ArgumentParser
import Foundation
import VigilPosture

extension Vigil {
    struct Posture: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "posture",
            abstract: "Probe device posture: print every fact with its evidence and the snapshot hash."
        )

        @Flag(help: "Print the snapshot as JSON (the form audit entries reference by hash).")
        var json = false

        @Option(help: "Read files below this directory instead of / (commands such as nft are run only when it is /).")
        var root = "/"

        func validate() throws {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--root \(root) is not a directory")
            }
        }

        func run() async throws {
            let prober = PostureProber(configuration: PostureConfiguration(root: root))
            // No daemon is asked here, so the vigil_* facts report unknown with that reason.
            let snapshot = prober.snapshot(vigilHealth: nil)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(snapshot), as: UTF8.self))
            } else {
                print(snapshot.report)
            }
        }
    }
}
