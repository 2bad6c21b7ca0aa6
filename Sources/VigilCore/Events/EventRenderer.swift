// SPDX-License-Identifier: Apache-2.0
// How `vigil trace` prints events: JSON lines (stable field names, one object per line) or a
// readable table. Pure: ancestry and clock offsets come in as values.
import VigilJSON

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
    /// One `vigil trace --json` line. Written straight into one byte buffer (a trace writes a line
    /// per kernel event, and building it from small Strings was most of the consumer's time).
    public static func json(_ event: SensorEvent, _ context: RenderedContext) -> String {
        var o = JSONObjectWriter(capacity: estimatedJSONLength(event, context))
        fields(of: event, context, to: &o)
        return o.finish()
    }

    /// The same line's bytes (without a newline), appended to `out`: no String is made, for a
    /// writer that has a byte buffer of its own.
    public static func appendJSON(_ event: SensorEvent, _ context: RenderedContext, to out: inout [UInt8]) {
        JSONObjectWriter.append(to: &out) { fields(of: event, context, to: &$0) }
    }

    private static func fields(of event: SensorEvent, _ context: RenderedContext, to o: inout JSONObjectWriter) {
        o.string("kind", event.kindName)
        let ktime: UInt64
        if case .gap(let g) = event { ktime = g.ktimeNanoseconds } else { ktime = event.header?.ktimeNanoseconds ?? 0 }
        o.value("ts") { appendTimestamp(ktime, context.realtimeOffsetNanoseconds, to: &$0) }
        if let h = event.header {
            o.int("pid", Int64(h.pid))
            o.int("tid", Int64(h.tid))
            if let ppid = context.ppid { o.int("ppid", Int64(ppid)) }
            o.value("session") { out in
                out.append(UInt8(ascii: "\""))
                appendHex(h.session, to: &out)
                out.append(UInt8(ascii: "\""))
            }
            if !h.flags.isDisjoint(with: taggedFlags) {
                o.array("tags") { a in
                    for tag in tags where h.flags.contains(tag.flag) { a.string(tag.name) }
                }
            }
        }
        switch event {
        case .exec(let e):
            o.string("path", e.path)
            o.array("argv") { a in
                for arg in e.argv { a.string(arg) }
            }
            o.int("uid", Int64(e.uid))
            o.int("cgroup", Int64(bitPattern: e.cgroupID))
            o.array("ancestry") { a in
                for node in context.ancestry {
                    a.object { n in
                        n.int("pid", Int64(node.pid))
                        n.string("path", node.exePath)
                        if let sha = node.exeSHA256 { n.string("sha256", sha) } else { n.null("sha256") }
                    }
                }
            }
        case .fork(let e):
            o.int("child", Int64(e.childPID))
        case .exit(let e):
            if let status = e.exitStatus { o.int("status", Int64(status)) }
            if let signal = e.signal { o.int("signal", Int64(signal)) }
        case .open(let e):
            o.string("path", e.path)
            o.int("flags", Int64(e.flags))
            o.bool("write", e.isWrite)
            o.int("result", e.result)
        case .connect(let e), .send(let e):
            o.string("family", familyName(e.family))
            o.string("address", e.address)
            o.int("port", Int64(e.port))
            o.int("result", e.result)
            if e.crossesBoundary {
                o.uint("peer_cgroup", e.peerCgroup)
                o.uint("peer_inode", e.peerInode)
                if e.peerPID > 0 { o.int("peer_pid", Int64(e.peerPID)) }
            }
        case .procAccess(let e):
            o.string("call", e.callName)
            if let request = e.requestName { o.string("request", request) }
            o.int("target", Int64(e.targetPID))
            o.bool("target_resolved", !e.header.flags.contains(.targetUnresolved))
            o.value("target_session") { out in
                out.append(UInt8(ascii: "\""))
                appendHex(e.targetSession, to: &out)
                out.append(UInt8(ascii: "\""))
            }
            o.int("arg", e.argument)
            o.bool("killed", e.killed)
        case .gap(let g):
            o.string("cause", g.cause.rawValue)
            o.uint("lost", g.lost)
        }
    }

    /// Enough for the line without escapes, so the buffer is allocated once (utf8.count of a
    /// native String is stored, not counted).
    static func estimatedJSONLength(_ event: SensorEvent, _ context: RenderedContext) -> Int {
        let fixed = 256  // kind, ts, ids, session, every tag, the kind's numbers
        switch event {
        case .exec(let e):
            var n = fixed + e.path.utf8.count
            for arg in e.argv { n += arg.utf8.count + 3 }
            for node in context.ancestry { n += 40 + node.exePath.utf8.count + (node.exeSHA256?.utf8.count ?? 4) }
            return n
        case .open(let e): return fixed + e.path.utf8.count
        case .connect(let e), .send(let e): return fixed + e.address.utf8.count
        case .fork, .exit, .procAccess, .gap: return fixed
        }
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
        case .procAccess(let e): processAccessDetail(e)
        case .gap(let g): "LOST \(g.lost) events (\(g.cause.rawValue))"
        }
    }

    /// "ptrace PTRACE_ATTACH pid 812 (outside the session)  -> killed".
    public static func processAccessDetail(_ e: ProcessAccessEvent) -> String {
        let what = e.requestName.map { e.callName + " " + $0 } ?? e.callName
        let target =
            e.header.flags.contains(.targetUnresolved)
            ? "an unresolved target (\(e.call == .pidfdGetfd ? "pidfd" : "pid") \(e.call == .pidfdGetfd ? e.request : e.argument))"
            : "pid \(e.targetPID)"
        let whose =
            e.targetSession == e.header.session && !e.header.flags.contains(.targetUnresolved)
            ? "in the session" : "outside the session"
        return "\(what) \(target) (\(whose))  -> \(e.killed ? "killed" : "allowed")"
    }

    public static func familyName(_ family: AddressFamily?) -> String {
        switch family {
        case .inet: "inet"
        case .inet6: "inet6"
        case .unix: "unix"
        case nil: "other"
        }
    }

    /// The flags `--json` shows, in the order it shows them.
    static let tags: [(flag: EventFlags, name: String)] = [
        (.ioUring, "io_uring"), (.compat, "compat32"), (.pathTruncated, "path_truncated"), (.argvTruncated, "argv_truncated"),
        (.pathUnresolved, "path_unresolved"), (.exeUnlinked, "exe_unlinked"), (.killed, "killed"), (.spared, "spared_root"),
        (.peerOutside, "peer_outside"), (.peerRefused, "peer_refused"), (.fifo, "fifo"),
    ]
    static let taggedFlags = EventFlags(tags.map(\.flag))

    /// A session id (or any 64-bit id) as 16 hex digits, as every output and the audit log write it.
    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    /// Unix time as seconds and nine fraction digits ("-" first before 1970).
    static func timestamp(_ ktime: UInt64, _ offset: Int64) -> String {
        var out: [UInt8] = []
        appendTimestamp(ktime, offset, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `hex(value)`'s bytes.
    static func appendHex(_ value: UInt64, to out: inout [UInt8]) {
        var shift = 60
        while shift >= 0 {
            let nibble = UInt8(truncatingIfNeeded: value >> UInt64(shift)) & 0xF
            out.append(nibble < 10 ? 0x30 &+ nibble : 0x57 &+ nibble)  // 0x57 + 10 == "a"
            shift -= 4
        }
    }

    /// `timestamp(ktime, offset)`'s bytes.
    static func appendTimestamp(_ ktime: UInt64, _ offset: Int64, to out: inout [UInt8]) {
        let ns = Int64(bitPattern: ktime) &+ offset
        // Sign, then the magnitude: a clock set before 1970 must not give "-1.0000000-5" (or trap).
        if ns < 0 { out.append(UInt8(ascii: "-")) }
        let unsigned = ns.magnitude
        JSONObjectWriter.appendDecimal(unsigned / 1_000_000_000, to: &out)
        out.append(UInt8(ascii: "."))
        JSONObjectWriter.appendDigits(unsigned % 1_000_000_000, minimumWidth: 9, to: &out)
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// A minimal JSON object writer: keys in insertion order, strings escaped per RFC 8259. It builds
/// UTF-8 bytes in one buffer and makes one String at the end (String appends, their small-string
/// checks and retains cost more than the bytes on a trace's hot path).
public struct JSONObjectWriter: Sendable {
    /// The object so far, without its closing brace.
    fileprivate var bytes: [UInt8]
    private var empty = true

    public init() { self.init(capacity: 128) }

    /// `capacity`: the expected length in bytes, so the buffer grows at most rarely.
    public init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    public mutating func string(_ key: String, _ value: String) {
        self.key(key)
        Self.appendQuoted(value, to: &bytes)
    }

    public mutating func int(_ key: String, _ value: Int64) {
        self.key(key)
        Self.appendDecimal(value, to: &bytes)
    }

    public mutating func uint(_ key: String, _ value: UInt64) {
        self.key(key)
        Self.appendDecimal(value, to: &bytes)
    }

    public mutating func bool(_ key: String, _ value: Bool) { raw(key, value ? "true" : "false") }

    public mutating func null(_ key: String) { raw(key, "null") }

    /// `json` must be one JSON value; it is written as is.
    public mutating func raw(_ key: String, _ json: String) {
        self.key(key)
        bytes.append(contentsOf: json.utf8)
    }

    /// A nested object, written in place (no second buffer, no intermediate String).
    public mutating func object(_ key: String, _ body: (inout JSONObjectWriter) throws -> Void) rethrows {
        self.key(key)
        try Self.nestObject(in: &bytes, body)
    }

    /// An array, written in place.
    public mutating func array(_ key: String, _ body: (inout JSONArrayWriter) throws -> Void) rethrows {
        self.key(key)
        try JSONArrayWriter.nest(in: &bytes, body)
    }

    /// A value whose bytes `write` appends itself (it must append exactly one JSON value).
    mutating func value(_ key: String, _ write: (inout [UInt8]) -> Void) {
        self.key(key)
        write(&bytes)
    }

    /// Appends one object, written by `body`, to `buffer` in place.
    public static func append(to buffer: inout [UInt8], _ body: (inout JSONObjectWriter) throws -> Void) rethrows {
        try nestObject(in: &buffer, body)
    }

    /// The object's text. The writer stays usable: later fields extend it.
    public func finish() -> String {
        String(unsafeUninitializedCapacity: bytes.count + 1) { out in
            let end = out.initialize(fromContentsOf: bytes)
            out[end] = UInt8(ascii: "}")
            return end + 1
        }
    }

    private mutating func key(_ key: String) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        Self.appendQuoted(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Moves `buffer` into a nested writer for `body` and back, so the nested object appends to
    /// the same storage (the swaps keep it uniquely referenced: no copy).
    fileprivate static func nestObject(in buffer: inout [UInt8], _ body: (inout JSONObjectWriter) throws -> Void) rethrows {
        var inner = JSONObjectWriter(bytes: [])
        swap(&inner.bytes, &buffer)
        inner.bytes.append(UInt8(ascii: "{"))
        defer {
            swap(&inner.bytes, &buffer)
            buffer.append(UInt8(ascii: "}"))
        }
        try body(&inner)
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    /// A JSON string literal: the short escapes where JSON has them, `\u00XX` for other controls,
    /// everything else as is (`JSONFormat.plain`, the one escaper every writer shares).
    public static func quote(_ s: String) -> String { JSONString.quote(s, .rfc8259) }

    /// `quote(s)`'s bytes, appended to `out`.
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) { JSONString.append(s, .rfc8259, to: &out) }

    /// `String(value)`'s bytes.
    static func appendDecimal(_ value: Int64, to out: inout [UInt8]) { JSONNumber.append(value, to: &out) }

    static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) { JSONNumber.append(value, to: &out) }

    /// Decimal digits, zero-padded on the left to `minimumWidth` (at most 20).
    static func appendDigits(_ value: UInt64, minimumWidth: Int, to out: inout [UInt8]) {
        JSONNumber.appendDigits(value, minimumWidth: minimumWidth, to: &out)
    }
}

/// The elements of an array being written by `JSONObjectWriter.array`, in place.
public struct JSONArrayWriter: Sendable {
    fileprivate var bytes: [UInt8]
    private var empty = true

    fileprivate init(bytes: [UInt8]) { self.bytes = bytes }

    public mutating func string(_ value: String) {
        separate()
        JSONObjectWriter.appendQuoted(value, to: &bytes)
    }

    public mutating func int(_ value: Int64) {
        separate()
        JSONObjectWriter.appendDecimal(value, to: &bytes)
    }

    /// `json` must be one JSON value; it is written as is.
    public mutating func raw(_ json: String) {
        separate()
        bytes.append(contentsOf: json.utf8)
    }

    public mutating func object(_ body: (inout JSONObjectWriter) throws -> Void) rethrows {
        separate()
        try JSONObjectWriter.nestObject(in: &bytes, body)
    }

    private mutating func separate() {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
    }

    /// As `JSONObjectWriter.nestObject`: the buffer moves in and back, never copied.
    fileprivate static func nest(in buffer: inout [UInt8], _ body: (inout JSONArrayWriter) throws -> Void) rethrows {
        var inner = JSONArrayWriter(bytes: [])
        swap(&inner.bytes, &buffer)
        inner.bytes.append(UInt8(ascii: "["))
        defer {
            swap(&inner.bytes, &buffer)
            buffer.append(UInt8(ascii: "]"))
        }
        try body(&inner)
    }
}
