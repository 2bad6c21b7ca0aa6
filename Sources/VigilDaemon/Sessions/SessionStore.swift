// SPDX-License-Identifier: Apache-2.0
// Sessions on disk: <state>/sessions/<id>/session.json (the summary, replaced atomically) and
// timeline.jsonl (appended). Root-only: users read their own sessions through the daemon's API.
import Foundation
import Glibc
import Synchronization
import VigilAPI
import VigilAudit
import VigilClaude
import VigilCore
import VigilEnforcement
import VigilHost
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

public struct SessionStore: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func sessionDirectory(_ id: String) -> String { directory + "/" + id }

    /// Creates the store's directory (0700).
    public func prepare() throws(DaemonError) {
        try DaemonFiles.makeDirectory(directory, mode: 0o700)
    }

    public func save(_ record: SessionRecord) throws(DaemonError) {
        let dir = sessionDirectory(record.id)
        try DaemonFiles.makeDirectory(dir, mode: 0o700)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(record) } catch {
            throw DaemonError("cannot encode session \(record.id): \(error)")
        }
        try DaemonFiles.replace(dir + "/session.json", with: Array(data) + [0x0A], mode: 0o600)
    }

    /// Appends timeline lines (one write).
    public func append(_ records: [TimelineRecord], to id: String) throws(DaemonError) {
        guard !records.isEmpty else { return }
        let dir = sessionDirectory(id)
        try DaemonFiles.makeDirectory(dir, mode: 0o700)
        var bytes: [UInt8] = []
        for record in records {
            bytes += record.jsonLine().utf8
            bytes.append(0x0A)
        }
        try DaemonFiles.append(dir + "/timeline.jsonl", bytes, mode: 0o600)
    }

    public func load(_ id: String) -> SessionRecord? {
        guard let data = FileManager.default.contents(atPath: sessionDirectory(id) + "/session.json") else { return nil }
        return try? JSONDecoder().decode(SessionRecord.self, from: data)
    }

    /// The timeline; a torn or unreadable line is reported, not dropped silently.
    public func timeline(_ id: String) -> (records: [TimelineRecord], unreadable: Int) {
        guard let data = FileManager.default.contents(atPath: sessionDirectory(id) + "/timeline.jsonl") else { return ([], 0) }
        var records: [TimelineRecord] = []
        var unreadable = 0
        let decoder = JSONDecoder()
        for line in data.split(separator: 0x0A) where !line.isEmpty {
            if let record = try? decoder.decode(TimelineRecord.self, from: Data(line)) { records.append(record) } else { unreadable += 1 }
        }
        return (records, unreadable)
    }

    /// Ids of every stored session, newest directory first.
    public func list() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.count == 16 }.sorted()
    }
}

/// A daemon failure, in words that name what and where.
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case failed, refused }
    public var description: String
    /// `.refused`: the request is not allowed (an HTTP 403), not a failure of the daemon.
    public var kind: Kind
    public init(_ description: String) {
        self.description = description
        kind = .failed
    }
    public init(_ kind: Kind, _ description: String) {
        self.description = description
        self.kind = kind
    }
}

enum DaemonFiles {
    static func errno(_ what: String, _ path: String) -> DaemonError {
        DaemonError("\(what) \(path): \(String(cString: strerror(Glibc.errno)))")
    }

    static func makeDirectory(_ path: String, mode: mode_t) throws(DaemonError) {
        var components: [String] = []
        var current = path
        while !current.isEmpty && current != "/" && access(current, F_OK) != 0 {
            components.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        for dir in components.reversed() where mkdir(dir, mode) != 0 && Glibc.errno != EEXIST {
            throw errno("cannot create directory", dir)
        }
    }

    /// Readers see the old or the new file, never half (`DurableFile.replace`).
    static func replace(_ path: String, with bytes: [UInt8], mode: mode_t) throws(DaemonError) {
        do {
            try DurableFile.replace(path, with: bytes, mode: mode)
        } catch {
            throw DaemonError("cannot \(error.operation) \(error.path): \(error.reason)")
        }
    }

    static func append(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(DaemonError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode)
        guard fd >= 0 else { throw errno("cannot append to", path) }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(DaemonError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                throw errno("cannot write", path)
            }
            offset += n
        }
    }
}
