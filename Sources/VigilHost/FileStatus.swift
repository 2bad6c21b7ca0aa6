// SPDX-License-Identifier: Apache-2.0
// lstat(2) as a value: what the secret-file checks (keys, TLS material) need to refuse a symlink, a
// file others may read, or one another user owns.
import Glibc
import SystemPackage

public struct FileStatus: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case regular, directory, symlink, other }

    public var kind: Kind
    /// The permission bits (`st_mode & 0o7777`).
    public var permissions: UInt32
    public var owner: UInt32

    /// The status of `path` itself (a symlink is reported, not followed); nil when nothing is there.
    public static func of(_ path: String) throws(HostFileError) -> FileStatus? {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return nil }
            throw HostFileError("stat", path, .current)
        }
        let kind: Kind =
            switch st.st_mode & S_IFMT {
            case S_IFREG: .regular
            case S_IFDIR: .directory
            case S_IFLNK: .symlink
            default: .other
            }
        return FileStatus(kind: kind, permissions: UInt32(st.st_mode & 0o7777), owner: st.st_uid)
    }

    /// No group or other access at all.
    public var isPrivate: Bool { permissions & 0o077 == 0 }
}
