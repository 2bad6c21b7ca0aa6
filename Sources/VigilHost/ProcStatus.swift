// SPDX-License-Identifier: Apache-2.0
// One number of /proc/PID/status, read with one read(2) and scanned as bytes. The fanotify thread
// asks for two on every permission event while the opener waits; splitting the text into Strings
// took a quarter of vigild's time under a stream of denied opens.
import Glibc

public enum ProcStatus {
    /// The first number on the `name:` line of /proc/`pid`/status (`Tgid`; `Uid`: the real uid),
    /// or nil when the process is gone or has no such line.
    public static func number(_ name: String, of pid: Int32) -> Int64? {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let key = Array(name.utf8) + [UInt8(ascii: ":")]
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer -> Int64? in
            guard let base = buffer.baseAddress else { return nil }
            var filled = 0
            while filled < buffer.count {
                let n = read(fd, base + filled, buffer.count - filled)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                filled += n
            }
            var start = 0
            while start < filled {
                var end = start
                while end < filled && buffer[end] != 0x0A { end += 1 }
                if end - start > key.count && key.indices.allSatisfy({ buffer[start + $0] == key[$0] }) {
                    var i = start + key.count
                    while i < end && (buffer[i] == 0x20 || buffer[i] == 0x09) { i += 1 }
                    var value: Int64 = 0
                    let first = i
                    while i < end && buffer[i] >= 0x30 && buffer[i] <= 0x39 {
                        value = value * 10 + Int64(buffer[i] - 0x30)
                        i += 1
                    }
                    return i > first ? value : nil
                }
                start = end + 1
            }
            return nil
        }
    }
}
