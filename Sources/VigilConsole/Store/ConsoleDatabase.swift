// SPDX-License-Identifier: Apache-2.0
// `--db`: which store, parsed once at the edge. `sqlite:PATH` (or a bare path), or a libpq-style
// URL, `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…&host=/socket/dir]`, for fleets.
import Foundation

public enum ConsoleDatabase: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(PostgresURL)

    /// `text` as given to `--db`; nil means the SQLite file under the state directory.
    public init(_ text: String?, stateDirectory: String) throws {
        guard let text else {
            self = .sqlite(path: stateDirectory + "/console.db")
            return
        }
        if text.hasPrefix("sqlite:") {
            self = .sqlite(path: String(text.dropFirst("sqlite:".count)))
        } else if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(try PostgresURL(parsing: text))
        } else if text.contains("://") {
            throw ConsoleSetupError(
                "database \(PostgresURL.redacted(text)): unsupported; use sqlite:PATH or postgres://USER@HOST:PORT/DB")
        } else {
            self = .sqlite(path: text)
        }
    }
}

/// A PostgreSQL connection URL, with libpq's meaning for what it accepts (RFC 3986 syntax,
/// percent-decoded parts); anything it does not know is refused rather than ignored.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The socket file, `<directory>/.s.PGSQL.<port>` as libpq names it.
        case unixSocket(path: String)
    }

    /// libpq's `sslmode`s that mean something without client certificates.
    public enum SSLMode: String, Sendable, Equatable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var endpoint: Endpoint
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// The URL as given, password hidden: what error messages and logs name.
    public let description: String

    public init(parsing text: String) throws {
        description = Self.redacted(text)
        func refuse(_ why: String) -> ConsoleSetupError { ConsoleSetupError("database URL \(Self.redacted(text)): \(why)") }
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw refuse("is not a URL of the form postgres://USER@HOST:PORT/DB")
        }
        guard let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else {
            throw refuse("names no user (postgres://USER@HOST/DB)")
        }
        self.user = user
        password = components.percentEncodedPassword?.removingPercentEncoding
        let path = components.percentEncodedPath.removingPercentEncoding ?? ""
        guard path.hasPrefix("/"), path.count > 1, !path.dropFirst().contains("/") else {
            throw refuse("names no database (postgres://USER@HOST/DB)")
        }
        database = String(path.dropFirst())
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw refuse("port \(port) is out of range") }

        var socketDirectory: String?
        var sslMode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw refuse("sslmode \(item.value ?? "") is not one of disable, prefer, require, verify-full")
                }
                sslMode = mode
            case "host":
                guard let directory = item.value, directory.hasPrefix("/") else {
                    throw refuse("the host parameter must be a socket directory (an absolute path)")
                }
                socketDirectory = directory
            default:
                throw refuse("the parameter \(item.name) is not supported (sslmode and host are)")
            }
        }
        self.sslMode = sslMode
        let host = (components.host ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if let socketDirectory {
            guard host.isEmpty else { throw refuse("names both a host and a socket directory") }
            endpoint = .unixSocket(path: socketDirectory + "/.s.PGSQL.\(port)")
        } else {
            guard !host.isEmpty else { throw refuse("names no host (postgres://USER@HOST/DB, or ?host=/socket/dir)") }
            endpoint = .tcp(host: host, port: port)
        }
    }

    /// `text` with the password of its userinfo, if any, replaced by `***`.
    public static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@") else { return text }
        let userinfo = text[scheme.upperBound..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return text }
        return String(text[..<text.index(after: colon)]) + "***" + String(text[at...])
    }
}
