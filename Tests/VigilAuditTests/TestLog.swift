// SPDX-License-Identifier: Apache-2.0
// Test helpers: temporary directories, sample entries, building logs, and raw record surgery.
import Foundation
@testable import VigilAudit

enum TestLog {
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-audit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func entry(_ i: Int, session: String = "s1") -> AuditEntry {
        AuditEntry(
            time: 1_800_000_000_000_000_000 + Int64(i), kind: i % 3 == 0 ? .exec : (i % 3 == 1 ? .open : .connect),
            subject: .init(uid: 1000, userName: "dev"), deviceId: "dev-1", sessionId: session,
            action: i % 3 == 0
                ? .init(argv: ["/usr/bin/curl", "https://example.com/\(i)"], cwd: "/home/dev")
                : (i % 3 == 1 ? .init(path: "/home/dev/.ssh/id_\(i)", mode: "r") : .init(address: "10.0.0.\(i % 250)", port: 443, transport: "tcp")),
            decision: i % 5 == 0 ? .deny : .allow, matchedRules: ["r\(i % 7)"], winningRule: "r\(i % 7)", policyVersion: "v3",
            enforcement: .init(action: i % 5 == 0 ? "hookDeny" : "none", succeeded: true),
            ancestry: [
                .init(pid: Int32(100 + i), exe: "/usr/bin/curl", sha256: String(repeating: "ab", count: 32)),
                .init(pid: 99, exe: "/usr/bin/bash", sha256: String(repeating: "cd", count: 32)),
            ],
            postureRef: "posture-1")
    }

    /// A log of `count` entries appended in batches of `batch`, checkpointed every `every`, closed.
    @discardableResult
    static func make(
        count: Int, batch: Int = 10, every: Int = 25, in directory: String? = nil, signer: Ed25519FileSigner? = nil
    ) throws -> (dir: String, signer: Ed25519FileSigner) {
        let dir = try directory ?? temporaryDirectory() + "/log"
        let signer = try signer ?? Ed25519FileSigner.generate(name: "vigil/test")
        let log = try AuditLog.open(directory: dir, signer: signer, options: options(every: every))
        var i = 0
        while i < count {
            let n = min(batch, count - i)
            try log.append((i..<i + n).map { entry($0) })
            i += n
        }
        try log.close()
        return (dir, signer)
    }

    static func options(every: Int = 25) -> AuditLog.Options {
        AuditLog.Options(checkpointEvery: every, checkpointInterval: .seconds(3600), backgroundCheckpoints: false, deviceId: "dev-1")
    }

    static func read(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    static func write(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    /// A file split into its header and records (whole framed records, payload range known).
    struct Records {
        var header: [UInt8]
        var records: [[UInt8]]
        var payloadOffset: Int { RecordFraming.recordOverhead }
        var bytes: [UInt8] { header + records.flatMap { $0 } }

        init(_ bytes: [UInt8]) {
            header = Array(bytes.prefix(RecordFraming.headerSize))
            records = []
            var offset = RecordFraming.headerSize
            while offset < bytes.count {
                let result = bytes.withUnsafeBytes { RecordFraming.read($0, at: offset) }
                guard case .record(_, let next, _) = result else { break }
                records.append(Array(bytes[offset..<next]))
                offset = next
            }
        }

        /// Byte offset of record `i` in the file.
        func offset(of i: Int) -> Int { header.count + records.prefix(i).reduce(0) { $0 + $1.count } }

        static func payload(_ record: [UInt8]) -> [UInt8] { Array(record.dropFirst(RecordFraming.recordOverhead)) }
        static func isBatchStart(_ record: [UInt8]) -> Bool { record[3] & 0x80 != 0 }

        /// Re-frames a payload with a valid CRC (what a careful attacker would do).
        static func frame(_ payload: [UInt8], batchStart: Bool) -> [UInt8] {
            var out: [UInt8] = []
            payload.withUnsafeBytes { RecordFraming.append(payload: $0, batchStart: batchStart, to: &out) }
            return out
        }
    }
}
