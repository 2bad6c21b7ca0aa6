// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import VigilSensor

// Shared by the test targets: privilege gating and a loopback listener.

/// Privileged tests run where BPF can be loaded. With VIGIL_REQUIRE_PRIVILEGED=1 (CI) a missing
/// privilege is a failure, never a skip.
public enum Privileges {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// true: run the test; false: skip it (only when privileges are not required).
    public static func check() throws -> Bool {
        if Environment.isPrivileged && FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux") { return true }
        if ProcessInfo.processInfo.environment["VIGIL_REQUIRE_PRIVILEGED"] == "1" {
            throw Missing(description: "VIGIL_REQUIRE_PRIVILEGED=1 but this test cannot load BPF (uid \(geteuid()), BTF present: \(FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux")))")
        }
        return false
    }

    /// The package root, from this file's path.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

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

