// SPDX-License-Identifier: Apache-2.0
// A real console for a test: both servers (and, on PostgreSQL, the store's services) on a temporary
// state directory, the device API on an ephemeral loopback port, a clock the test can move.
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VigilAPI
import VigilAudit
import VigilFleet
import VigilSignatures
import VigilTransport
import VigilTransportClient

@testable import VigilConsole

/// The console's clock: real time (devices sign with theirs), plus whatever the test moved it on by.
final class TestClock: Sendable {
    private let offset = Mutex<Int64>(0)
    func read() -> Int64 { Int64(Date().timeIntervalSince1970) + offset.withLock { $0 } }
    func advance(_ seconds: Int64) { offset.withLock { $0 += seconds } }
}

final class LiveConsole: Sendable {
    let console: Console
    let clock: TestClock
    let port: Int
    let state: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// `database`: `--db` (default SQLite under the state directory). `sharingKeysOf`: another replica
    /// of the same console, whose key files (policy key, TLS) this one starts with, as replicas are deployed.
    static func start(
        clock: TestClock = TestClock(), idleTimeout: Duration = .seconds(300), database: String? = nil, publicURL: String? = nil,
        sharingKeysOf other: LiveConsole? = nil, configure: (inout ConsoleConfiguration) -> Void = { _ in }
    ) async throws -> LiveConsole {
        let state = TemporaryDirectory.make() + "/console"
        if let other { try shareKeys(from: other.state, to: state) }
        let logger = Logger(label: "console-test")
        var configuration = ConsoleConfiguration(stateDirectory: state, database: database, host: "127.0.0.1", port: 0, publicURL: publicURL)
        configuration.bcryptCost = 4  // the lowest bcrypt allows: tests log in often
        configuration.idleTimeout = idleTimeout
        configure(&configuration)
        let console = try Console(configuration: configuration, logger: logger, clock: { clock.read() })
        let (ports, portsIn) = AsyncStream<Int>.makeStream()
        let device = try console.deviceServer { portsIn.yield($0) }
        let admin = console.adminServer { portsIn.yield(-1) }
        let group = ServiceGroup(configuration: .init(services: console.storeServices + [device, admin], logger: logger))
        let task = Task { try await group.run() }
        var port = 0
        var running = 0
        for await value in ports {
            if value >= 0 { port = value }
            running += 1
            if running == 2 { break }
        }
        let live = LiveConsole(console: console, clock: clock, port: port, state: state, group: group, task: task)
        // PostgreSQL: the schema migrated and this replica listening to the others before the test begins.
        if let feed = console.changeFeed { try await live.waitForSyncs(feed, atLeast: 1) }
        return live
    }

    /// The files replicas share (see ARCHITECTURE.md): the policy signing key and the TLS identity.
    private static func shareKeys(from source: String, to state: String) throws {
        guard mkdir(state, 0o700) == 0 else { throw TestFailure("mkdir \(state): \(String(cString: strerror(errno)))") }
        for (name, mode) in [("policy-key.pem", 0o600), ("tls-key.pem", 0o600), ("tls-cert.pem", 0o644)] {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: state + "/" + name)
            guard chmod(state + "/" + name, mode_t(mode)) == 0 else { throw TestFailure("chmod \(name)") }
        }
    }

    /// Waits (bounded) until the replica feed has (re)synchronised `count` times.
    func waitForSyncs(_ feed: PostgresChangeFeed? = nil, atLeast count: Int) async throws {
        guard let feed = feed ?? console.changeFeed else { throw TestFailure("this console has no replica feed (not on PostgreSQL)") }
        let end = ContinuousClock.now + .seconds(20)
        while feed.syncs < count {
            guard ContinuousClock.now < end else { throw TestFailure("the replica feed did not sync \(count) times (\(feed.syncs))") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private init(console: Console, clock: TestClock, port: Int, state: String, group: ServiceGroup, task: Task<Void, any Error>) {
        self.console = console
        self.clock = clock
        self.port = port
        self.state = state
        self.group = group
        self.task = task
    }

    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    /// One call on the admin socket, as `vigil-console` makes it. The client blocks, so it runs on a
    /// thread of its own: on one of the concurrency pool's (two, here) it would starve the console.
    func admin(_ method: String, _ path: String, _ body: some Encodable & Sendable) async throws -> VigilTransport.HTTPResponse {
        let socket = console.configuration.adminSocket
        let bytes = Array(try JSONEncoder().encode(body))
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let client = VigilTransportClient.HTTPClient(.unix(path: socket))
                defer { client.close() }
                continuation.resume(with: Result { try client.request(method, path, headers: ["Content-Type": "application/json"], body: bytes) })
            }
        }
    }

    func issueToken(team: String? = nil, expiresIn: Int64 = 3600, uses: Int = 1, requireTPM: Bool? = nil) async throws -> String {
        let response = try await admin(
            "POST", "/admin/v1/tokens", IssueTokenRequest(team: team, expiresIn: expiresIn, uses: uses, requireTPM: requireTPM, actor: "test"))
        guard response.status == 201 else { throw TestFailure("token issue answered \(response.status): \(response.bodyText)") }
        struct Issued: Decodable { var token: String }
        return try JSONDecoder().decode(Issued.self, from: Data(response.body)).token
    }

    /// The console's audit entries of `action`.
    func auditEntries(_ action: String) throws -> [AuditEntry] {
        try console.audit.sync()
        return try AuditVerifier.readEntries(directory: state + "/audit").leaves.map(\.entry).filter { $0.extra["action"] == action }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A device that speaks to the console by hand, to send what a well-behaved client never would.
struct RawDevice {
    let url: String
    let pin: String
    let key: P256SigningKey

    func send(
        _ method: String, _ path: String, body: [UInt8] = [], created: Int64, signedPath: String? = nil, signedBody: [UInt8]? = nil,
        headers extra: [(String, String)]? = nil
    ) async throws -> (status: Int, body: String) {
        var headers = extra
        if headers == nil {
            let digest = ContentDigest.header(for: signedBody ?? body)
            let authority = URL(string: url)!.host! + ":" + String(URL(string: url)!.port!)
            let signed = try MessageSigner(key: key, keyID: key.publicKey.keyID).sign(
                SignableRequest(method: method, authority: authority, path: signedPath ?? path, query: nil, headers: [("Content-Digest", digest)]),
                created: created)
            headers = [("Content-Digest", digest), ("Signature-Input", signed.signatureInput), ("Signature", signed.signature)]
        }
        return try await Self.send(url: url, pin: pin, method: method, path: path, body: body, headers: headers ?? [])
    }

    static func send(url: String, pin: String, method: String, path: String, body: [UInt8], headers: [(String, String)]) async throws -> (
        status: Int, body: String
    ) {
        let parsed = URL(string: url)!
        let answer = try await PinnedHTTPSClient(host: parsed.host!, port: parsed.port!, pin: pin).execute(method, path, headers: headers, body: body)
        return (answer.status, String(decoding: answer.body, as: UTF8.self))
    }
}
