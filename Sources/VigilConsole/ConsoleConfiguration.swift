// SPDX-License-Identifier: Apache-2.0
// Where the console keeps its state and how it is reached.

public struct ConsoleConfiguration: Sendable {
    /// Keys, TLS material, the audit log and (by default) the SQLite database. Root-only.
    public var stateDirectory: String
    /// `sqlite:PATH` (default `sqlite:<state>/console.db`), or `postgres://USER@HOST:PORT/DB` (also
    /// `postgresql://`), the backend several replicas share; see ``ConsoleDatabase``.
    public var database: String?
    public var host: String
    public var port: Int
    /// The device API is HTTPS only: files given, or a self-signed certificate made under the state dir.
    public var tls: TLSSource
    /// The URL devices are told to use (in tokens); default `https://<host>:<port>`.
    public var publicURL: String?
    /// The local admin API (the `vigil-console` commands), a Unix socket only its owner may use.
    public var adminSocket: String
    /// Signatures: the allowed clock difference and the oldest `created` accepted, in seconds.
    public var signatureSkew: Int64 = 60
    public var signatureMaxAge: Int64 = 300
    /// How often a device's event stream carries a heartbeat when nothing else is sent.
    public var heartbeat: Duration = .seconds(15)
    /// The largest request body accepted on the device API.
    public var maxBodyBytes: Int = 1 << 20
    /// A kept-alive connection with no request in progress this long is closed (an event stream is a
    /// request in progress, so it stays).
    public var idleTimeout: Duration = .seconds(300)
    /// bcrypt's cost for admin passwords (tests lower it: each step doubles the work).
    public var bcryptCost: UInt8 = 12
    /// Human logins: how long a one-time code is good for, how many wrong codes end a login, and how
    /// long a binding made holds before the person must log in again (seconds).
    public var loginLifetime: Int64 = 600
    public var loginAttempts: Int = 5
    /// Logins one OS account of a device may start per hour: with `loginAttempts`, what bounds
    /// guessing codes by starting login after login (each start also shows up for the admins).
    public var loginsPerHour: Int = 10
    public var bindingLifetime: Int64 = 30 * 86400

    public enum TLSSource: Sendable, Equatable {
        case files(certificate: String, key: String)
        case selfSigned
    }

    public init(
        stateDirectory: String = "/var/lib/vigil-console", database: String? = nil, host: String = "127.0.0.1", port: Int = 8443,
        tls: TLSSource = .selfSigned, publicURL: String? = nil, adminSocket: String? = nil
    ) {
        self.stateDirectory = stateDirectory
        self.database = database
        self.host = host
        self.port = port
        self.tls = tls
        self.publicURL = publicURL
        self.adminSocket = adminSocket ?? stateDirectory + "/admin.sock"
    }
}
