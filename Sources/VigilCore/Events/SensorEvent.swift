// SPDX-License-Identifier: Apache-2.0
// Typed kernel events, as decoded from the sensor's ring-buffer records (bpf/include/vigil_abi.h).

/// A session: a process tree Vigil tracks, tagged in the kernel at fork time.
public typealias SessionID = UInt64

/// What every event carries.
public struct EventHeader: Sendable, Hashable {
    /// CLOCK_MONOTONIC nanoseconds, as `bpf_ktime_get_ns()`.
    public var ktimeNanoseconds: UInt64
    /// Thread-group id.
    public var pid: Int32
    public var tid: Int32
    /// 0 when the process is outside every session.
    public var session: SessionID
    public var flags: EventFlags

    public init(ktimeNanoseconds: UInt64, pid: Int32, tid: Int32, session: SessionID, flags: EventFlags = []) {
        self.ktimeNanoseconds = ktimeNanoseconds
        self.pid = pid
        self.tid = tid
        self.session = session
        self.flags = flags
    }
}

/// Header flags; the raw values are the ABI's `VIGIL_F_*`.
public struct EventFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let pathTruncated = EventFlags(rawValue: 1 << 0)
    public static let argvTruncated = EventFlags(rawValue: 1 << 1)
    public static let ioUring = EventFlags(rawValue: 1 << 2)
    public static let compat = EventFlags(rawValue: 1 << 3)
    public static let pathFromFile = EventFlags(rawValue: 1 << 4)
    public static let pathUnresolved = EventFlags(rawValue: 1 << 5)
    public static let untracked = EventFlags(rawValue: 1 << 6)
    public static let exeUnlinked = EventFlags(rawValue: 1 << 7)
    public static let killed = EventFlags(rawValue: 1 << 8)
    public static let spared = EventFlags(rawValue: 1 << 9)
    public static let exeStat = EventFlags(rawValue: 1 << 10)
    public static let targetUnresolved = EventFlags(rawValue: 1 << 11)
    /// Connect/send: a local socket outside the session is bound to the destination (a crossing).
    public static let peerOutside = EventFlags(rawValue: 1 << 12)
    /// ... and the session boundary refused it (EPERM).
    public static let peerRefused = EventFlags(rawValue: 1 << 13)
    /// Open: the file opened is a FIFO (a named pipe).
    public static let fifo = EventFlags(rawValue: 1 << 14)
}

/// What identifies an executable's content while it is unchanged: the key of the hash cache.
/// ctime is part of it because it cannot be set back: a file rewritten with its old size and
/// mtime restored (utimensat) still gets a new ctime.
public struct FileIdentity: Sendable, Hashable {
    /// User-space `st_dev` encoding.
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    public var mtimeSeconds: Int64
    public var mtimeNanoseconds: Int64
    public var ctimeSeconds: Int64
    public var ctimeNanoseconds: Int64

    public init(
        device: UInt64, inode: UInt64, size: Int64, mtimeSeconds: Int64, mtimeNanoseconds: Int64,
        ctimeSeconds: Int64, ctimeNanoseconds: Int64
    ) {
        self.device = device
        self.inode = inode
        self.size = size
        self.mtimeSeconds = mtimeSeconds
        self.mtimeNanoseconds = mtimeNanoseconds
        self.ctimeSeconds = ctimeSeconds
        self.ctimeNanoseconds = ctimeNanoseconds
    }
}

public struct ExecEvent: Sendable, Hashable {
    public var header: EventHeader
    public var ppid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var cgroupID: UInt64
    /// The executable's device (user-space `st_dev` encoding) and inode.
    public var exeDevice: UInt64
    public var exeInode: UInt64
    /// The kernel-resolved path of the executed file.
    public var path: String
    public var argv: [String]
    /// The executed inode as the kernel saw it at exec (nil on kernels without the fields).
    public var exeIdentity: FileIdentity? = nil
}

public struct ForkEvent: Sendable, Hashable {
    public var header: EventHeader
    public var childPID: Int32
}

public struct ExitEvent: Sendable, Hashable {
    public var header: EventHeader
    /// Kernel encoding: `(status << 8) | signal`.
    public var rawCode: UInt32
    public var exitStatus: Int32? { rawCode & 0x7f == 0 ? Int32((rawCode >> 8) & 0xff) : nil }
    public var signal: Int32? { rawCode & 0x7f != 0 ? Int32(rawCode & 0x7f) : nil }
}

public struct OpenEvent: Sendable, Hashable {
    public var header: EventHeader
    /// Absolute path (resolved from the kernel's `struct file` when the open succeeded).
    public var path: String
    public var flags: UInt32
    public var mode: UInt32
    /// The fd, or a negative errno.
    public var result: Int64

    public var isWrite: Bool { flags & 0o3 != 0 || flags & 0o100 != 0 || flags & 0o1000 != 0 }
}

public enum AddressFamily: UInt16, Sendable, Hashable {
    case unix = 1
    case inet = 2
    case inet6 = 10
}

public struct NetworkEvent: Sendable, Hashable {
    public var header: EventHeader
    public var family: AddressFamily?
    /// IPv4/IPv6 literal, or the AF_UNIX path (`@name` for the abstract namespace).
    public var address: String
    public var port: UInt16
    /// 0 or -errno (connect); bytes or -errno (send).
    public var result: Int64
    /// With `.peerOutside`: the cgroup id and the socket inode (`socket:[N]`) of the local socket
    /// the destination is bound to, outside the session; 0 otherwise.
    public var peerCgroup: UInt64 = 0
    public var peerInode: UInt64 = 0
    /// With `.peerOutside` on an AF_UNIX connect: the pid that owns the listener (SO_PEERCRED); 0 otherwise.
    public var peerPID: Int32 = 0

    public init(
        header: EventHeader, family: AddressFamily?, address: String, port: UInt16, result: Int64,
        peerCgroup: UInt64 = 0, peerInode: UInt64 = 0, peerPID: Int32 = 0
    ) {
        self.peerPID = peerPID
        self.header = header
        self.family = family
        self.address = address
        self.port = port
        self.result = result
        self.peerCgroup = peerCgroup
        self.peerInode = peerInode
    }

    /// The destination is a local process outside the session (loopback TCP/UDP).
    public var crossesBoundary: Bool { header.flags.contains(.peerOutside) }
}

/// `enum vigil_proc_call`: the calls that reach into another process.
public enum ProcessAccessCall: UInt16, Sendable, Hashable, CaseIterable {
    case ptrace = 1
    case processVMReadv = 2
    case processVMWritev = 3
    case pidfdGetfd = 4

    /// The syscall's name.
    public var name: String {
        switch self {
        case .ptrace: "ptrace"
        case .processVMReadv: "process_vm_readv"
        case .processVMWritev: "process_vm_writev"
        case .pidfdGetfd: "pidfd_getfd"
        }
    }
}

/// A session process reached into another one: ptrace, process_vm_readv/writev or pidfd_getfd on
/// a process outside its session (the caller was SIGKILLed at syscall entry: `.killed`), or an
/// attach inside it (allowed).
public struct ProcessAccessEvent: Sendable, Hashable {
    public var header: EventHeader
    /// nil for a number this build does not know.
    public var call: ProcessAccessCall?
    public var rawCall: UInt16
    /// ptrace: the request (PTRACE_ATTACH = 16…); pidfd_getfd: the pidfd; else 0.
    public var request: Int64
    /// ptrace, process_vm_*: the pid as the caller passed it; pidfd_getfd: the fd it asked for.
    public var argument: Int64
    /// The target's thread-group id; 0 when it could not be resolved (`.targetUnresolved`).
    public var targetPID: Int32
    /// The target's session; 0 when it is outside every session.
    public var targetSession: SessionID

    public var killed: Bool { header.flags.contains(.killed) }
    public var callName: String { call?.name ?? "call:\(rawCall)" }

    public init(header: EventHeader, rawCall: UInt16, request: Int64, argument: Int64, targetPID: Int32, targetSession: SessionID) {
        self.header = header
        self.call = ProcessAccessCall(rawValue: rawCall)
        self.rawCall = rawCall
        self.request = request
        self.argument = argument
        self.targetPID = targetPID
        self.targetSession = targetSession
    }

    /// The ptrace request's name (PTRACE_ATTACH…), or its number.
    public var requestName: String? {
        guard call == .ptrace else { return nil }
        switch request {
        case 0: return "PTRACE_TRACEME"
        case 1: return "PTRACE_PEEKTEXT"
        case 2: return "PTRACE_PEEKDATA"
        case 3: return "PTRACE_PEEKUSER"
        case 4: return "PTRACE_POKETEXT"
        case 5: return "PTRACE_POKEDATA"
        case 6: return "PTRACE_POKEUSER"
        case 7: return "PTRACE_CONT"
        case 8: return "PTRACE_KILL"
        case 12: return "PTRACE_GETREGS"
        case 13: return "PTRACE_SETREGS"
        case 16: return "PTRACE_ATTACH"
        case 17: return "PTRACE_DETACH"
        case 0x4206: return "PTRACE_SEIZE"
        default: return "request \(request)"
        }
    }
}

/// Events that were lost: the kernel ring was full, or the consumer queue overflowed.
public struct GapEvent: Sendable, Hashable {
    public enum Cause: String, Sendable { case kernelRingFull = "kernel_ring_full", consumerQueueFull = "consumer_queue_full" }
    public var cause: Cause
    public var lost: UInt64
    public var ktimeNanoseconds: UInt64

    public init(cause: Cause, lost: UInt64, ktimeNanoseconds: UInt64) {
        self.cause = cause
        self.lost = lost
        self.ktimeNanoseconds = ktimeNanoseconds
    }
}

public enum SensorEvent: Sendable, Hashable {
    case exec(ExecEvent)
    case fork(ForkEvent)
    case exit(ExitEvent)
    case open(OpenEvent)
    case connect(NetworkEvent)
    case send(NetworkEvent)
    case procAccess(ProcessAccessEvent)
    case gap(GapEvent)

    /// The ring record kind this event was decoded from; nil for a gap, which the sensor makes itself.
    public var kind: EventKind? {
        switch self {
        case .exec: .exec
        case .fork: .fork
        case .exit: .exit
        case .open: .open
        case .connect: .connect
        case .send: .send
        case .procAccess: .procAccess
        case .gap: nil
        }
    }

    public var kindName: String {
        kind?.name ?? "gap"
    }

    public var header: EventHeader? {
        switch self {
        case .exec(let e): e.header
        case .fork(let e): e.header
        case .exit(let e): e.header
        case .open(let e): e.header
        case .connect(let e), .send(let e): e.header
        case .procAccess(let e): e.header
        case .gap: nil
        }
    }
}
