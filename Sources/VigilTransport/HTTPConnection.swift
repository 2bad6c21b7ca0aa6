// SPDX-License-Identifier: Apache-2.0
// One accepted connection, as the handler sees it: its addresses and who is on the other end.

import Synchronization

public final class HTTPConnection: Sendable, CustomStringConvertible {
    /// Unique within one server, in accept order.
    public let id: UInt64
    public let localAddress: SocketAddress
    public let remoteAddress: SocketAddress
    /// Unix listeners: the connecting process, read with SO_PEERCRED at accept. nil on TCP, or if that failed
    /// (counted in `peerLookupFailures`).
    public let peerCredentials: PeerCredentials?

    private let counters: HTTPServerCounters
    private let resolved = Mutex<Result<TCPPeer, PeerLookupError>?>(nil)

    init(id: UInt64, localAddress: SocketAddress, remoteAddress: SocketAddress, peerCredentials: PeerCredentials?, counters: HTTPServerCounters) {
        self.id = id
        self.localAddress = localAddress
        self.remoteAddress = remoteAddress
        self.peerCredentials = peerCredentials
        self.counters = counters
    }

    /// The client process of a TCP connection (see `PeerIdentity.tcpPeer`). Resolved on the first call and
    /// cached for the connection's life, failures included: a keep-alive connection belongs to one socket,
    /// and the kernel's answer for it does not change. Later calls ignore `candidatePIDs`.
    /// - Throws: `PeerLookupError` naming the failed step; `.notTCP` on a Unix connection.
    public func peer(candidatePIDs: [Int32] = []) throws(PeerLookupError) -> TCPPeer {
        let result = resolved.withLock { cached in
            if let cached { return cached }
            let result: Result<TCPPeer, PeerLookupError>
            do throws(PeerLookupError) {
                result = .success(try PeerIdentity.tcpPeer(local: localAddress, remote: remoteAddress, candidatePIDs: candidatePIDs))
            } catch {
                counters.bump(.peerLookupFailures)
                result = .failure(error)
            }
            cached = result
            return result
        }
        return try result.get()
    }

    public var description: String { "connection \(id) \(remoteAddress) -> \(localAddress)" }
}
