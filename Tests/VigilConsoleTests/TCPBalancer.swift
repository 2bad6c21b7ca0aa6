// SPDX-License-Identifier: Apache-2.0
// A layer-4 load balancer for replica tests: devices know one URL (this port) whichever replica
// answers, so their signatures name one @authority, as behind a real balancer. TLS passes through
// untouched; each new connection goes to the backend chosen at the time it arrives.
import NIOCore
import NIOPosix
import Synchronization

final class TCPBalancer: Sendable {
    let port: Int
    private let backend = Mutex<Int?>(nil)
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    private typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func start() async throws -> TCPBalancer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { child in
                child.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: child) }
            }
        let balancer = TCPBalancer(port: server.channel.localAddress?.port ?? 0)
        balancer.task.withLock { task in
            task = Task {
                try? await server.executeThenClose { inbound in
                    await withDiscardingTaskGroup { group in
                        do {
                            for try await connection in inbound { group.addTask { await balancer.forward(connection) } }
                        } catch {}
                    }
                }
            }
        }
        return balancer
    }

    private init(port: Int) { self.port = port }

    var url: String { "https://127.0.0.1:\(port)" }

    /// Connections from now on go to `port` on loopback.
    func route(to port: Int) { backend.withLock { $0 = port } }

    func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        await running?.value
    }

    /// Bytes both ways until either side ends; then both are closed.
    private func forward(_ connection: Connection) async {
        guard let port = backend.withLock({ $0 }) else {
            try? await connection.executeThenClose { _, _ in }
            return
        }
        try? await connection.executeThenClose { clientIn, clientOut in
            let upstream = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) {
                channel in channel.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: channel) }
            }
            try await upstream.executeThenClose { serverIn, serverOut in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { for try await bytes in clientIn { try await serverOut.write(bytes) } }
                    group.addTask { for try await bytes in serverIn { try await clientOut.write(bytes) } }
                    try await group.next()
                    group.cancelAll()
                }
            }
        }
    }
}
