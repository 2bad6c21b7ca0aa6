// SPDX-License-Identifier: Apache-2.0
// What a thread blocked in a fanotify permission event was doing: its thread group, whether its open may
// write, and for an exec the file name and argv it passed. Read from /proc/<tid>/syscall and /proc/<tid>/mem
// while the thread waits for our answer (its memory cannot change under us: the thread is in the kernel,
// and during execve the old image is intact until long after the open of the executable).

import Glibc
import VigilHost

/// The system call a blocked thread is in, and what its arguments say.
struct BlockedCall: Sendable, Equatable {
    typealias Access = OpenAccess

    var access: Access = .unknown
    /// execve/execveat only: the path as passed (may be a symlink or a bare name), and argv.
    var execPath: String?
    var argv: [String]?

    /// open/openat/creat/openat2 and execve/execveat, in the x86_64 and i386 (compat) tables. A thread in a
    /// permission event is inside an open, so a number that means something else in the other table (5 is
    /// fstat on x86_64, open on i386) cannot be ambiguous here.
    static func parse(syscallLine line: String, memory: (_ address: UInt64, _ count: Int) -> [UInt8]?) -> BlockedCall {
        let fields = line.split(separator: " ")
        guard fields.count >= 7, let number = Int(fields[0]) else { return BlockedCall() }
        let args = fields[1...6].map { UInt64($0.dropFirst(2), radix: 16) ?? 0 }
        var call = BlockedCall()
        switch number {
        case 2, 5: call.access = access(flags: args[1])  // open (x86_64, i386)
        case 257, 295: call.access = access(flags: args[2])  // openat
        case 85, 8: call.access = .write  // creat
        case 437:  // openat2: flags are the first u64 of struct open_how
            if let bytes = memory(args[2], 8), bytes.count == 8 {
                call.access = access(flags: bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            }
        case 59: call.readExec(path: args[0], argv: args[1], pointerSize: 8, memory: memory)
        case 322: call.readExec(path: args[1], argv: args[2], pointerSize: 8, memory: memory)
        case 11: call.readExec(path: args[0], argv: args[1], pointerSize: 4, memory: memory)
        case 358: call.readExec(path: args[1], argv: args[2], pointerSize: 4, memory: memory)
        default: break
        }
        return call
    }

    /// As the sensor's `isWrite`: write access, O_CREAT or O_TRUNC.
    static func access(flags: UInt64) -> Access {
        flags & 0o3 != 0 || flags & 0o100 != 0 || flags & 0o1000 != 0 ? .write : .read
    }

    static let maxArguments = 64
    static let maxStringBytes = 4096

    private mutating func readExec(
        path: UInt64, argv pointer: UInt64, pointerSize: Int, memory: (UInt64, Int) -> [UInt8]?
    ) {
        access = .read
        execPath = BlockedCall.string(at: path, memory: memory)
        guard pointer != 0, let table = memory(pointer, BlockedCall.maxArguments * pointerSize) else { return }
        var arguments: [String] = []
        for index in 0..<(table.count / pointerSize) {
            let offset = index * pointerSize
            let address: UInt64 = table.withUnsafeBytes { raw in
                pointerSize == 8
                    ? raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                    : UInt64(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            }
            if address == 0 { break }
            guard let argument = BlockedCall.string(at: address, memory: memory) else { return }
            arguments.append(argument)
        }
        argv = arguments
    }

    /// A NUL-terminated string, read in page-bounded chunks so a read never crosses into an unmapped page.
    private static func string(at address: UInt64, memory: (UInt64, Int) -> [UInt8]?) -> String? {
        guard address != 0 else { return nil }
        var bytes: [UInt8] = []
        var cursor = address
        while bytes.count < maxStringBytes {
            let toPageEnd = Int(4096 - cursor % 4096)
            guard let chunk = memory(cursor, toPageEnd), !chunk.isEmpty else { return nil }
            if let end = chunk.firstIndex(of: 0) {
                bytes.append(contentsOf: chunk[..<end])
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.append(contentsOf: chunk)
            cursor += UInt64(chunk.count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads the blocked call of a live thread.
    static func read(tid: Int32) -> BlockedCall {
        guard let line = readSmallFile("/proc/\(tid)/syscall") else { return BlockedCall() }
        var memFD: Int32 = -2
        defer { if memFD >= 0 { close(memFD) } }
        return parse(syscallLine: line.trimmingSet("\n")) { address, count in
            if memFD == -2 { memFD = open("/proc/\(tid)/mem", O_RDONLY | O_CLOEXEC) }
            guard memFD >= 0, count > 0 else { return nil }
            var bytes = [UInt8](repeating: 0, count: count)
            let got = bytes.withUnsafeMutableBytes { pread(memFD, $0.baseAddress, count, off_t(Int64(bitPattern: address))) }
            guard got > 0 else { return nil }
            return Array(bytes[0..<got])
        }
    }

    /// The thread group of a thread (`Tgid:` in /proc/<tid>/status), or nil when it is gone.
    static func threadGroup(of tid: Int32) -> Int32? {
        ProcStatus.number("Tgid", of: tid).flatMap { Int32(exactly: $0) }
    }
}

extension StringProtocol {
    func trimmingSet(_ set: String) -> String {
        let characters = Set(set)
        let start = firstIndex { !characters.contains($0) } ?? endIndex
        let end = lastIndex { !characters.contains($0) }.map { index(after: $0) } ?? start
        return String(self[start..<end])
    }
}
