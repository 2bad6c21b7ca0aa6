// SPDX-License-Identifier: Apache-2.0
// `vigil audit …`: verify, show, prove, verify-proof, export and keygen for the signed audit log.
// Thin glue over VigilAudit; every check lives in the library.
import ArgumentParser
import Foundation
import VigilAudit
import VigilExport

extension Vigil {
    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify, inspect, prove and export the signed, tamper-evident audit log.",
            subcommands: [Verify.self, Show.self, Prove.self, VerifyProof.self, Export.self, Keygen.self, StressAppend.self]
        )
    }
}

/// `--key`: a verifier-key string or a file holding one.
private func loadVerifierKey(_ value: String?) throws -> NoteVerifierKey? {
    guard let value else { return nil }
    if FileManager.default.fileExists(atPath: value) {
        let text = try String(contentsOfFile: value, encoding: .utf8)
        return try NoteVerifierKey(parsing: text)
    }
    return try NoteVerifierKey(parsing: value)
}

private func writeStderr(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

extension Vigil.Audit {
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute everything; on failure name the first bad index and the evidence, exit 1.")

        @Argument(help: "The audit log directory.") var directory: String
        @Option(help: "Trusted verifier key (string or file). Default: DIR/audit.pub, which only proves self-consistency.")
        var key: String?
        @Option(name: .customLong("checkpoint"), help: "A checkpoint note held elsewhere; the log must contain it. Repeatable.")
        var trustedCheckpoints: [String] = []
        @Flag(help: "Skip decoding each entry's JSON (Merkle, chain and signature checks still run).")
        var skipDecode = false

        func run() async throws {
            let trusted = try trustedCheckpoints.map { try String(contentsOfFile: $0, encoding: .utf8) }
            let report = try AuditVerifier.verify(
                directory: directory, publicKey: try loadVerifierKey(key),
                options: .init(decodeEntries: !skipDecode, trustedCheckpoints: trusted))
            print(report)
            if !report.isValid { throw ExitCode(1) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print entries (no verification; use `verify`).")

        @Argument(help: "The audit log directory.") var directory: String
        @Option(help: "Only entries of this session.") var session: String?
        @Flag(help: "One JSON leaf per line.") var json = false

        func run() async throws {
            let (leaves, problem) = try AuditVerifier.readEntries(directory: directory)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for leaf in leaves where session == nil || leaf.entry.sessionId == session {
                if json {
                    struct Line: Encodable { var index: Int; var prev: String; var recorded: Int64; var entry: AuditEntry }
                    let line = Line(index: leaf.index, prev: leaf.prev.hex, recorded: leaf.recorded, entry: leaf.entry)
                    print(String(decoding: try encoder.encode(line), as: UTF8.self))
                } else {
                    print(Self.render(leaf))
                }
            }
            if let problem {
                writeStderr("warning: stopped early: \(problem)")
                throw ExitCode(1)
            }
        }

        static func render(_ leaf: AuditLeaf) -> String {
            let e = leaf.entry
            let time = Date(timeIntervalSince1970: Double(e.time) / 1e9).ISO8601Format(
                .iso8601.time(includingFractionalSeconds: true).year().month().day())
            var parts = ["#\(leaf.index)", time, e.kind.rawValue]
            if let d = e.decision { parts.append(d.rawValue) }
            if let s = e.subject { parts.append("uid=\(s.uid)" + (s.userName.map { "(\($0))" } ?? "")) }
            if let s = e.sessionId { parts.append("session=\(s)") }
            if let argv = e.action.argv { parts.append("argv=\(argv.joined(separator: " "))") }
            if let p = e.action.path { parts.append("path=\(p)" + (e.action.mode.map { " mode=\($0)" } ?? "")) }
            if let a = e.action.address { parts.append("dst=\(a)" + (e.action.port.map { ":\($0)" } ?? "")) }
            if let t = e.action.toolName { parts.append("tool=\(t)") }
            if let r = e.winningRule { parts.append("rule=\(r)") }
            if let f = e.enforcement { parts.append("enforced=\(f.action):\(f.succeeded ? "ok" : "FAILED")") }
            if let g = e.gap { parts.append("lost=\(g.lost)@\(g.source)") }
            // What the console and the uplink record lives in `extra`: the action (or event), who, on what, why.
            for key in ["action", "event", "actor", "target", "consoleVersion", "reason", "error"] {
                if let value = e.extra[key], !value.isEmpty { parts.append("\(key)=\(value)") }
            }
            return parts.joined(separator: " ")
        }
    }

    struct Prove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a C2SP tlog-proof of entry INDEX against the latest checkpoint (verify offline with verify-proof).")

        @Argument(help: "The audit log directory.") var directory: String
        @Argument(help: "The entry index.") var index: Int
        @Option(help: "Trusted verifier key (string or file). Default: DIR/audit.pub.") var key: String?
        @Option(name: .shortAndLong, help: "Write the proof here instead of stdout.") var output: String?

        func run() async throws {
            let proof = try AuditVerifier.prove(directory: directory, index: index, publicKey: try loadVerifierKey(key))
            if let output {
                try Data(proof.text.utf8).write(to: URL(fileURLWithPath: output))
            } else {
                print(proof.text, terminator: "")
            }
        }
    }

    struct VerifyProof: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-proof", abstract: "Check a tlog-proof offline against a public key; exit 1 if it fails.")

        @Argument(help: "The proof file (`-` for stdin).") var proof: String
        @Option(help: "The log's verifier key (string or file).") var key: String

        func run() async throws {
            let data = proof == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: proof))
            let parsed = try InclusionProof(parsing: String(decoding: data, as: UTF8.self))
            let result = parsed.verify(key: try loadVerifierKey(key)!)
            if result.isValid, let checkpoint = result.checkpoint {
                print("OK: entry \(parsed.index) is in \(checkpoint.origin) at size \(checkpoint.size) (root \(checkpoint.root.base64))")
                if let leaf = result.leaf { print(Show.render(leaf)) }
            } else {
                print("FAILED: \(result.reason ?? "invalid proof")")
                throw ExitCode(1)
            }
        }
    }

    struct Export: AsyncParsableCommand {
        enum Format: String, ExpressibleByArgument { case ocsf }
        static let configuration = CommandConfiguration(abstract: "Export a verified log as OCSF JSON lines.")

        @Argument(help: "The audit log directory.") var directory: String
        @Option(help: "Output format.") var format: Format = .ocsf
        @Option(help: "Trusted verifier key (string or file). Default: DIR/audit.pub.") var key: String?

        func run() async throws {
            do {
                for line in try OCSFExport.lines(directory: directory, publicKey: try loadVerifierKey(key)) { print(line) }
            } catch let error as AuditError where error.report != nil {
                print(error.report!)
                throw ExitCode(1)
            }
        }
    }

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an Ed25519 signing key (mode 0600) and print its verifier key.")

        @Argument(help: "Log directory: writes DIR/audit.key and DIR/audit.pub.") var directory: String?
        @Option(help: "Write the private key here instead (and the verifier key to PATH.pub).") var keyFile: String?
        @Option(help: "Key name = checkpoint origin. Default: vigil/<hostname>.") var name: String?

        func validate() throws {
            guard (directory == nil) != (keyFile == nil) else { throw ValidationError("give either DIR or --key-file PATH") }
        }

        func run() async throws {
            let signer = try Ed25519FileSigner.generate(name: name ?? "vigil/\(ProcessInfo.processInfo.hostName)")
            let keyPath: String
            let pubPath: String
            if let directory {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let layout = AuditLogLayout(directory: directory)
                (keyPath, pubPath) = (layout.defaultPrivateKey, layout.publicKey)
            } else {
                (keyPath, pubPath) = (keyFile!, keyFile! + ".pub")
            }
            try signer.write(toKeyFile: keyPath)
            try Data("\(signer.verifierKey)\n".utf8).write(to: URL(fileURLWithPath: pubPath), options: .withoutOverwriting)
            writeStderr("wrote private key \(keyPath) (0600) and verifier key \(pubPath)")
            print(signer.verifierKey)
        }
    }

    /// Hidden: appends synthetic entries and prints each index once it is durable (crash tests).
    struct StressAppend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stress-append", shouldDisplay: false)

        @Argument var directory: String
        @Option var count: Int = 1000
        @Option var batch: Int = 16
        @Option(help: "Default: DIR/audit.key.") var keyFile: String?
        @Option var checkpointEvery: Int = 64

        func run() async throws {
            let layout = AuditLogLayout(directory: directory)
            let signer = try Ed25519FileSigner(keyFile: keyFile ?? layout.defaultPrivateKey)
            let log = try AuditLog.open(
                directory: directory, signer: signer,
                options: .init(checkpointEvery: checkpointEvery, checkpointInterval: .milliseconds(50), decodeEntriesOnOpen: false))
            var written = 0
            while written < count {
                let n = min(batch, count - written)
                let entries = (0..<n).map { i in
                    AuditEntry(
                        kind: .exec, subject: .init(uid: 1000, userName: "dev"), deviceId: "stress", sessionId: "s",
                        action: .init(argv: ["/bin/true", "\(written + i)"]), decision: .allow)
                }
                let range = try log.append(entries)
                FileHandle.standardOutput.write(Data(range.map { "\($0)\n" }.joined().utf8))
                written += n
            }
            try log.close()
        }
    }
}
