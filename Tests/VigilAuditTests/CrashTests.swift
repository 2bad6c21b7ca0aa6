// SPDX-License-Identifier: Apache-2.0
// kill -9 of a real writer process mid-append: every acknowledged entry survives and the log verifies.
import Foundation
import Testing
@testable import VigilAudit

@Suite("Crash safety", .serialized)
struct CrashTests {
    /// The `vigil` executable built with the tests: next to the test bundle, or `.build/debug/vigil`
    /// under the package root found from this file. Missing is a failure, not a skip.
    static func vigilBinary() -> String? {
        var candidates = [Bundle.main.bundleURL.appendingPathComponent("vigil").path]
        if let exe = Bundle.main.executableURL {
            candidates.append(exe.deletingLastPathComponent().appendingPathComponent("vigil").path)
            candidates.append(exe.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("vigil").path)
        }
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
                candidates.append(dir.appendingPathComponent(".build/debug/vigil").path)
            }
            dir.deleteLastPathComponent()
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs the writer, SIGKILLs it once `killAfter` indices were acknowledged, returns them.
    static func runAndKill(_ binary: String, log: String, key: String, killAfter: Int) throws -> [Int] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["audit", "stress-append", log, "--count", "10000000", "--batch", "8", "--key-file", key, "--checkpoint-every", "40"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var acknowledged: [Int] = []
        var pending = ""
        var killed = false
        while true {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            pending += String(decoding: data, as: UTF8.self)
            while let newline = pending.firstIndex(of: "\n") {
                if let index = Int(pending[..<newline]) { acknowledged.append(index) }
                pending = String(pending[pending.index(after: newline)...])
            }
            if !killed && acknowledged.count >= killAfter {
                kill(process.processIdentifier, SIGKILL)
                killed = true
            }
        }
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
        return acknowledged
    }

    @Test func killNineMidAppendLosesNothingAcknowledged() throws {
        guard let binary = Self.vigilBinary() else {
            Issue.record("the vigil binary is not built (expected .build/debug/vigil): run `swift build` first")
            return
        }
        let root = try TestLog.temporaryDirectory()
        let (log, key) = (root + "/log", root + "/writer.key")
        let signer = try Ed25519FileSigner.generate(name: "vigil/crash")
        try signer.write(toKeyFile: key)
        var everAcknowledged: [Int] = []
        for (round, killAfter) in [1500, 2311, 997].enumerated() {
            let acknowledged = try Self.runAndKill(binary, log: log, key: key, killAfter: killAfter)
            #expect(acknowledged.count >= killAfter, "round \(round)")
            everAcknowledged += acknowledged
            // Restart: the log opens (torn tail, if any, excluded), verifies, and holds every acknowledged entry.
            let reopened = try AuditLog.open(directory: log, signer: signer, options: .init(backgroundCheckpoints: false, deviceId: "test"))
            #expect(reopened.openReport.isValid)
            #expect(reopened.size > everAcknowledged.max()!)
            try reopened.close()
            let report = try AuditVerifier.verify(directory: log, publicKey: signer.verifierKey)
            #expect(report.isValid, "\(report)")
            let leaves = try AuditVerifier.readEntries(directory: log).leaves
            for index in everAcknowledged {
                #expect(leaves[index].index == index && leaves[index].entry.deviceId == "stress")
            }
            #expect(Set(everAcknowledged).count == everAcknowledged.count, "an index was acknowledged twice")
        }
    }
}
