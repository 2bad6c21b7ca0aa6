// SPDX-License-Identifier: Apache-2.0
// A throwaway directory standing in for `/`, built file by file in each test and removed afterwards.
import Foundation
import VigilPosture

final class FixtureTree {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-posture-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var root: PostureRoot { PostureRoot(path) }

    func real(_ absolute: String) -> String { path + absolute }

    @discardableResult
    func write(_ absolute: String, _ text: String) throws -> FixtureTree {
        try writeBytes(absolute, Array(text.utf8))
    }

    @discardableResult
    func writeBytes(_ absolute: String, _ bytes: [UInt8]) throws -> FixtureTree {
        let url = URL(fileURLWithPath: real(absolute))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return self
    }

    @discardableResult
    func mkdir(_ absolute: String) throws -> FixtureTree {
        try FileManager.default.createDirectory(atPath: real(absolute), withIntermediateDirectories: true)
        return self
    }

    /// A symbolic link at `absolute` whose stored target is `target` (relative targets stay inside the tree).
    @discardableResult
    func symlink(_ absolute: String, to target: String) throws -> FixtureTree {
        let url = URL(fileURLWithPath: real(absolute))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
        return self
    }

    func setModified(_ absolute: String, _ date: Date) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: real(absolute))
    }
}

/// A command runner answering from a table; unlisted commands are "not found".
func cannedRunner(_ table: [String: CommandOutcome]) -> CommandRunner {
    CommandRunner { command in table[command.description] ?? .unavailable(reason: "\(command.executable) not found (test)") }
}

extension PostureFact {
    var isUnknownWithReason: Bool {
        if case .unknown(let reason) = self { !reason.isEmpty } else { false }
    }
}
