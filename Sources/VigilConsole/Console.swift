// SPDX-License-Identifier: Apache-2.0
// The console's composition root: the store, its keys, its audit log, and two servers — HTTPS (the
// device API, the web console and its admin API) and the local admin socket — run as one service group.
// On PostgreSQL the group also runs the connection pool and the feed that keeps this replica in step
// with the others.
import Foundation
import Glibc
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import VigilAPI
import UnixSignals
import VigilSignatures

public final class Console: Sendable {
    public let configuration: ConsoleConfiguration
    public let store: any ConsoleStore
    public let audit: ConsoleAudit
    public let keys: ConsoleKeys
    public let tls: ConsoleTLS
    /// What the store needs running beside the servers, started before them and stopped after
    /// (PostgreSQL: the pool, then the replica feed; SQLite: nothing).
    public let storeServices: [any Service]
    private let boundPort = Mutex<Int?>(nil)
    let policies: PolicyPublisher
    let changes = ChangeFeed()
    let throttle = LoginThrottle()
    /// PostgreSQL: where every replica spends a request's nonce, and the feed of the others' changes.
    let sharedNonces: (any SharedNonces)?
    let changeFeed: PostgresChangeFeed?
    let logger: Logger
    let clock: @Sendable () -> Int64

    public init(configuration: ConsoleConfiguration, logger: Logger, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) })
        throws
    {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        try ConsoleFiles.makeDirectory(configuration.stateDirectory)
        let policies = PolicyPublisher()
        self.policies = policies
        switch try ConsoleDatabase(configuration.database, stateDirectory: configuration.stateDirectory) {
        case .sqlite(let path):
            store = try SQLiteConsoleStore(path: path)
            sharedNonces = nil
            changeFeed = nil
            storeServices = []
        case .postgres(let url):
            let postgres = PostgresConsoleStore(url: url, logger: logger)
            let feed = PostgresChangeFeed(store: postgres, policies: policies, logger: logger)
            store = postgres
            sharedNonces = postgres
            changeFeed = feed
            storeServices = [postgres, feed]
        }
        audit = try ConsoleAudit(stateDirectory: configuration.stateDirectory, logger: logger)
        keys = try ConsoleKeys.loadOrCreate(stateDirectory: configuration.stateDirectory)
        let host = configuration.publicURL.flatMap { URL(string: $0)?.host } ?? configuration.host
        tls = try ConsoleTLS.load(configuration.tls, stateDirectory: configuration.stateDirectory, hostnames: [host, configuration.host])
    }

    /// The URL tokens give devices: `--public-url`, else the listen address with the port bound.
    public var publicURL: String {
        configuration.publicURL ?? "https://\(Self.urlHost(configuration.host)):\(boundPort.withLock { $0 ?? configuration.port })"
    }

    /// The policy builder's service (rows, edits, imports, diffs), as the admin API uses it.
    public var policyEditor: PolicyEditor { PolicyEditor(versions: versions) }

    var enrollment: EnrollmentService { EnrollmentService(store: store, audit: audit, publicURL: { [self] in publicURL }, pin: tls.pin) }
    var versions: PolicyVersions {
        PolicyVersions(store: store, audit: audit, policies: policies, clock: clock, changed: { [changes] in changes.changed() })
    }
    var accounts: AdminAccounts { AdminAccounts(store: store, audit: audit, throttle: throttle, clock: clock, cost: configuration.bcryptCost) }
    var adminRoutes: AdminRoutes {
        AdminRoutes(
            store: store, audit: audit, enrollment: enrollment, policies: policies, versions: versions, accounts: accounts, logins: logins,
            clock: clock)
    }
    var logins: HumanLogins {
        HumanLogins(
            store: store, audit: audit, lifetime: configuration.loginLifetime, attempts: configuration.loginAttempts,
            perHour: configuration.loginsPerHour,
            bindingLifetime: configuration.bindingLifetime, clock: clock)
    }

    /// The device API on HTTPS. `onRunning` gets the bound port (tests listen on port 0).
    public func deviceServer(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some Service {
        let router = Router(context: ConsoleRequestContext.self)
        router.add(middleware: RefusalMiddleware())
        let idle = configuration.idleTimeout.components
        let idleTimeout = TimeAmount.nanoseconds(idle.seconds * 1_000_000_000 + idle.attoseconds / 1_000_000_000)
        DeviceRoutes(
            store: store, audit: audit, enrollment: enrollment,
            authenticator: DeviceAuthenticator(
                store: store, skew: configuration.signatureSkew, maxAge: configuration.signatureMaxAge, shared: sharedNonces),
            policyKey: keys.policyKey.publicKey.encoded, maxBodyBytes: configuration.maxBodyBytes, policies: policies,
            signer: PolicyBundleSigner(key: keys.policyKey), heartbeat: configuration.heartbeat, logins: logins, clock: clock,
            changed: { [changes] in changes.changed() }
        ).add(to: router)
        WebRoutes(
            store: store, audit: audit, accounts: accounts, sessions: WebSessions(store: store, clock: clock), enrollment: enrollment,
            versions: versions, editor: policyEditor, admin: adminRoutes, changes: changes, heartbeat: configuration.heartbeat, clock: clock
        ).add(to: router)
        return Application(
            router: router, server: try .tls(.http1(configuration: .init(idleTimeout: idleTimeout)), tlsConfiguration: tls.configuration),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.withLock { $0 = port }
                await onRunning(port)
            }, logger: logger)
    }

    /// The admin API on its Unix socket (0600 in the 0700 state directory).
    public func adminServer(onRunning: @escaping @Sendable () async -> Void = {}) -> some Service {
        let router = Router(context: ConsoleRequestContext.self)
        router.add(middleware: RefusalMiddleware())
        adminRoutes.add(to: router.group("/admin/v1").add(middleware: PeerCredentialMiddleware()), door: .socket)
        let path = configuration.adminSocket
        unlink(path)
        return Application(
            router: router, configuration: .init(address: .unixDomainSocket(path: path), serverName: nil),
            onServerRunning: { _ in
                chmod(path, 0o600)
                await onRunning()
            }, logger: logger)
    }

    /// The store's services and both servers until SIGTERM/SIGINT; shut down in reverse order, so the
    /// servers stop before the database pool they use.
    public func run() async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: storeServices + [
                    try deviceServer { [self] port in logger.info("device API listening", metadata: ["url": "\(publicURL)", "port": "\(port)"]) },
                    adminServer(),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Device streams this console holds open.
    public var streamConnections: Int { policies.connections }

    private static func urlHost(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}
