// SPDX-License-Identifier: Apache-2.0
// Reads the processes that exist now from /proc: to seed the tree at start, to adopt a running
// tree (`vigil trace --pid`), and to resync after events were lost.
import Foundation
import Glibc
import VigilCore

public enum ProcScanner {
    /// Every process visible in `/proc`, with parent, executable and argv.
    public static func scan(procRoot: String = "/proc") -> [ProcessNode] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: procRoot) else { return [] }
        return entries.compactMap { Int32($0) }.compactMap { read(pid: $0, procRoot: procRoot) }
    }

    /// One process, or nil if it is gone.
    public static func read(pid: Int32, procRoot: String = "/proc") -> ProcessNode? {
        let dir = "\(procRoot)/\(pid)"
        guard let statText = try? String(contentsOfFile: dir + "/stat", encoding: .utf8),
            let close = statText.lastIndex(of: ")")
        else { return nil }
        // Fields after "comm)": state ppid pgrp ...; field 22 is the start time in clock ticks.
        let fields = statText[statText.index(after: close)...].split(separator: " ")
        guard fields.count > 20, let ppid = Int32(fields[1]) else { return nil }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: dir + "/exe")) ?? ""
        let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: dir + "/cmdline"))) ?? Data()
        var argv = cmdline.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if argv.last == "" { argv.removeLast() }
        var info = stat_t()
        let uid = stat(dir, &info) == 0 ? info.st_uid : 0
        var exeInfo = stat_t()
        let hasExe = stat(dir + "/exe", &exeInfo) == 0
        return ProcessNode(
            pid: pid, ppid: ppid, exePath: exe, argv: argv, uid: uid,
            exeDevice: hasExe ? UInt64(exeInfo.st_dev) : 0, exeInode: hasExe ? UInt64(exeInfo.st_ino) : 0,
            exited: fields[0] == "Z" || fields[0] == "X")
    }

    /// `root` and all its descendants, by current parent links.
    public static func descendants(of root: Int32, in nodes: [ProcessNode]) -> [ProcessNode] {
        var children: [Int32: [ProcessNode]] = [:]
        for node in nodes { children[node.ppid, default: []].append(node) }
        var result: [ProcessNode] = []
        var queue = nodes.filter { $0.pid == root }
        while let next = queue.popLast() {
            result.append(next)
            queue.append(contentsOf: children[next.pid] ?? [])
        }
        return result
    }

    /// Whether `pid` still runs (not gone, not a zombie).
    public static func isAlive(_ pid: Int32, procRoot: String = "/proc") -> Bool {
        guard let node = read(pid: pid, procRoot: procRoot) else { return false }
        return !node.exited
    }
}

typealias stat_t = stat
