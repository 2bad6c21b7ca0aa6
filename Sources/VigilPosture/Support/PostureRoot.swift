// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// All probe file I/O goes through here, relative to a configurable root, so tests run on fixture trees.

import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a file under the probe root could not be read. Its ``description`` is the `unknown` reason.
public struct PostureReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path as the probe names it (absolute, without the root prefix).
    public var path: String
    /// The C `errno` of the failing call.
    public var errno: Int32

    public var isNotFound: Bool { errno == ENOENT || errno == ENOTDIR }

    public var description: String {
        let message = strerror(errno).map { String(cString: $0) } ?? "errno \(errno)"
        return "\(path): \(message.lowercased())"
    }
}

/// A read-only view of a file tree: `/` on a live system, a fixture directory in tests.
///
/// Paths passed in are absolute as on the live system (`/proc/self/mountinfo`); they are resolved
/// below ``path``. Symbolic links are followed by the OS, so links inside a fixture must be relative.
public struct PostureRoot: Sendable {
    /// The directory standing in for `/`.
    public let path: String

    public init(_ path: String) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// The real filesystem path for `absolute` under this root.
    public func resolve(_ absolute: String) -> String {
        path == "/" ? absolute : path + (absolute.hasPrefix("/") ? absolute : "/" + absolute)
    }

    /// The whole file. Works for procfs and sysfs files, whose reported size is 0 or 4096.
    /// - Throws: ``PostureReadError`` when the file cannot be opened or read.
    public func readBytes(_ absolute: String, limit: Int = 16 << 20) throws(PostureReadError) -> [UInt8] {
        let fd = open(resolve(absolute), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PostureReadError(path: absolute, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw PostureReadError(path: absolute, errno: errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// The file as UTF-8 (invalid sequences repaired).
    /// - Throws: ``PostureReadError`` when the file cannot be opened or read.
    public func readText(_ absolute: String) throws(PostureReadError) -> String {
        String(decoding: try readBytes(absolute), as: UTF8.self)
    }

    /// The file's first line without surrounding whitespace (the form of every sysctl and sysfs value).
    /// - Throws: ``PostureReadError`` when the file cannot be opened or read.
    public func readLine(_ absolute: String) throws(PostureReadError) -> String {
        let text = try readText(absolute)
        let first = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return first.trimmingCharacters(in: .whitespaces)
    }

    /// Entry names of a directory, sorted, without `.` and `..`.
    /// - Throws: ``PostureReadError`` when the directory cannot be opened.
    public func list(_ absolute: String) throws(PostureReadError) -> [String] {
        guard let dir = opendir(resolve(absolute)) else { throw PostureReadError(path: absolute, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The target of a symbolic link, as stored.
    /// - Throws: ``PostureReadError`` when `absolute` is missing or not a link.
    public func readLink(_ absolute: String) throws(PostureReadError) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(resolve(absolute), &buffer, buffer.count - 1)
        guard count >= 0 else { throw PostureReadError(path: absolute, errno: errno) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `true` if something exists at `absolute` (following links).
    public func exists(_ absolute: String) -> Bool { access(resolve(absolute), F_OK) == 0 }

    /// Last modification time, following links.
    /// - Throws: ``PostureReadError`` when `stat` fails.
    public func modificationDate(_ absolute: String) throws(PostureReadError) -> Date {
        var info = stat()
        guard stat(resolve(absolute), &info) == 0 else { throw PostureReadError(path: absolute, errno: errno) }
        #if canImport(Darwin)
            let spec = info.st_mtimespec
        #else
            let spec = info.st_mtim
        #endif
        return Date(timeIntervalSince1970: Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9)
    }
}
