// How `vigil trace` prints events: JSON lines (stable field names, one object per line) or a
// readable table. Pure: ancestry and clock offsets come in as values.

public struct RenderedContext: Sendable {
    /// The parent pid at the time of the event, when known.
    public var ppid: Int32?
    /// For exec: the process and its ancestors, nearest first.
    public var ancestry: [ProcessNode]
    /// Adds to a ktime to get Unix time in nanoseconds.
    public var realtimeOffsetNanoseconds: Int64

    public init(ppid: Int32? = nil, ancestry: [ProcessNode] = [], realtimeOffsetNanoseconds: Int64 = 0) {
        self.ppid = ppid
        self.ancestry = ancestry
        self.realtimeOffsetNanoseconds = realtimeOffsetNanoseconds
    }
}

public enum EventRenderer {
    public static func json(_ event: SensorEvent, _ context: RenderedContext) -> String {
        var o = JSONObjectWriter()
        o.string("kind", event.kindName)
        let ktime: UInt64
        if case .gap(let g) = event { ktime = g.ktimeNanoseconds } else { ktime = event.header?.ktimeNanoseconds ?? 0 }
        o.raw("ts", timestamp(ktime, context.realtimeOffsetNanoseconds))
        if let h = event.header {
            o.int("pid", Int64(h.pid))
            o.int("tid", Int64(h.tid))
            if let ppid = context.ppid { o.int("ppid", Int64(ppid)) }
            o.raw("session", "\"\(hex(h.session))\"")
            let names = flagNames(h.flags)
            if !names.isEmpty { o.raw("tags", "[" + names.map { "\"\($0)\"" }.joined(separator: ",") + "]") }
        }
        switch event {
        case .exec(let e):
            o.string("path", e.path)
            o.raw("argv", "[" + e.argv.map { JSONObjectWriter.quote($0) }.joined(separator: ",") + "]")
            o.int("uid", Int64(e.uid))
            o.int("cgroup", Int64(bitPattern: e.cgroupID))
            o.raw("ancestry", "[" + context.ancestry.map { node in
                var a = JSONObjectWriter()
                a.int("pid", Int64(node.pid))
                a.string("path", node.exePath)
                if let sha = node.exeSHA256 { a.string("sha256", sha) } else { a.raw("sha256", "null") }
                return a.finish()
            }.joined(separator: ",") + "]")
        case .fork(let e):
            o.int("child", Int64(e.childPID))
        case .exit(let e):
            if let status = e.exitStatus { o.int("status", Int64(status)) }
            if let signal = e.signal { o.int("signal", Int64(signal)) }
        case .open(let e):
            o.string("path", e.path)
            o.int("flags", Int64(e.flags))
            o.raw("write", e.isWrite ? "true" : "false")
            o.int("result", e.result)
        case .connect(let e), .send(let e):
            o.string("family", familyName(e.family))
            o.string("address", e.address)
            o.int("port", Int64(e.port))
            o.int("result", e.result)
        case .gap(let g):
            o.string("cause", g.cause.rawValue)
            o.int("lost", Int64(g.lost))
        }
        return o.finish()
    }

    public static func tableRow(_ event: SensorEvent, _ context: RenderedContext) -> String {
        let pid = event.header.map { String($0.pid) } ?? "-"
        let kind = event.kindName.padding(8)
        return "\(pid.padding(8)) \(kind) \(detail(event))"
    }

    /// What happened, in one line without the pid and kind (the table's last column, a session
    /// timeline's text).
    public static func detail(_ event: SensorEvent) -> String {
        switch event {
        case .exec(let e): e.path + "  " + e.argv.joined(separator: " ")
        case .fork(let e): "child \(e.childPID)"
        case .exit(let e): e.signal.map { "signal \($0)" } ?? "status \(e.exitStatus ?? 0)"
        case .open(let e): "\(e.path)  \(e.isWrite ? "w" : "r")  -> \(e.result)"
        case .connect(let e), .send(let e): "\(familyName(e.family)) \(e.address) port \(e.port)  -> \(e.result)"
        case .gap(let g): "LOST \(g.lost) events (\(g.cause.rawValue))"
        }
    }

    public static func familyName(_ family: AddressFamily?) -> String {
        switch family {
        case .inet: "inet"
        case .inet6: "inet6"
        case .unix: "unix"
        case nil: "other"
        }
    }

    static func flagNames(_ flags: EventFlags) -> [String] {
        var names: [String] = []
        if flags.contains(.ioUring) { names.append("io_uring") }
        if flags.contains(.compat) { names.append("compat32") }
        if flags.contains(.pathTruncated) { names.append("path_truncated") }
        if flags.contains(.argvTruncated) { names.append("argv_truncated") }
        if flags.contains(.pathUnresolved) { names.append("path_unresolved") }
        if flags.contains(.exeUnlinked) { names.append("exe_unlinked") }
        if flags.contains(.killed) { names.append("killed") }
        if flags.contains(.spared) { names.append("spared_root") }
        return names
    }

    /// A session id (or any 64-bit id) as 16 hex digits, as every output and the audit log write it.
    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    static func timestamp(_ ktime: UInt64, _ offset: Int64) -> String {
        let ns = Int64(bitPattern: ktime) &+ offset
        let seconds = ns / 1_000_000_000, fraction = ns % 1_000_000_000
        let digits = String(fraction)
        return "\(seconds).\(String(repeating: "0", count: 9 - digits.count))\(digits)"
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// A minimal JSON object writer: keys in insertion order, strings escaped per RFC 8259.
public struct JSONObjectWriter: Sendable {
    private var text = "{"
    private var empty = true  // (String.count walks the whole string: not asked per field)
    public init() {}

    public mutating func string(_ key: String, _ value: String) { raw(key, Self.quote(value)) }
    public mutating func int(_ key: String, _ value: Int64) { raw(key, String(value)) }
    public mutating func raw(_ key: String, _ json: String) {
        if !empty { text += "," }
        empty = false
        text += Self.quote(key)
        text += ":"
        text += json
    }
    public func finish() -> String { text + "}" }

    /// A JSON string literal: the short escapes where JSON has them, `\u00XX` for other controls,
    /// everything else as is. Deterministic, so hashes of canonical JSON can rely on it.
    public static func quote(_ s: String) -> String {
        // Most strings (paths, keys, hashes) need no escape: one pass over the bytes, one copy.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            return "\"" + s + "\""
        }
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let h = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
