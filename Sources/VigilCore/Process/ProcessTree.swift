// SPDX-License-Identifier: Apache-2.0
// The process tree rebuilt from fork/exec/exit events, seeded from /proc. Pure: the sensor feeds
// it events; it never reads the system itself.

public struct ProcessNode: Sendable, Hashable {
    public var pid: Int32
    /// The parent at fork time (kept when the process is later reparented: that is the ancestry
    /// that explains who started it).
    public var ppid: Int32
    public var session: SessionID
    public var exePath: String
    public var argv: [String]
    public var uid: UInt32
    public var exeDevice: UInt64
    public var exeInode: UInt64
    /// Hex SHA-256 of the executable, once the sensor has hashed it.
    public var exeSHA256: String?
    /// Why the sensor could not hash this image (no readable exe, as for pid 1 in some
    /// containers): not retried at every exec below it, only once the process execs again.
    public var exeHashError: String?
    public var startKtime: UInt64
    public var exited: Bool

    public init(
        pid: Int32, ppid: Int32, session: SessionID = 0, exePath: String = "", argv: [String] = [],
        uid: UInt32 = 0, exeDevice: UInt64 = 0, exeInode: UInt64 = 0, exeSHA256: String? = nil,
        startKtime: UInt64 = 0, exited: Bool = false
    ) {
        self.pid = pid
        self.ppid = ppid
        self.session = session
        self.exePath = exePath
        self.argv = argv
        self.uid = uid
        self.exeDevice = exeDevice
        self.exeInode = exeInode
        self.exeSHA256 = exeSHA256
        self.startKtime = startKtime
        self.exited = exited
    }
}

extension ProcessNode {
    /// The sensor tried and could not hash this image (`exeHashError` says why).
    public var exeHashUnavailable: Bool { exeHashError != nil }

    /// A live process whose image has not been hashed, nor found unhashable.
    public var needsHash: Bool { exeSHA256 == nil && exeHashError == nil && !exited }

    /// Why the image carries no hash, for the record (nil when it has one): an entry's ancestry
    /// never shows a missing hash without a reason.
    public var exeHashMissingReason: String? {
        guard exeSHA256 == nil else { return nil }
        if let exeHashError { return exeHashError }
        return exited ? "exited before its executable was hashed" : "not hashed yet"
    }
}

public struct ProcessTree: Sendable {
    public private(set) var nodes: [Int32: ProcessNode] = [:]
    /// Live processes per session: a session is over when its set is empty.
    public private(set) var live: [SessionID: Set<Int32>] = [:]
    /// Exited processes kept for ancestry, oldest first; pruned beyond `retainExited`.
    private var exitedOrder: [Int32] = []
    public var retainExited = 16_384

    public init() {}

    public subscript(pid: Int32) -> ProcessNode? { nodes[pid] }

    /// Adds or replaces a process known from outside the event stream (a /proc scan).
    /// A scan knows nothing of sessions: it never takes a live process out of its session.
    public mutating func seed(_ node: ProcessNode) {
        var node = node
        if let old = nodes[node.pid], old.session != 0, !old.exited, node.session == 0 {
            node.session = old.session
        }
        insert(node)
    }

    /// Marks `pid` as the root of `session` (e.g. `vigil trace` spawning a command).
    public mutating func startSession(_ session: SessionID, root pid: Int32, parent: Int32) {
        var node = nodes[pid] ?? ProcessNode(pid: pid, ppid: parent)
        node.session = session
        node.exited = false
        insert(node)
    }

    public mutating func apply(_ event: SensorEvent) {
        switch event {
        case .fork(let e):
            let parent = nodes[e.header.pid]
            var child = ProcessNode(
                pid: e.childPID, ppid: e.header.pid, session: e.header.session,
                exePath: parent?.exePath ?? "", argv: parent?.argv ?? [], uid: parent?.uid ?? 0,
                exeDevice: parent?.exeDevice ?? 0, exeInode: parent?.exeInode ?? 0,
                exeSHA256: parent?.exeSHA256, startKtime: e.header.ktimeNanoseconds)
            child.exeHashError = parent?.exeHashError
            insert(child)
        case .exec(let e):
            var node = nodes[e.header.pid] ?? ProcessNode(pid: e.header.pid, ppid: e.ppid)
            if node.exited { node = ProcessNode(pid: e.header.pid, ppid: e.ppid) }  // pid reuse
            if node.startKtime == 0 { node.startKtime = e.header.ktimeNanoseconds }
            node.session = e.header.session
            node.exePath = e.path
            node.argv = e.argv
            node.uid = e.uid
            if node.exeDevice != e.exeDevice || node.exeInode != e.exeInode { node.exeSHA256 = nil }
            node.exeHashError = nil
            node.exeDevice = e.exeDevice
            node.exeInode = e.exeInode
            insert(node)
        case .exit(let e):
            markExited(e.header.pid)
        case .open, .connect, .send, .procAccess, .gap:
            break
        }
    }

    /// Records that `pid` is gone (an exit event, or a resync that found it missing).
    public mutating func markExited(_ pid: Int32) {
        guard var node = nodes[pid], !node.exited else { return }
        node.exited = true
        nodes[pid] = node
        if node.session != 0 {
            live[node.session]?.remove(pid)
        }
        exitedOrder.append(pid)
        // Pruned a quarter at a time: removing the oldest one per exit would shift the whole
        // array (16 k entries) at every exit of a busy session.
        if exitedOrder.count > retainExited + max(1, retainExited / 4) {
            let drop = exitedOrder.count - retainExited
            for old in exitedOrder.prefix(drop) where nodes[old]?.exited == true {
                nodes[old] = nil
            }
            exitedOrder.removeFirst(drop)
        }
    }

    public mutating func setHash(_ sha256: String, for pid: Int32) {
        nodes[pid]?.exeSHA256 = sha256
        nodes[pid]?.exeHashError = nil
    }

    /// `reason`: why it could not be hashed, as the audit entry will carry it.
    public mutating func setHashUnavailable(for pid: Int32, reason: String) {
        nodes[pid]?.exeHashError = reason
    }

    /// `pid` and its ancestors, nearest first, up to init (or the first unknown parent).
    public func ancestry(of pid: Int32) -> [ProcessNode] {
        var chain: [ProcessNode] = []
        chain.reserveCapacity(16)
        var current = pid
        while let node = nodes[current] {
            chain.append(node)
            if node.ppid == 0 || node.ppid == current { break }
            // A cycle (pid reuse seeded from a stale scan) is cut where it closes. A scan of the
            // chain so far, not a Set: chains are 5–10 deep and this runs for every exec.
            if chain.contains(where: { $0.pid == node.ppid }) { break }
            current = node.ppid
        }
        return chain
    }

    public func liveCount(of session: SessionID) -> Int { live[session]?.count ?? 0 }

    /// The processes in the ancestry of `pids` (themselves included) that need a hash: mostly
    /// processes seeded from /proc, which started before anything watched them exec. Each once.
    public func unhashedAncestry(of pids: some Sequence<Int32>) -> [ProcessNode] {
        var seen = Set<Int32>()
        var found: [ProcessNode] = []
        for pid in pids {
            for node in ancestry(of: pid) where node.needsHash && seen.insert(node.pid).inserted { found.append(node) }
        }
        return found
    }

    private mutating func insert(_ node: ProcessNode) {
        if let old = nodes[node.pid], old.session != 0, old.session != node.session, !old.exited {
            live[old.session]?.remove(node.pid)
        }
        nodes[node.pid] = node
        if node.session != 0 && !node.exited {
            live[node.session, default: []].insert(node.pid)
        }
    }
}

/// Which live processes of a session to mark exited although no exit event said so. Without a
/// loss, a process found gone is marked only if it was already gone at the previous check: one
/// that exited since then usually has its exit event still on the way (in the ring or the
/// queue), and counting it as resynced would report a repair that was not needed. After a loss
/// its exit event may be the one lost, so every gone process is marked at once.
public struct ExitResync: Sendable {
    private var goneAtLastCheck = Set<Int32>()

    public init() {}

    /// `gone`: the session's live processes that no longer exist. Returns those to mark exited.
    public mutating func check(gone: some Collection<Int32>, afterLoss: Bool) -> [Int32] {
        var confirmed: [Int32] = []
        var pending = Set<Int32>()
        for pid in gone {
            if afterLoss || goneAtLastCheck.contains(pid) {
                confirmed.append(pid)
            } else {
                pending.insert(pid)
            }
        }
        goneAtLastCheck = pending
        return confirmed
    }
}
