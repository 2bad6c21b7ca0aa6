import Foundation
import Testing
import VigilSensor

/// Privileged tests run where BPF can be loaded. With VIGIL_REQUIRE_PRIVILEGED=1 (CI) a missing
/// privilege is a failure, never a skip.
enum Privileges {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    /// true: run the test; false: skip it (only when privileges are not required).
    static func check() throws -> Bool {
        if Environment.isPrivileged && FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux") { return true }
        if ProcessInfo.processInfo.environment["VIGIL_REQUIRE_PRIVILEGED"] == "1" {
            throw Missing(description: "VIGIL_REQUIRE_PRIVILEGED=1 but this test cannot load BPF (uid \(geteuid()), BTF present: \(FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux")))")
        }
        return false
    }

    /// The package root, from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A test helper binary built by `make test-helpers`; missing is a failure.
    static func helper(_ name: String) throws -> String {
        let path = packageRoot.appendingPathComponent(".output/helpers/\(name)").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Missing(description: "test helper \(path) is missing: run 'make test-helpers'")
        }
        return path
    }
}
