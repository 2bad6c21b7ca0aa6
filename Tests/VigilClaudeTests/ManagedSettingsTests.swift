// SPDX-License-Identifier: Apache-2.0
// The managed-settings drop-in: its exact schema, and an uninstall that restores what was there.
import Foundation
import Testing
import VigilClaude
#if canImport(Glibc)
    import Glibc
#endif

struct ManagedSettingsTests {
    let configuration = HookInstallConfiguration(
        vigilPath: "/usr/local/bin/vigil", policyPath: "/etc/vigil/policy.yaml", auditDirectory: "/var/lib/vigil/audit",
        timeoutSeconds: 20)

    /// Every path under `root` with its type, mode and (files) contents: the state a test compares.
    func snapshot(_ root: String) throws -> [String: String] {
        var state: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: root) else { return state }
        for case let relative as String in walker {
            let path = root + "/" + relative
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let kind = st.st_mode & S_IFMT == S_IFDIR ? "dir" : "file"
            var line = "\(kind) \(String(st.st_mode & 0o7777, radix: 8)) \(st.st_uid):\(st.st_gid)"
            if kind == "file" { line += " " + (FileManager.default.contents(atPath: path)?.base64EncodedString() ?? "?") }
            state[relative] = line
        }
        return state
    }

    @Test func dropInSchema() throws {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(configuration.settingsJSON())) as? [String: Any])
        #expect(json["allowManagedHooksOnly"] as? Bool == true)
        let hooks = try #require(json["hooks"] as? [String: [[String: Any]]])
        #expect(Set(hooks.keys) == ["PreToolUse", "PostToolUse", "PostToolUseFailure", "UserPromptSubmit", "SessionStart", "SessionEnd", "Stop"])
        for (event, groups) in hooks {
            #expect(groups.count == 1)
            let group = groups[0]
            if ["PreToolUse", "PostToolUse", "PostToolUseFailure"].contains(event) {
                #expect(group["matcher"] as? String == "*", "\(event)")
            } else {
                #expect(group["matcher"] == nil, "\(event) takes no matcher")
            }
            let handlers = try #require(group["hooks"] as? [[String: Any]])
            #expect(handlers.count == 1)
            let handler = handlers[0]
            #expect(handler["type"] as? String == "command")
            #expect(handler["command"] as? String == "/usr/local/bin/vigil")
            #expect(handler["args"] as? [String] == ["hook", "--policy", "/etc/vigil/policy.yaml", "--audit-dir", "/var/lib/vigil/audit"])
            #expect(handler["onFailure"] as? String == "block")
            #expect(handler["timeout"] as? Int == 20)
            #expect(handler["if"] == nil, "an `if` filter would let `bash -c` through")
        }
        var open = configuration
        open.allowManagedHooksOnly = false
        open.auditDirectory = nil
        let other = try #require(try JSONSerialization.jsonObject(with: Data(open.settingsJSON())) as? [String: Any])
        #expect(other["allowManagedHooksOnly"] == nil)
        #expect(open.hookArguments == ["hook", "--policy", "/etc/vigil/policy.yaml"])
    }

    @Test func installIntoAnEmptyRootAndUninstallLeavesNothing() throws {
        let scratch = try Scratch("ms-empty")
        defer { scratch.remove() }
        let root = scratch.path + "/root"
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        let before = try snapshot(root)
        let installer = ManagedSettingsInstaller(root: root, stateDirectory: scratch.path + "/state")
        let report = try installer.install(configuration)
        #expect(report.path == root + "/etc/claude-code/managed-settings.d/50-vigil.json")
        #expect(!report.replacedExisting && !report.reinstalled)
        #expect(FileManager.default.contents(atPath: report.path) == Data(configuration.settingsJSON()))
        let attributes = try FileManager.default.attributesOfItem(atPath: report.path)
        #expect(attributes[.posixPermissions] as? Int == 0o644)
        let record = try #require(try installer.record())
        #expect(record.previous == nil)
        #expect(record.createdDirectories == [root + "/etc/claude-code", root + "/etc/claude-code/managed-settings.d"])

        let undo = try installer.uninstall()
        #expect(!undo.restoredPrevious)
        #expect(undo.removedDirectories == [root + "/etc/claude-code/managed-settings.d", root + "/etc/claude-code"])
        #expect(try snapshot(root) == before)
        #expect(try installer.record() == nil)
    }

    @Test func aFileOfTheSameNameIsRestoredByteForByte() throws {
        let scratch = try Scratch("ms-restore")
        defer { scratch.remove() }
        let root = scratch.path + "/root"
        let directory = root + "/etc/claude-code/managed-settings.d"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/50-vigil.json"
        // Not even valid JSON or UTF-8: the bytes come back exactly.
        let original = Data([0x7B, 0x0A, 0xFF, 0x00, 0x22, 0x7D, 0x0D, 0x0A])
        try original.write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        if geteuid() == 0 { chown(path, 123, 456) }
        try "{}".write(toFile: directory + "/10-other.json", atomically: true, encoding: .utf8)
        let before = try snapshot(root)

        let installer = ManagedSettingsInstaller(root: root, stateDirectory: scratch.path + "/state")
        let report = try installer.install(configuration)
        #expect(report.replacedExisting)
        #expect(FileManager.default.contents(atPath: path) == Data(configuration.settingsJSON()))
        let record = try #require(try installer.record())
        #expect(record.previous?.contents == original.base64EncodedString())
        #expect(record.previous?.mode == 0o600)
        #expect(record.createdDirectories.isEmpty)
        let recordMode = try FileManager.default.attributesOfItem(atPath: installer.recordPath)[.posixPermissions] as? Int
        #expect(recordMode == 0o600)

        // A reinstall (say, a new timeout) keeps the original record.
        var changed = configuration
        changed.timeoutSeconds = 5
        let again = try installer.install(changed)
        #expect(again.reinstalled && !again.replacedExisting)
        #expect(try installer.record()?.previous == record.previous)

        let undo = try installer.uninstall()
        #expect(undo.restoredPrevious)
        #expect(FileManager.default.contents(atPath: path) == original)
        #expect(try snapshot(root) == before, "bytes, mode and owner as before")
    }

    @Test func uninstallRefusesToLoseSomeoneElsesEdit() throws {
        let scratch = try Scratch("ms-edit")
        defer { scratch.remove() }
        let installer = ManagedSettingsInstaller(root: scratch.path + "/root", stateDirectory: scratch.path + "/state")
        try installer.install(configuration)
        try "{\"edited\":true}\n".write(toFile: installer.dropInPath, atomically: true, encoding: .utf8)
        #expect {
            try installer.uninstall()
        } throws: { error in
            (error as? ManagedSettingsError)?.reason.contains("changed since Vigil installed it") == true
        }
        #expect(FileManager.default.fileExists(atPath: installer.dropInPath), "nothing changed")
        #expect(try installer.record() != nil)
        try installer.uninstall(force: true)
        #expect(!FileManager.default.fileExists(atPath: installer.dropInPath))
    }

    @Test func refusals() throws {
        let scratch = try Scratch("ms-refuse")
        defer { scratch.remove() }
        let installer = ManagedSettingsInstaller(root: scratch.path + "/root", stateDirectory: scratch.path + "/state")
        #expect {
            try installer.uninstall()
        } throws: { error in
            (error as? ManagedSettingsError)?.reason == "no record of a Vigil install here; nothing changed"
        }
        // A directory where the drop-in goes: refused, nothing written.
        try FileManager.default.createDirectory(atPath: installer.dropInPath, withIntermediateDirectories: true)
        #expect(throws: ManagedSettingsError.self) { try installer.install(configuration) }
        #expect(try installer.record() == nil)
    }
}
