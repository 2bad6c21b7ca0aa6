// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
@testable import VigilCore

/// Byte equality: Swift's `==` on String is canonical equivalence ("e\u{301}" == "\u{E9}"), too
/// loose for output that is hashed and diffed.
private func expectBytes(_ actual: String, _ expected: String, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    let same = actual.utf8.elementsEqual(expected.utf8)
    #expect(
        same, "\n  got  \(actual.debugDescription)\n  want \(expected.debugDescription) \(comment.map { "(\($0))" } ?? "")",
        sourceLocation: sourceLocation)
}

/// Exact `vigil trace --json` lines, one per event shape. The expected strings were recorded from
/// the String-concatenating renderer before it was rewritten to build bytes, so any drift in a
/// single byte (field order, escaping, number or timestamp formatting) fails here.
@Suite struct EventRendererTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let event: SensorEvent
        let context: RenderedContext
        let expected: String
        var testDescription: String { name }
    }

    static func h(_ pid: Int32 = 4242, tid: Int32? = nil, session: SessionID = 0xdead_beef, t: UInt64 = 1_234_567_890, flags: EventFlags = [])
        -> EventHeader
    {
        EventHeader(ktimeNanoseconds: t, pid: pid, tid: tid ?? pid + 1, session: session, flags: flags)
    }

    static func net(_ family: AddressFamily?, _ address: String, _ port: UInt16, _ result: Int64, flags: EventFlags = []) -> NetworkEvent {
        NetworkEvent(header: h(7, flags: flags), family: family, address: address, port: port, result: result)
    }

    static let ancestry = [
        ProcessNode(pid: 4242, ppid: 4000, exePath: "/usr/bin/sh", exeSHA256: String(repeating: "ab", count: 32)),
        ProcessNode(pid: 4000, ppid: 1, exePath: "/home/dev/bin/we\"ird\\name\n\u{01}é🦀", exeSHA256: nil),
        ProcessNode(pid: 1, ppid: 0, exePath: "", exeSHA256: ""),
    ]

    static let cases: [Case] = [
        Case(
            name: "exec with hostile argv, every tag, ancestry with a nil hash",
            event: .exec(
                ExecEvent(
                    header: h(flags: EventFlags(rawValue: 0xFFFF)), ppid: 4000, uid: 1000, gid: 1000, cgroupID: .max,
                    exeDevice: 1, exeInode: 2, path: "/usr/bin/sh",
                    argv: [
                        "sh", "-c", "echo \"hi\" \\ back\nslash", "tab\there\r\n", "\u{00}\u{01}\u{08}\u{0C}\u{1B}\u{1F}\u{7F}",
                        "café", "🦀 emoji 👩\u{200D}💻", "e\u{301}", "", "#\"#",
                    ]
                )),
            context: RenderedContext(ppid: 4000, ancestry: ancestry, realtimeOffsetNanoseconds: 1_763_000_000_000_000_000),
            expected:
                ##"{"kind":"exec","ts":1763000001.234567890,"pid":4242,"tid":4243,"ppid":4000,"session":"00000000deadbeef","tags":["io_uring","compat32","path_truncated","argv_truncated","path_unresolved","exe_unlinked","killed","spared_root","peer_outside","peer_refused","fifo"],"path":"/usr/bin/sh","argv":["sh","-c","echo \"hi\" \\ back\nslash","tab\there\r\n","\u0000\u0001\b\f\u001b\u001f\##u{7F}","café","🦀 emoji 👩\##u{200D}💻","e\##u{301}","","#\"#"],"uid":1000,"cgroup":-1,"ancestry":[{"pid":4242,"path":"/usr/bin/sh","sha256":"abababababababababababababababababababababababababababababababab"},{"pid":4000,"path":"/home/dev/bin/we\"ird\\name\n\u0001é🦀","sha256":null},{"pid":1,"path":"","sha256":""}]}"##
        ),
        Case(
            name: "exec without argv, ancestry, ppid, tags or session",
            event: .exec(
                ExecEvent(
                    header: h(1, tid: 1, session: 0, t: 0), ppid: 0, uid: 0, gid: 0, cgroupID: 0,
                    exeDevice: 0, exeInode: 0, path: "", argv: [])),
            context: RenderedContext(),
            expected:
                #"{"kind":"exec","ts":0.000000000,"pid":1,"tid":1,"session":"0000000000000000","path":"","argv":[],"uid":0,"cgroup":0,"ancestry":[]}"#
        ),
        Case(
            name: "exec with one tag and uid max",
            event: .exec(
                ExecEvent(
                    header: h(flags: .argvTruncated), ppid: 3, uid: .max, gid: 5, cgroupID: 82,
                    exeDevice: 0, exeInode: 0, path: "/bin/true", argv: ["true"])),
            context: RenderedContext(ancestry: [ancestry[2]]),
            expected:
                #"{"kind":"exec","ts":1.234567890,"pid":4242,"tid":4243,"session":"00000000deadbeef","tags":["argv_truncated"],"path":"/bin/true","argv":["true"],"uid":4294967295,"cgroup":82,"ancestry":[{"pid":1,"path":"","sha256":""}]}"#
        ),
        Case(
            name: "open for write, failed",
            event: .open(OpenEvent(header: h(flags: [.pathUnresolved, .ioUring]), path: "/tmp/a\"b\n", flags: 0o101, mode: 0o644, result: -2)),
            context: RenderedContext(ppid: 2, realtimeOffsetNanoseconds: 5),
            expected:
                #"{"kind":"open","ts":1.234567895,"pid":4242,"tid":4243,"ppid":2,"session":"00000000deadbeef","tags":["io_uring","path_unresolved"],"path":"/tmp/a\"b\n","flags":65,"write":true,"result":-2}"#
        ),
        Case(
            name: "open for read, fd result, pid extremes",
            event: .open(
                OpenEvent(
                    header: h(.max, tid: .min, session: .max, t: 999_999_999), path: "/work/project/src/components/module17.swift",
                    flags: .max, mode: 0, result: .max)),
            context: RenderedContext(ppid: .min, realtimeOffsetNanoseconds: 1),
            expected:
                #"{"kind":"open","ts":1.000000000,"pid":2147483647,"tid":-2147483648,"ppid":-2147483648,"session":"ffffffffffffffff","path":"/work/project/src/components/module17.swift","flags":4294967295,"write":true,"result":9223372036854775807}"#
        ),
        Case(
            name: "open read-only",
            event: .open(OpenEvent(header: h(), path: "/etc/hostname", flags: 0, mode: 0, result: 3)),
            context: RenderedContext(ppid: 2, realtimeOffsetNanoseconds: 1_763_000_000_000_000_000),
            expected:
                #"{"kind":"open","ts":1763000001.234567890,"pid":4242,"tid":4243,"ppid":2,"session":"00000000deadbeef","path":"/etc/hostname","flags":0,"write":false,"result":3}"#
        ),
        Case(
            name: "fork",
            event: .fork(ForkEvent(header: h(session: 1), childPID: 4243)),
            context: RenderedContext(ppid: 1, realtimeOffsetNanoseconds: 1_000_000_000),
            expected: #"{"kind":"fork","ts":2.234567890,"pid":4242,"tid":4243,"ppid":1,"session":"0000000000000001","child":4243}"#
        ),
        Case(
            name: "exit with a status",
            event: .exit(ExitEvent(header: h(flags: .killed), rawCode: 3 << 8)),
            context: RenderedContext(realtimeOffsetNanoseconds: 10),
            expected: #"{"kind":"exit","ts":1.234567900,"pid":4242,"tid":4243,"session":"00000000deadbeef","tags":["killed"],"status":3}"#
        ),
        Case(
            name: "exit with a signal",
            event: .exit(ExitEvent(header: h(flags: .spared), rawCode: 3 << 8 | 9)),
            context: RenderedContext(ppid: 0),
            expected:
                #"{"kind":"exit","ts":1.234567890,"pid":4242,"tid":4243,"ppid":0,"session":"00000000deadbeef","tags":["spared_root"],"signal":9}"#
        ),
        Case(
            name: "connect inet",
            event: .connect(net(.inet, "93.184.216.34", 443, 0)),
            context: RenderedContext(ppid: 6),
            expected:
                #"{"kind":"connect","ts":1.234567890,"pid":7,"tid":8,"ppid":6,"session":"00000000deadbeef","family":"inet","address":"93.184.216.34","port":443,"result":0}"#
        ),
        Case(
            name: "connect inet6, refused",
            event: .connect(net(.inet6, "2001:db8::1", 65535, -111)),
            context: RenderedContext(),
            expected:
                #"{"kind":"connect","ts":1.234567890,"pid":7,"tid":8,"session":"00000000deadbeef","family":"inet6","address":"2001:db8::1","port":65535,"result":-111}"#
        ),
        Case(
            name: "connect unix abstract, compat",
            event: .connect(net(.unix, "@/tmp/.X11-unix/\"X0\"", 0, 0, flags: .compat)),
            context: RenderedContext(),
            expected:
                #"{"kind":"connect","ts":1.234567890,"pid":7,"tid":8,"session":"00000000deadbeef","tags":["compat32"],"family":"unix","address":"@/tmp/.X11-unix/\"X0\"","port":0,"result":0}"#
        ),
        Case(
            name: "send of another family",
            event: .send(net(nil, "", 1, 512)),
            context: RenderedContext(),
            expected:
                #"{"kind":"send","ts":1.234567890,"pid":7,"tid":8,"session":"00000000deadbeef","family":"other","address":"","port":1,"result":512}"#
        ),
        Case(
            name: "gap, kernel ring full",
            event: .gap(GapEvent(cause: .kernelRingFull, lost: 1 << 40, ktimeNanoseconds: 42)),
            context: RenderedContext(ppid: 9, realtimeOffsetNanoseconds: 1_763_000_000_000_000_000),
            expected: #"{"kind":"gap","ts":1763000000.000000042,"cause":"kernel_ring_full","lost":1099511627776}"#
        ),
        Case(
            name: "gap, consumer queue full, time zero",
            event: .gap(GapEvent(cause: .consumerQueueFull, lost: 0, ktimeNanoseconds: 0)),
            context: RenderedContext(),
            expected: #"{"kind":"gap","ts":0.000000000,"cause":"consumer_queue_full","lost":0}"#
        ),
        Case(
            // A wall clock set before 1970: a sign, then the magnitude (it used to print
            // "-1.0000000-5", and to trap on a nine-digit negative fraction).
            name: "timestamp before the epoch",
            event: .fork(ForkEvent(header: h(t: 5), childPID: 1)),
            context: RenderedContext(realtimeOffsetNanoseconds: -1_000_000_010),
            expected: #"{"kind":"fork","ts":-1.000000005,"pid":4242,"tid":4243,"session":"00000000deadbeef","child":1}"#
        ),
    ]

    @Test(arguments: cases) func jsonLine(_ c: Case) {
        expectBytes(EventRenderer.json(c.event, c.context), c.expected)
    }

    /// What `vigil trace --json` writes: the same bytes, appended after what the buffer holds.
    @Test(arguments: cases) func jsonLineAppendedToABuffer(_ c: Case) {
        var buffer = Array("previous line\n".utf8)
        EventRenderer.appendJSON(c.event, c.context, to: &buffer)
        expectBytes(String(decoding: buffer, as: UTF8.self), "previous line\n" + c.expected)
    }
}

/// The writer's bytes are hashed (VigilPosture's canonical JSON goes through `quote`), so they are
/// pinned exactly.
@Suite struct JSONObjectWriterTests {
    /// Every control character: the short escape where JSON has one, else `\u00xx` in lowercase.
    static let controls: [(UInt8, String)] = [
        (0x00, #""\u0000""#), (0x01, #""\u0001""#), (0x02, #""\u0002""#), (0x03, #""\u0003""#), (0x04, #""\u0004""#), (0x05, #""\u0005""#),
        (0x06, #""\u0006""#), (0x07, #""\u0007""#),
        (0x08, #""\b""#), (0x09, #""\t""#), (0x0A, #""\n""#), (0x0B, #""\u000b""#), (0x0C, #""\f""#), (0x0D, #""\r""#), (0x0E, #""\u000e""#),
        (0x0F, #""\u000f""#),
        (0x10, #""\u0010""#), (0x11, #""\u0011""#), (0x12, #""\u0012""#), (0x13, #""\u0013""#), (0x14, #""\u0014""#), (0x15, #""\u0015""#),
        (0x16, #""\u0016""#), (0x17, #""\u0017""#),
        (0x18, #""\u0018""#), (0x19, #""\u0019""#), (0x1A, #""\u001a""#), (0x1B, #""\u001b""#), (0x1C, #""\u001c""#), (0x1D, #""\u001d""#),
        (0x1E, #""\u001e""#), (0x1F, #""\u001f""#),
    ]

    @Test func quoteEscapesEveryControlCharacter() {
        #expect(Self.controls.map(\.0) == Array(0x00...0x1F))
        for (byte, expected) in Self.controls {
            let s = String(decoding: [byte], as: UTF8.self)
            expectBytes(JSONObjectWriter.quote(s), expected, "byte \(byte)")
            // Inside other text, and twice in a row (the escape must not swallow its neighbours).
            let inner = expected.dropFirst().dropLast()
            expectBytes(JSONObjectWriter.quote("a" + s + s + "é"), "\"a" + inner + inner + "é\"", "byte \(byte)")
        }
    }

    @Test(arguments: [
        ("", #""""#),
        ("plain/path.swift", #""plain/path.swift""#),
        ("\"", #""\"""#),
        ("\\", #""\\""#),
        ("a\"b\\c", #""a\"b\\c""#),
        ("\u{7F}", #""\#u{7F}""#),
        ("\r\n", #""\r\n""#),
        ("naïve café ✓ 🦀 👩\u{200D}💻 e\u{301}", #""naïve café ✓ 🦀 👩\#u{200D}💻 e\#u{301}""#),
        ("\u{2028}\u{2029}\u{FEFF}", #""\#u{2028}\#u{2029}\#u{FEFF}""#),
        (
            "a string longer than fifteen bytes with \"quotes\" near the end\n",
            #""a string longer than fifteen bytes with \"quotes\" near the end\n""#
        ),
    ])
    func quote(_ input: String, _ expected: String) {
        expectBytes(JSONObjectWriter.quote(input), expected)
    }

    @Test func keysAreEscapedAndFieldsKeepTheirOrder() {
        var o = JSONObjectWriter()
        expectBytes(o.finish(), "{}")
        o.string("a\"b", "x")
        o.int("new\nline", -5)
        o.raw("ctl\u{01}\\", "true")
        o.int("min", .min)
        o.int("max", .max)
        o.int("zero", 0)
        o.string("", "")
        o.raw("nested", "{\"k\":[1,2]}")
        expectBytes(
            o.finish(),
            #"{"a\"b":"x","new\nline":-5,"ctl\u0001\\":true,"min":-9223372036854775808,"max":9223372036854775807,"zero":0,"":"","nested":{"k":[1,2]}}"#
        )
        // finish() does not end the object: more fields can follow.
        o.int("after", 1)
        expectBytes(
            o.finish(),
            #"{"a\"b":"x","new\nline":-5,"ctl\u0001\\":true,"min":-9223372036854775808,"max":9223372036854775807,"zero":0,"":"","nested":{"k":[1,2]},"after":1}"#
        )
    }

    @Test func nestedObjectsAndArraysShareTheBuffer() {
        var o = JSONObjectWriter(capacity: 1)  // too small: growing must not lose bytes
        o.bool("t", true)
        o.bool("f", false)
        o.null("n")
        o.array("empty") { _ in }
        o.object("none") { _ in }
        o.array("mixed") { a in
            a.string("q\"")
            a.int(-7)
            a.raw("[true]")
            a.object { n in
                n.string("k", "v")
                n.array("deep") { d in d.object { $0.int("x", 1) } }
            }
            a.object { _ in }
        }
        o.object("after") { $0.string("a\nb", "c") }
        o.int("last", 2)
        expectBytes(
            o.finish(),
            #"{"t":true,"f":false,"n":null,"empty":[],"none":{},"mixed":["q\"",-7,[true],{"k":"v","deep":[{"x":1}]},{}],"after":{"a\nb":"c"},"last":2}"#
        )
    }

    @Test func hexIsSixteenLowercaseDigits() {
        expectBytes(EventRenderer.hex(0), "0000000000000000")
        expectBytes(EventRenderer.hex(1), "0000000000000001")
        expectBytes(EventRenderer.hex(0xdead_beef), "00000000deadbeef")
        expectBytes(EventRenderer.hex(.max), "ffffffffffffffff")
    }

    @Test func timestampIsSecondsAndNineFractionDigits() {
        expectBytes(EventRenderer.timestamp(0, 0), #"0.000000000"#)
        expectBytes(EventRenderer.timestamp(1, 0), #"0.000000001"#)
        expectBytes(EventRenderer.timestamp(999_999_999, 1), #"1.000000000"#)
        expectBytes(EventRenderer.timestamp(123, 1_763_000_000_000_000_000), #"1763000000.000000123"#)
        expectBytes(EventRenderer.timestamp(0, -1), #"-0.000000001"#)
        expectBytes(EventRenderer.timestamp(0, -123_456_789_012), #"-123.456789012"#)
        expectBytes(EventRenderer.timestamp(0, .min), #"-9223372036.854775808"#)
    }
}

/// The byte writers against the String forms they replaced, on seeded random input.
@Suite struct JSONBytesMatchStringFormsTests {
    /// SplitMix64: the same inputs on every run, so a failure reproduces.
    struct Random: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// `JSONObjectWriter.quote` as it was written with String appends, per Unicode scalar.
    static func referenceQuote(_ s: String) -> String {
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

    @Test func quoteMatchesThePerScalarForm() {
        // Every ASCII scalar, and 2-, 3- and 4-byte ones including combining and invisible ones.
        let pool: [Unicode.Scalar] =
            (0...0x7F).map { Unicode.Scalar(UInt8($0)) }
            + ["é", "ß", "\u{301}", "\u{200D}", "\u{2028}", "\u{FEFF}", "✓", "€", "🦀", "👩", "\u{10FFFF}"]
        var random = Random(state: 0x5EED)
        for _ in 0..<5_000 {
            var s = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...40, using: &random) { s.append(pool.randomElement(using: &random)!) }
            let input = String(s)
            expectBytes(JSONObjectWriter.quote(input), Self.referenceQuote(input))
        }
    }

    @Test func integersMatchStringInit() {
        var random = Random(state: 42)
        let edges: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, .max, .min, .max - 1, .min + 1, 1_000_000_000, -999_999_999]
        for value in edges + (0..<5_000).map({ _ in Int64(bitPattern: random.next()) >> Int64.random(in: 0...63, using: &random) }) {
            var o = JSONObjectWriter()
            o.int("n", value)
            expectBytes(o.finish(), "{\"n\":\(String(value))}")
        }
    }

    /// Against an independent formatter (printf) on seeded random non-negative times.
    @Test func timestampBytesMatchPrintf() {
        var random = Random(state: 7)
        let edges: [(UInt64, Int64)] = [(0, 0), (999_999_999, 0), (1_000_000_000, 0), (0, .max), (UInt64(Int64.max), 0)]
        // Each pair's sum stays below Int64.max.
        let randomPairs = (0..<5_000).map { _ in
            (random.next() >> UInt64.random(in: 2...63, using: &random), Int64.random(in: 0...1_900_000_000_000_000_000, using: &random))
        }
        for (ktime, offset) in edges + randomPairs {
            let ns = Int64(bitPattern: ktime) &+ offset
            expectBytes(
                EventRenderer.timestamp(ktime, offset),
                String(format: "%lld.%09lld", ns / 1_000_000_000, ns % 1_000_000_000), "\(ktime) \(offset)")
        }
    }

    @Test func gapCountsAboveInt64MaxAreWrittenWhole() {
        let line = EventRenderer.json(.gap(GapEvent(cause: .kernelRingFull, lost: .max, ktimeNanoseconds: 0)), RenderedContext())
        #expect(line.hasSuffix(#""lost":18446744073709551615}"#))
    }

    @Test func hexBytesMatchTheStringForm() {
        var random = Random(state: 16)
        for value in [0, 1, 15, 16, .max] + (0..<2_000).map({ _ in random.next() >> UInt64.random(in: 0...63, using: &random) }) {
            var bytes: [UInt8] = []
            EventRenderer.appendHex(value, to: &bytes)
            expectBytes(String(decoding: bytes, as: UTF8.self), EventRenderer.hex(value))
        }
    }
}
