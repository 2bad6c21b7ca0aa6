// SPDX-License-Identifier: Apache-2.0
// The policy file as the hook and vigild read it: read, decoded as UTF-8 and compiled, every
// failure naming the file.
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Why the policy cannot be used; names the file.
public struct HookPolicyError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "cannot use the policy \(path): \(reason)" }
}

public enum HookPolicyFile {
    /// Reads and compiles `path`. Every failure names the file (and, for YAML errors, line and column).
    public static func load(_ path: String) -> Result<Policy, HookPolicyError> {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            return .failure(HookPolicyError(path: path, reason: "unreadable (\(describe(error, path: path)))"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(HookPolicyError(path: path, reason: "not UTF-8 text"))
        }
        do {
            return .success(try Policy(yaml: text, file: path))
        } catch {
            return .failure(HookPolicyError(path: path, reason: "rejected: \(error)"))
        }
    }

    private static func describe(_ error: any Error, path: String) -> String {
        var st = stat()
        if stat(path, &st) != 0 { return String(cString: strerror(errno)) }
        if st.st_mode & S_IFMT == S_IFDIR { return "is a directory" }
        if access(path, R_OK) != 0 { return String(cString: strerror(errno)) }
        return (error as NSError).localizedDescription
    }
}
