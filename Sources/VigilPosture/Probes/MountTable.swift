// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// Parsing /proc/self/mountinfo (and the older /proc/mounts) into mount entries. Pure.

import Foundation

/// A block device number (`st_dev`), as `major:minor`.
public struct DeviceNumber: Sendable, Hashable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public var description: String { "\(major):\(minor)" }
}

/// One mounted filesystem.
public struct MountEntry: Sendable, Hashable {
    public var mountPoint: String
    public var fsType: String
    /// The mount source (`/dev/mapper/root`, `tmpfs`, …).
    public var source: String
    /// The filesystem's `st_dev`, from mountinfo only (`nil` when read from /proc/mounts).
    public var device: DeviceNumber?
    public var options: String

    public init(mountPoint: String, fsType: String, source: String, device: DeviceNumber?, options: String) {
        self.mountPoint = mountPoint
        self.fsType = fsType
        self.source = source
        self.device = device
        self.options = options
    }
}

/// The mounts of one mount namespace, in mount order.
public struct MountTable: Sendable, Hashable {
    public var entries: [MountEntry]

    public init(entries: [MountEntry]) { self.entries = entries }

    /// Parses `/proc/<pid>/mountinfo`: `id parent maj:min root mountpoint options [optional…] - fstype source superopts`.
    /// Lines that do not fit the format are skipped.
    public init(mountinfo text: String) {
        entries = text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 10, let dash = fields.firstIndex(of: "-"), dash >= 6, dash + 2 < fields.count else {
                return nil
            }
            let numbers = fields[2].split(separator: ":").compactMap { Int($0) }
            return MountEntry(
                mountPoint: Self.unescape(fields[4]), fsType: fields[dash + 1], source: Self.unescape(fields[dash + 2]),
                device: numbers.count == 2 ? DeviceNumber(major: numbers[0], minor: numbers[1]) : nil,
                options: fields[5] + (dash + 3 < fields.count ? "," + fields[dash + 3] : ""))
        }
    }

    /// Parses `/proc/mounts` (fstab format: `source mountpoint fstype options dump pass`).
    public init(procMounts text: String) {
        entries = text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 4 else { return nil }
            return MountEntry(
                mountPoint: Self.unescape(fields[1]), fsType: fields[2], source: Self.unescape(fields[0]),
                device: nil, options: fields[3])
        }
    }

    /// The mount holding `path`: the longest mount point that is a prefix of it; among mounts on the
    /// same point, the last (top-most) one.
    public func mount(containing path: String) -> MountEntry? {
        var best: MountEntry?
        for entry in entries where Self.contains(entry.mountPoint, path) {
            if best == nil || entry.mountPoint.count >= best!.mountPoint.count { best = entry }
        }
        return best
    }

    private static func contains(_ mountPoint: String, _ path: String) -> Bool {
        mountPoint == "/" || path == mountPoint || path.hasPrefix(mountPoint + "/")
    }

    /// The kernel writes space, tab, newline and backslash in paths as `\040`, `\011`, `\012`, `\134`.
    static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
                let value = UInt8(String(decoding: utf8[index + 1...index + 3], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
