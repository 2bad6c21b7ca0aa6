// SPDX-License-Identifier: Apache-2.0
import CVigilBPF
import Testing
import VigilCore

/// The Swift decoder's kinds and offsets (VigilCore's EventABI.swift) against the C header the BPF
/// programs are compiled with.
@Suite struct ABILayoutTests {
    @Test func recordSizesMatchTheCHeader() {
        #expect(MemoryLayout<vigil_event_header>.size == EventLayout.headerSize)
        #expect(MemoryLayout<vigil_exec_event>.size == EventLayout.execFixedSize)
        #expect(MemoryLayout<vigil_fork_event>.size == EventLayout.forkSize)
        #expect(MemoryLayout<vigil_exit_event>.size == EventLayout.exitSize)
        #expect(MemoryLayout<vigil_open_event>.size == EventLayout.openFixedSize)
        #expect(MemoryLayout<vigil_net_event>.size == EventLayout.netSize)
    }

    @Test func fieldOffsetsMatchTheCHeader() {
        #expect(MemoryLayout<vigil_event_header>.offset(of: \.session) == 24)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.path_len) == 72)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_dev) == 56)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_size) == 80)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_mtime_sec) == 88)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_ctime_sec) == 96)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_mtime_nsec) == 104)
        #expect(MemoryLayout<vigil_exec_event>.offset(of: \.exe_ctime_nsec) == 108)
        #expect(VIGIL_F_EXE_STAT.rawValue == EventFlags.exeStat.rawValue)
        #expect(MemoryLayout<vigil_open_event>.offset(of: \.path_len) == 48)
        #expect(MemoryLayout<vigil_open_event>.offset(of: \.flags) == 40)
        #expect(MemoryLayout<vigil_net_event>.offset(of: \.family) == 40)
        #expect(MemoryLayout<vigil_net_event>.offset(of: \.unix_path) == EventLayout.unixPathOffset)
        #expect(Int(VIGIL_UNIX_PATH_MAX) == EventLayout.unixPathMax)
        #expect(VIGIL_EVENT_EXEC.rawValue == 1 && VIGIL_EVENT_SEND.rawValue == 6)
    }

    /// Every field the decoder names, by the name it has in vigil_abi.h. The record's header is
    /// at 0 in every body.
    static let swiftFields: [String: Int] = [
        "vigil_event_header.kind": EventLayout.Header.kind,
        "vigil_event_header.flags": EventLayout.Header.flags,
        "vigil_event_header.size": EventLayout.Header.recordSize,
        "vigil_event_header.ktime_ns": EventLayout.Header.ktimeNs,
        "vigil_event_header.pid": EventLayout.Header.pid,
        "vigil_event_header.tid": EventLayout.Header.tid,
        "vigil_event_header.session": EventLayout.Header.session,

        "vigil_exec_event.hdr": 0,
        "vigil_exec_event.ppid": EventLayout.Exec.ppid,
        "vigil_exec_event.uid": EventLayout.Exec.uid,
        "vigil_exec_event.gid": EventLayout.Exec.gid,
        "vigil_exec_event.old_tid": EventLayout.Exec.oldTid,
        "vigil_exec_event.cgroup_id": EventLayout.Exec.cgroupID,
        "vigil_exec_event.exe_dev": EventLayout.Exec.exeDevice,
        "vigil_exec_event.exe_ino": EventLayout.Exec.exeInode,
        "vigil_exec_event.path_len": EventLayout.Exec.pathLength,
        "vigil_exec_event.argv_len": EventLayout.Exec.argvLength,
        "vigil_exec_event.argc": EventLayout.Exec.argc,
        "vigil_exec_event.exe_size": EventLayout.Exec.exeSize,
        "vigil_exec_event.exe_mtime_sec": EventLayout.Exec.exeMtimeSec,
        "vigil_exec_event.exe_ctime_sec": EventLayout.Exec.exeCtimeSec,
        "vigil_exec_event.exe_mtime_nsec": EventLayout.Exec.exeMtimeNsec,
        "vigil_exec_event.exe_ctime_nsec": EventLayout.Exec.exeCtimeNsec,

        "vigil_fork_event.hdr": 0,
        "vigil_fork_event.child_pid": EventLayout.Fork.childPID,
        "vigil_fork_event.pad": EventLayout.Fork.pad,

        "vigil_exit_event.hdr": 0,
        "vigil_exit_event.exit_code": EventLayout.Exit.exitCode,
        "vigil_exit_event.pad": EventLayout.Exit.pad,

        "vigil_open_event.hdr": 0,
        "vigil_open_event.result": EventLayout.Open.result,
        "vigil_open_event.flags": EventLayout.Open.flags,
        "vigil_open_event.mode": EventLayout.Open.mode,
        "vigil_open_event.path_len": EventLayout.Open.pathLength,
        "vigil_open_event.base_len": EventLayout.Open.baseLength,
        "vigil_open_event.pad": EventLayout.Open.pad,

        "vigil_net_event.hdr": 0,
        "vigil_net_event.result": EventLayout.Net.result,
        "vigil_net_event.family": EventLayout.Net.family,
        "vigil_net_event.port": EventLayout.Net.port,
        "vigil_net_event.peer_pid": EventLayout.Net.peerPID,
        "vigil_net_event.addr": EventLayout.Net.address,
        "vigil_net_event.unix_path": EventLayout.Net.unixPath,
        "vigil_net_event.pad_end": EventLayout.Net.padEnd,
        "vigil_net_event.peer_cgroup": EventLayout.Net.peerCgroup,
        "vigil_net_event.peer_ino": EventLayout.Net.peerInode,

        "vigil_proc_access_event.hdr": 0,
        "vigil_proc_access_event.call": EventLayout.ProcAccess.call,
        "vigil_proc_access_event.pad": EventLayout.ProcAccess.pad,
        "vigil_proc_access_event.target_pid": EventLayout.ProcAccess.targetPID,
        "vigil_proc_access_event.request": EventLayout.ProcAccess.request,
        "vigil_proc_access_event.arg": EventLayout.ProcAccess.arg,
        "vigil_proc_access_event.target_session": EventLayout.ProcAccess.targetSession,
    ]

    static let swiftSizes: [String: Int] = [
        "vigil_event_header": EventLayout.Header.size, "vigil_exec_event": EventLayout.Exec.size,
        "vigil_fork_event": EventLayout.Fork.size, "vigil_exit_event": EventLayout.Exit.size,
        "vigil_open_event": EventLayout.Open.size, "vigil_net_event": EventLayout.Net.size,
        "vigil_proc_access_event": EventLayout.ProcAccess.size,
    ]

    struct CField {
        var record: String, field: String, offset: Int, size: Int, recordSize: Int
        var key: String { record + "." + field }
    }

    /// The table abi_check.c builds with offsetof and sizeof.
    static var cFields: [CField] {
        var count = 0
        let table = vigil_abi_fields(&count)
        return (0..<count).map { i in
            let f = table[i]
            return CField(
                record: String(cString: f.record), field: String(cString: f.field), offset: Int(f.offset),
                size: Int(f.size), recordSize: Int(f.record_size))
        }
    }

    /// Each C field has a Swift offset, equal to C's; each Swift offset names a C field.
    @Test func everyFieldOffsetMatchesTheCLayoutByName() {
        let c = Self.cFields
        #expect(c.count == Self.swiftFields.count)
        for f in c {
            #expect(
                Self.swiftFields[f.key] == f.offset, "\(f.key): C says \(f.offset), Swift \(Self.swiftFields[f.key].map(String.init) ?? "nothing")")
            #expect(Self.swiftSizes[f.record] == f.recordSize, "\(f.record): C size \(f.recordSize)")
        }
        let cKeys = Set(c.map(\.key))
        for key in Self.swiftFields.keys {
            #expect(cKeys.contains(key), "\(key) is not a field of vigil_abi.h")
        }
        #expect(Set(c.map(\.record)) == Set(Self.swiftSizes.keys))
    }

    /// Each field starts where the one before it ends, and the last ends the record: no padding
    /// the compiler added, so writing the fields one after another (as the tests and the
    /// benchmark's synthetic records do) gives the kernel's layout.
    @Test func recordsHaveNoImplicitPadding() {
        for (record, fields) in Dictionary(grouping: Self.cFields, by: \.record) {
            var end = 0
            for f in fields.sorted(by: { $0.offset < $1.offset }) {
                #expect(f.offset == end, "\(f.key) at \(f.offset), the field before ends at \(end)")
                end = f.offset + f.size
            }
            #expect(end == fields[0].recordSize, "\(record) ends at \(end), sizeof is \(fields[0].recordSize)")
        }
    }

    @Test func kindNumbersAndFlagsMatchTheCHeader() {
        let c: [EventKind: vigil_event_kind] = [
            .exec: VIGIL_EVENT_EXEC, .fork: VIGIL_EVENT_FORK, .exit: VIGIL_EVENT_EXIT, .open: VIGIL_EVENT_OPEN,
            .connect: VIGIL_EVENT_CONNECT, .send: VIGIL_EVENT_SEND, .procAccess: VIGIL_EVENT_PROC_ACCESS,
        ]
        #expect(c.count == EventKind.allCases.count)
        for kind in EventKind.allCases {
            #expect(c[kind]?.rawValue == UInt32(kind.rawValue), "\(kind)")
        }
        #expect(EventKind.limit == Int(VIGIL_EVENT_KIND_MAX.rawValue))
        #expect(EventKind.allCases.map { Int($0.rawValue) }.max()! < EventKind.limit)

        let flags: [(EventFlags, vigil_event_flag)] = [
            (.pathTruncated, VIGIL_F_PATH_TRUNCATED), (.argvTruncated, VIGIL_F_ARGV_TRUNCATED), (.ioUring, VIGIL_F_IO_URING),
            (.compat, VIGIL_F_COMPAT), (.pathFromFile, VIGIL_F_PATH_FROM_FILE), (.pathUnresolved, VIGIL_F_PATH_UNRESOLVED),
            (.untracked, VIGIL_F_UNTRACKED), (.exeUnlinked, VIGIL_F_EXE_UNLINKED), (.killed, VIGIL_F_KILLED),
            (.spared, VIGIL_F_SPARED), (.exeStat, VIGIL_F_EXE_STAT), (.targetUnresolved, VIGIL_F_TARGET_UNRESOLVED),
        ]
        for (swift, c) in flags {
            #expect(UInt32(swift.rawValue) == c.rawValue, "flag \(c.rawValue)")
        }

        let calls: [ProcessAccessCall: vigil_proc_call] = [
            .ptrace: VIGIL_PROC_PTRACE, .processVMReadv: VIGIL_PROC_VM_READV, .processVMWritev: VIGIL_PROC_VM_WRITEV,
            .pidfdGetfd: VIGIL_PROC_PIDFD_GETFD,
        ]
        #expect(calls.count == ProcessAccessCall.allCases.count)
        for call in ProcessAccessCall.allCases {
            #expect(calls[call]?.rawValue == UInt32(call.rawValue), "\(call)")
        }
    }
}
