// SPDX-License-Identifier: Apache-2.0
// Each session gets its own cgroup on the v2 hierarchy, wherever that is mounted (a hybrid
// host has it at /sys/fs/cgroup/unified): the cgroup id ties kernel events to the session and
// is where connect/sendmsg enforcement attaches.
import Foundation
import Glibc

public struct SessionCgroup: Sendable {
    public let path: String
    /// The cgroup id the kernel reports (`bpf_get_current_cgroup_id()`): the directory's inode.
    public let id: UInt64
    /// Its depth in the cgroup tree (the root is 0): a socket created in this cgroup or below it
    /// has this cgroup as its ancestor at this level (the session boundary's test).
    public let level: UInt32

    public init(path: String, id: UInt64, level: UInt32) {
        self.path = path
        self.id = id
        self.level = level
    }

    /// The v2 mount point and the cgroup it shows (its root within the hierarchy: `/` unless
    /// vigild runs in a cgroup namespace or a bind mount of a subtree).
    static func unifiedMountAndRoot(mountinfo: String = "/proc/self/mountinfo") -> (mount: String, root: String)? {
        guard let text = try? String(contentsOfFile: mountinfo, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
            let fields = halves[0].split(separator: " ")
            if fields.count > 4 { return (String(fields[4]), String(fields[3])) }
        }
        return nil
    }

    /// The cgroup v2 mount point, from /proc/self/mountinfo.
    public static func unifiedMount(mountinfo: String = "/proc/self/mountinfo") -> String? {
        guard let text = try? String(contentsOfFile: mountinfo, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            // ... mount-point ... - fstype source options
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
            let fields = halves[0].split(separator: " ")
            if fields.count > 4 { return String(fields[4]) }
        }
        return nil
    }

    /// Creates `<v2 mount>/vigil/<name>`.
    /// - Throws: `SensorError(.cgroupUnavailable)` naming the path and errno.
    public static func create(name: String) throws(SensorError) -> SessionCgroup {
        guard let mount = unifiedMount() else {
            throw SensorError(
                .cgroupUnavailable,
                "vigil: no cgroup v2 hierarchy is mounted (looked in /proc/self/mountinfo); mount one with 'mount -t cgroup2 none /sys/fs/cgroup/unified'"
            )
        }
        let parent = mount + "/vigil"
        if mkdir(parent, 0o755) != 0 && errno != EEXIST {
            throw SensorError(.cgroupUnavailable, "vigil: cannot create cgroup \(parent): \(String(cString: strerror(errno)))")
        }
        let path = parent + "/" + name
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw SensorError(.cgroupUnavailable, "vigil: cannot create cgroup \(path): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SensorError(.cgroupUnavailable, "vigil: cannot stat cgroup \(path): \(String(cString: strerror(errno)))")
        }
        let root = unifiedMountAndRoot()?.root ?? "/"
        let level = root.split(separator: "/").count + 2  // <root>/vigil/<name>
        return SessionCgroup(path: path, id: UInt64(info.st_ino), level: UInt32(level))
    }

    /// An fd on `cgroup.procs`: writing "0" to it moves the writer in.
    public func openProcs() throws(SensorError) -> Int32 {
        let fd = open(path + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
        if fd < 0 {
            throw SensorError(.cgroupUnavailable, "vigil: cannot open \(path)/cgroup.procs: \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// Whether any process is still in the cgroup (`cgroup.events` populated).
    public var isPopulated: Bool {
        guard let events = try? String(contentsOfFile: path + "/cgroup.events", encoding: .utf8) else { return false }
        return events.contains("populated 1")
    }

    /// Moves a running process (not its children that exist already) into the cgroup.
    /// - Returns: nil, or why not (the errno's text).
    public func move(_ pid: Int32) -> String? {
        let fd = open(path + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        let text = Array("\(pid)".utf8)
        return write(fd, text, text.count) == text.count ? nil : String(cString: strerror(errno))
    }

    /// Removes the cgroup; fails (and says so) while processes remain.
    @discardableResult
    public func remove() -> Bool { rmdir(path) == 0 }
}
