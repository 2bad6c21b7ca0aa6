// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Testing
import VigilEnforcement
import VigilSensor

// Shared by the test targets: the one privilege gate, the package's binaries, a loopback listener.

/// What a privileged test needs, checked once: `missing` is nil when the machine has it, else why not.
public struct Requirement: Sendable {
    public let name: String
    public let missing: String?

    public init(name: String, missing: String?) {
        self.name = name
        self.missing = missing
    }

    /// uid 0: mount namespaces, chown to other users, cgroups.
    public static let root = Requirement(name: "root", missing: geteuid() == 0 ? nil : "not root (uid \(geteuid()))")

    /// The sensor's BPF programs can be loaded: CAP_BPF or root, and kernel BTF.
    public static let bpf: Requirement = {
        var missing: [String] = []
        if !Environment.isPrivileged { missing.append("neither root nor CAP_BPF (uid \(geteuid()))") }
        if !FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux") { missing.append("no kernel BTF (/sys/kernel/btf/vmlinux)") }
        return Requirement(name: "BPF", missing: missing.isEmpty ? nil : missing.joined(separator: "; "))
    }()

    /// fanotify permission events (CAP_SYS_ADMIN): a FanotifyGuard starts.
    public static let fanotify: Requirement = {
        guard geteuid() == 0 else { return Requirement(name: "fanotify", missing: "not root (uid \(geteuid()))") }
        do {
            _ = try FanotifyGuard { _ in .allow }
            return Requirement(name: "fanotify", missing: nil)
        } catch {
            return Requirement(name: "fanotify", missing: "fanotify permission events are unavailable: \(error)")
        }
    }()
}

/// The gate. A test that needs a privilege says so with a trait, `@Test(.requires(.bpf))`: where the
/// machine lacks it the test is reported as skipped, with the reason. With
/// VIGIL_REQUIRE_PRIVILEGED=1 (CI, `make test`) a missing privilege fails the test instead; with
/// VIGIL_SKIP_PRIVILEGED=1 (`make test-unit`) every privileged test is skipped, even as root.
public enum Privileges {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public static var required: Bool { ProcessInfo.processInfo.environment["VIGIL_REQUIRE_PRIVILEGED"] == "1" }
    public static var unitOnly: Bool { ProcessInfo.processInfo.environment["VIGIL_SKIP_PRIVILEGED"] == "1" }

    /// Why these requirements are not met, or nil when they are.
    public static func missing(_ requirements: [Requirement]) -> String? {
        if unitOnly { return "VIGIL_SKIP_PRIVILEGED=1: a unit run (make test-unit) runs no privileged test" }
        let reasons = requirements.compactMap { requirement in requirement.missing.map { "\(requirement.name): \($0)" } }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }

    /// true: run; false: skip. Throws (the test fails) when privileges are required and missing.
    public static func decide(_ missing: String?) throws -> Bool {
        guard let missing else { return true }
        if required { throw Missing(description: "VIGIL_REQUIRE_PRIVILEGED=1 but this test cannot run: \(missing)") }
        return false
    }

    /// The package root, from this file's path.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// An executable of this package built with the tests (`swift build --build-tests` builds
    /// them all); missing is a failure.
    public static func product(_ name: String) throws -> String {
        let path = packageRoot.appendingPathComponent(".build/debug/\(name)").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Missing(description: "\(path) is missing: run 'swift build --build-tests'")
        }
        return path
    }

    /// A test helper binary built by `make test-helpers`; missing is a failure.
    public static func helper(_ name: String) throws -> String {
        let path = packageRoot.appendingPathComponent(".output/helpers/\(name)").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Missing(description: "test helper \(path) is missing: run 'make test-helpers'")
        }
        return path
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test or suite only where every requirement is met; otherwise a visible skip with the
    /// reason, or a failure under VIGIL_REQUIRE_PRIVILEGED=1.
    public static func requires(_ requirements: Requirement...) -> Self {
        let missing = Privileges.missing(requirements)
        let names = requirements.map(\.name).joined(separator: ", ")
        return .enabled(if: try Privileges.decide(missing), Comment(rawValue: missing ?? "\(names): available"))
    }
}

/// A loopback listener; `hasPendingConnection` says whether anything connected.
public final class TCPListener: @unchecked Sendable {
    public let fd: Int32
    public let port: UInt16

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw Privileges.Missing(description: "listener: \(String(cString: strerror(errno)))") }
        port = UInt16(bigEndian: addr.sin_port)
    }

    public var hasPendingConnection: Bool {
        let client = accept(fd, nil, nil)
        if client >= 0 { close(client); return true }
        return false
    }

    deinit { close(fd) }
}
