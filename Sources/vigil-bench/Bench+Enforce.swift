// SPDX-License-Identifier: Apache-2.0
// Enforcement latency: from a denied syscall (its kernel timestamp, or the moment fanotify
// blocked it) to its audit entry being durable on disk. Needs root (BPF, fanotify).
import Foundation
import Glibc
import Logging
import VigilAudit
import VigilCore
import VigilPolicy
import VigilRuntime
import VigilSensor

@Sendable func benchEnforce() async throws {
    guard geteuid() == 0 else {
        report("enforce", ["skipped": "needs-root"])
        return
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-enforce-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try FileManager.default.createDirectory(atPath: dir + "/secret", withIntermediateDirectories: true)
    try "secret".write(toFile: dir + "/secret/key", atomically: false, encoding: .utf8)
    let signer = try Ed25519FileSigner.generate(name: "vigil/bench")
    try FileManager.default.createDirectory(atPath: dir + "/audit", withIntermediateDirectories: true)
    try signer.write(toKeyFile: dir + "/audit/audit.key")
    let log = try AuditLog.open(directory: dir + "/audit", signer: signer)
    let port = 18_000 + Int(getpid() % 1000)
    let policy = try Policy(
        yaml: """
            vigil: 1
            rules:
              - {id: no-port, match: 'Connect(127.0.0.1:\(port))', action: deny}
              - {id: no-secret, match: 'Open(\(dir)/secret/**)', action: deny}
            """, file: "bench.yaml")
    let n = 2000
    let script = """
        import socket
        for i in range(\(n)):
            s = socket.socket()
            try: s.connect(("127.0.0.1", \(port)))
            except OSError: pass
            s.close()
            try: open("\(dir)/secret/key").read()
            except OSError: pass
        """
    let runner = Runner(
        sensor: try Sensor(),
        configuration: RunConfiguration(
            policy: policy, identity: Identity(user: "bench"), home: "/root", deviceID: "bench"), audit: log,
        logger: Logger(label: "vigil-bench") { _ in SwiftLogNoOpLogHandler() })  // decisions, not log writes, are measured
    let start = DispatchTime.now().uptimeNanoseconds
    try script.write(toFile: dir + "/workload.py", atomically: false, encoding: .utf8)
    // Under a shell: the denied process is a descendant, as an agent's tool calls are.
    let summary = try await runner.run(command: ["/bin/sh", "-c", "python3 \(dir)/workload.py"]) { _ in }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    try log.close()
    let latencies = summary.decisionToAuditNanoseconds.sorted()
    func percentile(_ p: Double) -> String {
        guard !latencies.isEmpty else { return "na" }
        let index = min(latencies.count - 1, Int(Double(latencies.count) * p))
        return String(format: "%.2f", Double(latencies[index]) / 1e6)
    }
    report(
        "enforce",
        [
            "denied": String(summary.decisions["deny", default: 0]),
            "expected_denied": String(2 * n),
            "network_denied_in_kernel": String(summary.networkDenied),
            "audit_entries": String(summary.auditEntries),
            "deny_to_durable_audit_p50_ms": percentile(0.50),
            "deny_to_durable_audit_p99_ms": percentile(0.99),
            "deny_to_durable_audit_max_ms": percentile(1.0),
            "run_s": String(format: "%.2f", seconds),
            "decisions": summary.decisions.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","),
        ])
}
