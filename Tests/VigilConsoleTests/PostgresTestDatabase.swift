// SPDX-License-Identifier: Apache-2.0
// A database of its own for each PostgreSQL test, on the server VigilTestSupport names: created
// empty, dropped afterwards (even when the test fails), so that tests running at once share nothing,
// not even NOTIFY channels, which are per database.
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import VigilTestSupport

@testable import VigilConsole

enum PostgresTestDatabase {
    static let logger = Logger(label: "postgres-test")

    /// Runs `body` with the URL of a new, empty database, and drops it afterwards.
    static func with<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        let server = try PostgresServer.url
        let name = "vigil_t_" + (0..<6).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max)) }.joined()
        try await execute("CREATE DATABASE \(name)", on: server)
        let url = try database(name, of: server)
        do {
            let value = try await body(url)
            try await execute("DROP DATABASE \(name) WITH (FORCE)", on: server)
            return value
        } catch {
            _ = try? await execute("DROP DATABASE \(name) WITH (FORCE)", on: server)
            throw error
        }
    }

    /// `server` with its database replaced by `name`.
    static func database(_ name: String, of server: String) throws -> String {
        guard var components = URLComponents(string: server) else { throw TestFailure("\(server) is not a URL") }
        components.path = "/" + name
        return components.string!
    }

    /// SQL the store does not offer (databases, raw rows, killing a backend), on a connection of its own.
    @discardableResult
    static func execute(_ sql: String, on url: String) async throws -> [PostgresRow] {
        do {
            let configuration = try PostgresConsoleStore.connectionConfiguration(try PostgresURL(parsing: url))
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
            let result = await Result { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect() }
            // Closed before it is released: a connection must not be deinitialised open.
            try await connection.close().get()
            return try result.get()
        } catch {
            throw TestFailure("\(sql): \(PostgresConsoleStore.message(error))")
        }
    }
}

/// Services a test started; cancelled (their tasks awaited) when it ends.
final class RunningServices: Sendable {
    private let tasks = Mutex<[Task<Void, any Error>]>([])

    func start(_ service: some Service) {
        tasks.withLock { $0.append(Task { try await service.run() }) }
    }

    func stop() async {
        let running = tasks.withLock { tasks in
            defer { tasks.removeAll() }
            return tasks
        }
        for task in running {
            task.cancel()
            _ = await task.result
        }
    }
}

extension Result where Failure == any Error {
    /// The outcome of async work, kept to finish cleaning up before it is rethrown.
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
