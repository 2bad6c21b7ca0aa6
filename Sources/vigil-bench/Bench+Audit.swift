// SPDX-License-Identifier: Apache-2.0
// `vigil-bench audit`: durable batched appends/s and offline verification entries/s.
import Foundation
import VigilAudit

/// Appends realistic exec entries (~500 bytes of entry JSON, two-level ancestry with SHA-256s) in batches with one fsync per batch, then
/// verifies the whole log offline (Merkle + chain + signatures; with and without JSON decoding).
/// The log lives under `$VIGIL_BENCH_DIR` (default: `./.build`, else the current directory) so
/// fsync hits a real disk, not a tmpfs.
@Sendable func benchAudit() async throws {
    let cwd = FileManager.default.currentDirectoryPath
    let base =
        ProcessInfo.processInfo.environment["VIGIL_BENCH_DIR"]
        ?? (FileManager.default.fileExists(atPath: cwd + "/.build") ? cwd + "/.build" : cwd)
    let directory = "\(base)/.vigil-bench-audit-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let signer = try Ed25519FileSigner.generate(name: "vigil/bench")
    let total = 250_000
    let batch = 256
    let samples = (0..<1024).map(benchEntry)

    let (appendSeconds, appendCPU) = try appendAll(directory: directory, signer: signer, samples: samples, total: total, batch: batch)
    let entriesBytes = (try? FileManager.default.attributesOfItem(atPath: "\(directory)/entries")[.size] as? Int) ?? 0
    let bigBatch = 1024
    let (bigSeconds, _) = try appendAll(
        directory: directory + "-b", signer: signer, samples: samples, total: 100_000, batch: bigBatch)
    try? FileManager.default.removeItem(atPath: directory + "-b")

    let merkleStart = ContinuousClock.now
    let fast = try AuditVerifier.verify(directory: directory, publicKey: signer.verifierKey, options: .init(decodeEntries: false))
    let merkleSeconds = seconds(ContinuousClock.now - merkleStart)
    let fullStart = ContinuousClock.now
    let full = try AuditVerifier.verify(directory: directory, publicKey: signer.verifierKey, options: .init(decodeEntries: true))
    let fullSeconds = seconds(ContinuousClock.now - fullStart)
    guard fast.isValid, full.isValid, full.entries == total else {
        throw BenchAuditError(description: "verification failed: \(full)")
    }
    report(
        "audit",
        [
            "entries": String(total),
            "batch": String(batch),
            "leaf_bytes_avg": String(entriesBytes / total),
            "durable_appends_per_s": String(Int(Double(total) / appendSeconds)),
            "durable_appends_per_cpu_s": String(Int(Double(total) / appendCPU)),
            "fsyncs_per_s": String(Int(Double(total / batch) / appendSeconds)),
            "durable_appends_per_s_batch\(bigBatch)": String(Int(100_000 / bigSeconds)),
            "verify_entries_per_s": String(Int(Double(total) / merkleSeconds)),
            "verify_decode_entries_per_s": String(Int(Double(total) / fullSeconds)),
            "checkpoints": String(full.checkpoints),
        ])
}

/// Appends `total` entries in batches; returns wall-clock and CPU seconds (user + system).
private func appendAll(
    directory: String, signer: Ed25519FileSigner, samples: [AuditEntry], total: Int, batch: Int
) throws -> (Double, Double) {
    let log = try AuditLog.open(
        directory: directory, signer: signer,
        options: .init(checkpointEvery: 4096, checkpointInterval: .milliseconds(250), deviceId: "bench"))
    var appended = 0
    let cpuStart = cpuSeconds()
    let start = ContinuousClock.now
    while appended < total {
        let n = min(batch, total - appended)
        try log.append((appended..<appended + n).map { samples[$0 % samples.count] })
        appended += n
    }
    try log.close()
    return (seconds(ContinuousClock.now - start), cpuSeconds() - cpuStart)
}

private func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

private struct BenchAuditError: Error, CustomStringConvertible { let description: String }

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

private func benchEntry(_ i: Int) -> AuditEntry {
    AuditEntry(
        kind: .exec, subject: .init(uid: 1000, userName: "developer"), deviceId: "laptop-7f3a9c",
        sessionId: "5b0e6c1e-8d43-4e0b-9a57-\(i)",
        action: .init(argv: ["/usr/bin/git", "push", "origin", "feature/\(i)"]),
        decision: i % 10 == 0 ? .deny : .allow, matchedRules: ["git-push-\(i % 4)"], winningRule: "git-push-\(i % 4)",
        policyVersion: "2026-11-20.3", enforcement: .init(action: i % 10 == 0 ? "hookDeny" : "none", succeeded: true),
        ancestry: [
            .init(pid: Int32(4000 + i % 1000), exe: "/usr/bin/git", sha256: String(repeating: "3f", count: 32)),
            .init(pid: 3100, exe: "/usr/bin/bash", sha256: String(repeating: "9c", count: 32)),
        ],
        postureRef: "posture-000042")
}
