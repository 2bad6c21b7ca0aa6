// SPDX-License-Identifier: Apache-2.0
// `vigil-bench checkpoint`: checkpoint signatures per second with the TPM key, a file Ed25519 key and
// a file P-256 key, side by side. The TPM is VIGIL_TPM_TCTI's or /dev/tpmrm0; with neither, a swtpm
// of the bench's own (fresh state, a free port), stopped at the end.
import Foundation
import Glibc
import VigilAudit
import VigilDevice

@Sendable func benchCheckpoint() async throws {
    let directory = NSTemporaryDirectory() + "vigil-bench-checkpoint-\(getpid())"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var swtpm: BenchSwtpm?
    defer { swtpm?.stop() }
    let tcti: String
    if let named = TPMLocation.tcti() {
        tcti = named
    } else {
        let started = try BenchSwtpm(stateDirectory: directory + "/swtpm")
        swtpm = started
        tcti = started.tcti
    }
    let key = try await BenchSwtpm.retrying { try TPMKey.create(tcti: tcti, blobPath: directory + "/device-key.tpm") }
    let signers: [(String, any AuditSigner)] = [
        ("tpm", try TPMAuditSigner(key, name: "vigil/bench")),
        ("file_ed25519", try Ed25519FileSigner.generate(name: "vigil/bench")),
        ("file_p256", try P256NoteSigner(name: "vigil/bench")),
    ]
    var fields: [(String, String)] = [("tcti", swtpm == nil ? tcti.replacingOccurrences(of: " ", with: "_") : "swtpm")]
    for (name, signer) in signers {
        // Real checkpoint bodies: a new size and root each time, the holder line included.
        var signed = 0
        var latencies: [Double] = []
        let start = ContinuousClock.now
        let budget = Duration.milliseconds(Int64(2000 * benchScale))
        while ContinuousClock.now - start < budget || signed < 20 {
            let body = Checkpoint(
                origin: "vigil/bench", size: signed + 1, root: RFC6962.leafHash(Array("\(signed)".utf8)),
                extensions: [signer.keyHolder.checkpointExtension]
            ).body
            let one = ContinuousClock.now
            let note = try SignedNote.sign(body: body, with: signer)
            latencies.append(elapsedSeconds(ContinuousClock.now - one) * 1000)
            // Checked outside the timing, sparsely: a benchmark of signatures that do not verify measures nothing.
            if signed % 97 == 0, !note.isSigned(by: signer.verifierKey) {
                throw BenchCheckpointError(description: "a \(name) checkpoint signature does not verify")
            }
            signed += 1
        }
        // Signing time only: the bodies and the sparse checks are not the signer's cost.
        let total = latencies.reduce(0, +) / 1000
        latencies.sort()
        fields.append(("\(name)_checkpoints_per_s", String(Int(Double(signed) / total))))
        fields.append(("\(name)_p50_ms", String(format: "%.3f", latencies[latencies.count / 2])))
        fields.append(("\(name)_p99_ms", String(format: "%.3f", latencies[min(latencies.count - 1, latencies.count * 99 / 100)])))
    }
    print("bench checkpoint " + fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
    fflush(nil)
}

private struct BenchCheckpointError: Error, CustomStringConvertible { let description: String }

/// swtpm for the bench alone: SIGKILL to stop (Foundation's Process leaves SIGTERM blocked in it).
private final class BenchSwtpm: @unchecked Sendable {
    let process = Process()
    let port: UInt16

    var tcti: String { "swtpm:host=127.0.0.1,port=\(port)" }

    init(stateDirectory: String) throws {
        guard let binary = ["/usr/bin/swtpm", "/usr/local/bin/swtpm"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BenchCheckpointError(description: "no TPM (set VIGIL_TPM_TCTI, or /dev/tpmrm0) and no swtpm to start (make deps)")
        }
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        // An even port in a range clear of the benchmark machine's PostgreSQL (55432).
        port = UInt16.random(in: 21000...29000) & ~1
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "socket", "--tpm2", "--server", "type=tcp,bindaddr=127.0.0.1,port=\(port)", "--ctrl", "type=tcp,bindaddr=127.0.0.1,port=\(port + 1)",
            "--flags", "not-need-init,startup-clear", "--tpmstate", "dir=\(stateDirectory)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// swtpm listens some tens of milliseconds after it starts: retry what fails to connect, for 3 s.
    static func retrying<T>(_ body: () throws -> T) async throws -> T {
        for _ in 0..<300 {
            do {
                return try body()
            } catch let error as TPMError {
                guard error.isCommunicationError else { throw error }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try body()
    }
}

private func elapsedSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
