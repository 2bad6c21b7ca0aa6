// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Testing

// The PostgreSQL server the console's tests use: VIGIL_TEST_POSTGRES_URL, else the throwaway
// cluster `make postgres` starts (its URL in .output/postgres-url). Gated like a privilege.

public enum PostgresServer {
    /// The server's URL (a role that may create databases), and where it came from; nil when none is configured.
    public static let configured: (url: String, source: String)? = {
        if let url = ProcessInfo.processInfo.environment["VIGIL_TEST_POSTGRES_URL"], !url.isEmpty {
            return (url, "VIGIL_TEST_POSTGRES_URL")
        }
        let file = Privileges.packageRoot.appendingPathComponent(".output/postgres-url").path
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        let url = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return url.isEmpty ? nil : (url, file)
    }()

    /// The URL, for tests that passed `.requires(.postgres)`.
    public static var url: String {
        get throws {
            guard let configured else { throw Privileges.Missing(description: "no PostgreSQL server is configured") }
            return configured.url
        }
    }

    /// Why no server can be used, or nil: configured, and something listens at its host and port.
    static func unavailable() -> String? {
        guard let (url, source) = configured else {
            return "no server: set VIGIL_TEST_POSTGRES_URL or run 'make postgres' (as root: installs and starts one)"
        }
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            return "the URL from \(source) names no TCP host (the tests use TCP)"
        }
        let port = components.port ?? 5432
        return canConnect(host: host, port: port) ? nil : "nothing accepts connections at \(host):\(port) (the URL from \(source))"
    }

    private static func canConnect(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let first = found else { return false }
        defer { freeaddrinfo(found) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0
    }
}

extension Requirement {
    /// A PostgreSQL server to create test databases on (see ``PostgresServer``).
    public static let postgres = Requirement(name: "PostgreSQL", missing: PostgresServer.unavailable())
}
