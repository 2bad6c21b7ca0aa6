// SPDX-License-Identifier: Apache-2.0
// The kernel <-> user-space record ABI (bpf/include/vigil_abi.h), named once for Swift: kind
// numbers, record sizes and every field's byte offset. vigil_abi.h asserts the same numbers
// with _Static_assert(offsetof…); the sensor's ABILayoutTests check every field here against
// the C structs as compiled, so a change on either side fails the build or the tests.

/// `enum vigil_event_kind`. Stable numbers: never reuse or renumber one.
public enum EventKind: UInt16, Sendable, Hashable, CaseIterable {
    case exec = 1
    case fork = 2
    case exit = 3
    case open = 4
    case connect = 5
    case send = 6
    case procAccess = 7

    /// `VIGIL_EVENT_KIND_MAX`: one past the highest kind (the per-kind counters' stride).
    public static let limit = 8

    /// The name counters and renderers use.
    public var name: String {
        switch self {
        case .exec: "exec"
        case .fork: "fork"
        case .exit: "exit"
        case .open: "open"
        case .connect: "connect"
        case .send: "send"
        case .procAccess: "proc_access"
        }
    }
}

/// Sizes and byte offsets of the records (`struct vigil_*_event`), field by field.
public enum EventLayout {
    public static let headerSize = Header.size
    public static let execFixedSize = Exec.size
    public static let forkSize = Fork.size
    public static let exitSize = Exit.size
    public static let openFixedSize = Open.size
    public static let netSize = Net.size
    public static let unixPathOffset = Net.unixPath
    public static let unixPathMax = Net.unixPathMax

    /// `struct vigil_event_header`, at the start of every record.
    public enum Header {
        public static let kind = 0  // u16
        public static let flags = 2  // u16
        public static let recordSize = 4  // u32: header + body + tail
        public static let ktimeNs = 8  // u64
        public static let pid = 16  // u32
        public static let tid = 20  // u32
        public static let session = 24  // u64
        public static let size = 32
    }

    /// `struct vigil_exec_event`; tail: path[pathLength] then argv[argvLength].
    public enum Exec {
        public static let ppid = 32  // u32
        public static let uid = 36  // u32
        public static let gid = 40  // u32
        public static let oldTid = 44  // u32
        public static let cgroupID = 48  // u64
        public static let exeDevice = 56  // u64, kernel dev_t
        public static let exeInode = 64  // u64
        public static let pathLength = 72  // u16
        public static let argvLength = 74  // u16
        public static let argc = 76  // u32
        public static let exeSize = 80  // s64
        public static let exeMtimeSec = 88  // s64
        public static let exeCtimeSec = 96  // s64
        public static let exeMtimeNsec = 104  // u32
        public static let exeCtimeNsec = 108  // u32
        public static let size = 112
    }

    /// `struct vigil_fork_event`.
    public enum Fork {
        public static let childPID = 32  // u32
        public static let pad = 36  // u32
        public static let size = 40
    }

    /// `struct vigil_exit_event`.
    public enum Exit {
        public static let exitCode = 32  // u32: (status << 8) | signal
        public static let pad = 36  // u32
        public static let size = 40
    }

    /// `struct vigil_open_event`; tail: path[pathLength] then base[baseLength].
    public enum Open {
        public static let result = 32  // s64
        public static let flags = 40  // u32
        public static let mode = 44  // u32
        public static let pathLength = 48  // u16
        public static let baseLength = 50  // u16
        public static let pad = 52  // u32
        public static let size = 56
    }

    /// `struct vigil_net_event` (connect and send).
    public enum Net {
        public static let result = 32  // s64
        public static let family = 40  // u16
        public static let port = 42  // u16, host order
        public static let peerPID = 44  // u32, AF_UNIX crossings
        public static let address = 48  // u8[16]
        public static let unixPath = 64  // char[unixPathMax]
        public static let unixPathMax = 108
        public static let padEnd = 172  // u32
        public static let peerCgroup = 176  // u64, with .peerOutside
        public static let peerInode = 184  // u64, with .peerOutside
        public static let size = 192
    }

    /// `struct vigil_proc_access_event`.
    public enum ProcAccess {
        public static let call = 32  // u16, enum vigil_proc_call
        public static let pad = 34  // u16
        public static let targetPID = 36  // s32
        public static let request = 40  // s64
        public static let arg = 48  // s64
        public static let targetSession = 56  // u64
        public static let size = 64
    }
}
