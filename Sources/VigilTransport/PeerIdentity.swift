// SPDX-License-Identifier: Apache-2.0
// Who is on the other end of a connection. This authenticates hook calls: an event is only as trustworthy
// as the process that sent it, so the kernel's record is used, never anything the client says.
//
//   Unix socket: SO_PEERCRED, recorded by the kernel at connect(2).
//   TCP on loopback: the client's own socket is found by its exact 4-tuple through NETLINK_SOCK_DIAG
//   (uid and inode of that socket), then the process holding that inode in /proc/<pid>/fd.
//
// Limits, stated plainly: a socket can be shared (fork, SCM_RIGHTS); the first process found holding it is
// reported. The pid is a snapshot: a caller that acts on it later should open a pidfd right away.

import Glibc

/// The connecting process of a Unix socket, as the kernel recorded it at connect(2).
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }
}

/// The client end of a loopback TCP connection: the uid that created its socket, the socket's inode, and
/// the process that holds it now (nil if none could be found, e.g. it exited or lives in another pid namespace).
public struct TCPPeer: Sendable, Hashable, CustomStringConvertible {
    public var uid: UInt32
    public var inode: UInt64
    public var pid: Int32?

    public init(uid: UInt32, inode: UInt64, pid: Int32?) {
        self.uid = uid
        self.inode = inode
        self.pid = pid
    }

    public var description: String { "uid \(uid) socket:[\(inode)] pid \(pid.map(String.init) ?? "unknown")" }
}

/// A failed peer lookup, naming the step that failed.
public struct PeerLookupError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Step: Sendable, Hashable {
        /// The connection is not TCP over IP (e.g. `peer(candidatePIDs:)` on a Unix connection).
        case notTCP
        /// getsockopt(SO_PEERCRED) failed.
        case peerCredentials
        /// socket(AF_NETLINK, NETLINK_SOCK_DIAG) failed.
        case netlinkSocket
        /// sending the inet_diag request failed.
        case netlinkSend
        /// no reply, or reading it failed.
        case netlinkReceive
        /// the kernel knows no TCP socket with that 4-tuple (the client closed, or it is not local).
        case noMatchingSocket
        /// the reply did not parse, or described another socket.
        case malformedReply
    }

    public let step: Step
    public let errno: Int32?
    public let message: String

    public init(_ step: Step, errno: Int32? = nil, _ message: String) {
        self.step = step
        self.errno = errno
        self.message = message
    }

    public var description: String {
        guard let errno else { return "peer lookup: \(message)" }
        return "peer lookup: \(message): \(POSIX.describe(errno)) (errno \(errno))"
    }
}

public enum PeerIdentity {
    /// SO_PEERCRED of a connected Unix socket.
    public static func credentials(ofUnixSocket fd: Int32) throws(PeerLookupError) -> PeerCredentials {
        var credentials = UCred()
        var length = socklen_t(MemoryLayout<UCred>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else {
            throw PeerLookupError(.peerCredentials, errno: errno, "SO_PEERCRED on fd \(fd)")
        }
        return PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
    }

    /// The client process of a TCP connection accepted by this host. `local` and `remote` are the server
    /// side's addresses (getsockname/getpeername of the accepted socket). `candidatePIDs` are searched first
    /// (the daemon knows which processes are Claude Code), then every process in /proc.
    public static func tcpPeer(local: SocketAddress, remote: SocketAddress, candidatePIDs: [Int32] = []) throws(PeerLookupError) -> TCPPeer {
        let socket = try SocketDiag.clientSocket(serverLocal: local, serverRemote: remote)
        let pid = SocketOwners.pid(holdingSocketInode: socket.inode, candidatePIDs: candidatePIDs)
        return TCPPeer(uid: socket.uid, inode: socket.inode, pid: pid)
    }
}
