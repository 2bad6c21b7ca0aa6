// SPDX-License-Identifier: Apache-2.0
// Which process holds a socket inode: each /proc/<pid>/fd/<n> of a process that holds it reads back as
// "socket:[<inode>]". Candidates first (a handful of known pids: microseconds), then all of /proc.

import Glibc

public enum SocketOwners {
    /// The first process found holding `socket:[inode]`: `candidatePIDs` in order, then every pid in /proc.
    /// nil if none does (it exited, closed the socket, or is invisible in this pid namespace).
    public static func pid(holdingSocketInode inode: UInt64, candidatePIDs: [Int32] = []) -> Int32? {
        let target = Array("socket:[\(inode)]".utf8)
        for pid in candidatePIDs where pid > 0 && holds(pid: pid, target: target) {
            return pid
        }
        return scanAll(target: target, skipping: candidatePIDs)
    }

    /// Only the candidates (the fast path alone), for callers and measurements that want no full scan.
    public static func pid(holdingSocketInode inode: UInt64, among candidatePIDs: [Int32]) -> Int32? {
        let target = Array("socket:[\(inode)]".utf8)
        return candidatePIDs.first { $0 > 0 && holds(pid: $0, target: target) }
    }

    private static func scanAll(target: [UInt8], skipping: [Int32]) -> Int32? {
        guard let proc = opendir("/proc") else { return nil }
        defer { closedir(proc) }
        while let entry = readdir(proc) {
            let pid = decimal(entry.pointee.d_name)
            guard let pid, !skipping.contains(pid) else { continue }
            if holds(pid: pid, target: target) { return pid }
        }
        return nil
    }

    /// Whether any fd of `pid` links to `target`. Unreadable or vanished processes simply do not match.
    /// Highest fd numbers first: a connection the client just opened is usually among its newest fds, and
    /// each readlink costs a few microseconds.
    static func holds(pid: Int32, target: [UInt8]) -> Bool {
        guard let directory = opendir("/proc/\(pid)/fd") else { return false }
        defer { closedir(directory) }
        var fds: [Int32] = []
        while let entry = readdir(directory) {
            if let fd = decimal(entry.pointee.d_name) { fds.append(fd) }
        }
        fds.sort(by: >)
        let directoryFD = dirfd(directory)
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 80) { buffer in
            let name = buffer.baseAddress!
            let link = buffer.baseAddress! + 16
            for fd in fds {
                format(fd, into: name)
                let length = readlinkat(directoryFD, name, link, 64)
                if length == target.count && memcmp(link, target, target.count) == 0 { return true }
            }
            return false
        }
    }

    /// A directory entry name that is a positive decimal number (a pid or an fd), else nil.
    private static func decimal<Name>(_ name: Name) -> Int32? {
        withUnsafeBytes(of: name) { bytes in
            var value: Int32 = 0
            var digits = 0
            for byte in bytes {
                if byte == 0 { break }
                guard byte >= 0x30 && byte <= 0x39, value < Int32.max / 10 - 9 else { return nil }
                value = value * 10 + Int32(byte - 0x30)
                digits += 1
            }
            return digits > 0 ? value : nil
        }
    }

    /// Writes `value` as a NUL-terminated decimal (at most 11 bytes for an Int32).
    private static func format(_ value: Int32, into buffer: UnsafeMutablePointer<CChar>) {
        var digits: [CChar] = []
        var rest = value
        repeat {
            digits.append(CChar(0x30 + rest % 10))
            rest /= 10
        } while rest > 0
        for (index, digit) in digits.reversed().enumerated() { buffer[index] = digit }
        buffer[digits.count] = 0
    }
}
