// SPDX-License-Identifier: Apache-2.0
// The Linux calls Glibc's Swift module does not import: fanotify (no <sys/fanotify.h> in SwiftGlibc.h),
// and `syscall(2)` (variadic, so not imported). Each is resolved once from the C library with dlsym.
// Constants are from <linux/fanotify.h>; the metadata layout is checked against FAN_EVENT_METADATA_LEN.

import Glibc

enum Fanotify {
    // fanotify_init flags.
    static let cloexec: UInt32 = 0x0000_0001
    static let nonblock: UInt32 = 0x0000_0002
    static let classContent: UInt32 = 0x0000_0004
    static let unlimitedQueue: UInt32 = 0x0000_0010
    static let unlimitedMarks: UInt32 = 0x0000_0020
    static let reportTID: UInt32 = 0x0000_0100
    static let classNotify: UInt32 = 0x0000_0000
    /// FAN_REPORT_DIR_FID | FAN_REPORT_NAME: what directory-entry events (FAN_CREATE…) require.
    static let reportDirFIDName: UInt32 = 0x0000_0400 | 0x0000_0800

    // Event bits.
    static let openPerm: UInt64 = 0x0001_0000
    static let accessPerm: UInt64 = 0x0002_0000
    static let openExecPerm: UInt64 = 0x0004_0000
    static let queueOverflow: UInt64 = 0x0000_4000
    static let movedTo: UInt64 = 0x0000_0080
    static let create: UInt64 = 0x0000_0100
    static let eventOnChild: UInt64 = 0x0800_0000
    static let onDirectory: UInt64 = 0x4000_0000
    static let permissionEvents: UInt64 = openPerm | accessPerm | openExecPerm

    // fanotify_mark flags.
    static let markAdd: UInt32 = 0x0000_0001
    static let markRemove: UInt32 = 0x0000_0002
    static let markDontFollow: UInt32 = 0x0000_0004
    static let markOnlyDirectory: UInt32 = 0x0000_0008
    static let markFlush: UInt32 = 0x0000_0080

    // Responses.
    static let allow: UInt32 = 0x01
    static let deny: UInt32 = 0x02

    /// O_LARGEFILE for the event fds (Swift's Glibc does not export it).
    #if arch(arm64)
        static let largeFile: UInt32 = 0o400000
    #else
        static let largeFile: UInt32 = 0o100000
    #endif

    static let metadataVersion: UInt8 = 3
    static let metadataLength = 24
    static let noFD: Int32 = -1
}

/// `struct fanotify_event_metadata`, read field by field (the buffer is not guaranteed to be aligned to 8
/// for Swift's purposes, so loads are unaligned).
struct FanotifyEventMetadata {
    var eventLength: UInt32
    var version: UInt8
    var metadataLength: UInt16
    var mask: UInt64
    var fd: Int32
    var pid: Int32

    init(_ buffer: UnsafeRawBufferPointer, at offset: Int) {
        eventLength = buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        version = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt8.self)
        metadataLength = buffer.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self)
        mask = buffer.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
        fd = buffer.loadUnaligned(fromByteOffset: offset + 16, as: Int32.self)
        pid = buffer.loadUnaligned(fromByteOffset: offset + 20, as: Int32.self)
    }
}

/// The C library entry points, resolved once. A missing symbol is a nil function: callers report ENOSYS.
enum LinuxCalls {
    private typealias InitFunction = @convention(c) (UInt32, UInt32) -> Int32
    private typealias MarkFunction = @convention(c) (Int32, UInt32, UInt64, Int32, UnsafePointer<CChar>?) -> Int32
    /// `long syscall(long, ...)` called with five integer arguments. On x86_64 and aarch64 a variadic
    /// callee that only moves registers (glibc's `syscall` is assembly) is ABI-compatible with this.
    private typealias SyscallFunction = @convention(c) (Int, Int, Int, Int, Int) -> Int

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: type)
    }

    private static let initFunction = symbol("fanotify_init", as: InitFunction.self)
    private static let markFunction = symbol("fanotify_mark", as: MarkFunction.self)
    private static let syscallFunction = symbol("syscall", as: SyscallFunction.self)

    /// fanotify_init(2): the new fd, or -1 with errno set.
    static func fanotifyInit(flags: UInt32, eventFlags: UInt32) -> Int32 {
        guard let initFunction else { errno = ENOSYS; return -1 }
        return initFunction(flags, eventFlags)
    }

    /// fanotify_mark(2) on a path (AT_FDCWD): 0, or -1 with errno set.
    static func fanotifyMark(_ fd: Int32, flags: UInt32, mask: UInt64, path: String?) -> Int32 {
        guard let markFunction else { errno = ENOSYS; return -1 }
        guard let path else { return markFunction(fd, flags, mask, AT_FDCWD, nil) }
        return path.withCString { markFunction(fd, flags, mask, AT_FDCWD, $0) }
    }

    /// syscall(2) with up to four integer arguments: the result, or -1 with errno set.
    static func syscall(_ number: Int, _ a: Int = 0, _ b: Int = 0, _ c: Int = 0, _ d: Int = 0) -> Int {
        guard let syscallFunction else { errno = ENOSYS; return -1 }
        return syscallFunction(number, a, b, c, d)
    }

    static let pidfdSendSignal = 424
    static let pidfdOpen = 434
}

/// The text of a small file (procfs), or nil. One read: procfs files of interest fit in the buffer.
func readSmallFile(_ path: String, limit: Int = 4096) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: limit)
    let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, limit) }
    guard count >= 0 else { return nil }
    return String(decoding: bytes[0..<count], as: UTF8.self)
}

/// readlink(2) into a String, or nil.
func readLink(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink(path, &buffer, Int(PATH_MAX))
    guard count >= 0 else { return nil }
    return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
