// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import VigilCore

/// Builds ring-buffer records the way the BPF side lays them out (vigil_abi.h).
struct RecordBuilder {
    var bytes: [UInt8] = []
    mutating func put<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func put(_ text: String, nul: Bool = false) {
        bytes.append(contentsOf: text.utf8)
        if nul { bytes.append(0) }
    }
    mutating func pad(to size: Int) { bytes.append(contentsOf: [UInt8](repeating: 0, count: size - bytes.count)) }

    static func header(kind: UInt16, flags: UInt16 = 0, size: Int, pid: Int32 = 100, session: UInt64 = 7) -> RecordBuilder {
        var b = RecordBuilder()
        b.put(kind); b.put(flags); b.put(UInt32(size)); b.put(UInt64(1_000)); b.put(pid); b.put(pid); b.put(session)
        return b
    }
}

@Suite struct EventDecoderTests {
    func decodeOne(_ bytes: [UInt8]) throws -> SensorEvent {
        var events: [SensorEvent] = []
        try bytes.withUnsafeBytes { try EventDecoder.decodeBatch($0) { events.append($0) } }
        #expect(events.count == 1)
        return try #require(events.first)
    }

    func execRecord(flags: UInt16) -> [UInt8] {
        let path = "/usr/bin/cat", argv = "cat\0/etc/hostname\0"
        var b = RecordBuilder.header(kind: 1, flags: flags, size: 112 + path.utf8.count + argv.utf8.count)
        b.put(Int32(50)); b.put(UInt32(1000)); b.put(UInt32(1000)); b.put(UInt32(0))
        b.put(UInt64(82)); b.put(UInt64(8 << 20 | 1)); b.put(UInt64(4242))
        b.put(UInt16(path.utf8.count)); b.put(UInt16(argv.utf8.count)); b.put(UInt32(2))
        b.put(Int64(35_664)); b.put(Int64(1_700_000_000)); b.put(Int64(1_700_000_100))
        b.put(UInt32(123_456_789)); b.put(UInt32(987_654_321))
        b.put(path); b.put(argv)
        return b.bytes
    }

    @Test func exec() throws {
        guard case .exec(let e) = try decodeOne(execRecord(flags: 1 << 10)) else { Issue.record("not exec"); return }
        #expect(e.path == "/usr/bin/cat")
        #expect(e.argv == ["cat", "/etc/hostname"])
        #expect(e.ppid == 50 && e.uid == 1000 && e.cgroupID == 82 && e.exeInode == 4242)
        #expect(e.exeDevice == 0x801)  // major 8, minor 1 in glibc's encoding
        #expect(e.header.session == 7 && e.header.pid == 100)
        #expect(
            e.exeIdentity
                == FileIdentity(
                    device: 0x801, inode: 4242, size: 35_664, mtimeSeconds: 1_700_000_000, mtimeNanoseconds: 123_456_789,
                    ctimeSeconds: 1_700_000_100, ctimeNanoseconds: 987_654_321))
    }

    /// Without VIGIL_F_EXE_STAT (a kernel without the inode fields) the identity is unknown, not zero.
    @Test func execWithoutStatHasNoIdentity() throws {
        guard case .exec(let e) = try decodeOne(execRecord(flags: 0)) else { Issue.record("not exec"); return }
        #expect(e.exeIdentity == nil)
        #expect(e.path == "/usr/bin/cat")
    }

    @Test func failedRelativeOpenIsJoinedToItsDirectory() throws {
        let path = "../etc/./missing", base = "/tmp/work"
        var b = RecordBuilder.header(kind: 4, flags: 1 << 5, size: 56 + path.utf8.count + base.utf8.count)
        b.put(Int64(-2)); b.put(UInt32(0o100 | 0o1)); b.put(UInt32(0o644))
        b.put(UInt16(path.utf8.count)); b.put(UInt16(base.utf8.count)); b.put(UInt32(0))
        b.put(path); b.put(base)
        guard case .open(let e) = try decodeOne(b.bytes) else { Issue.record("not open"); return }
        #expect(e.path == "/tmp/etc/missing")
        #expect(e.result == -2)
        #expect(e.isWrite)
    }

    @Test func connectIPv4IPv6AndUnix() throws {
        func net(family: UInt16, port: UInt16, addr: [UInt8], unix: String = "", peer: (UInt64, UInt64)? = nil) -> [UInt8] {
            var b = RecordBuilder.header(kind: 5, flags: peer == nil ? 0 : 1 << 12 | 1 << 13, size: 192)
            b.put(Int64(0)); b.put(family); b.put(port); b.put(UInt32(0))
            b.bytes.append(contentsOf: addr + [UInt8](repeating: 0, count: 16 - addr.count))
            b.bytes.append(contentsOf: Array(unix.utf8))
            b.pad(to: 176)
            b.put(peer?.0 ?? 0); b.put(peer?.1 ?? 0)
            return b.bytes
        }
        guard case .connect(let v4) = try decodeOne(net(family: 2, port: 443, addr: [127, 0, 0, 1])) else { Issue.record("v4"); return }
        #expect(v4.address == "127.0.0.1" && v4.port == 443 && v4.family == .inet)
        #expect(!v4.crossesBoundary && v4.peerCgroup == 0 && v4.peerInode == 0)
        // A crossing: the listener's cgroup and socket inode ride on the record.
        guard case .connect(let crossing) = try decodeOne(net(family: 2, port: 5432, addr: [127, 0, 0, 1], peer: (0x1234, 987_654)))
        else { Issue.record("crossing"); return }
        #expect(crossing.crossesBoundary && crossing.header.flags.contains(.peerRefused))
        #expect(crossing.peerCgroup == 0x1234 && crossing.peerInode == 987_654)
        guard
            case .connect(let v6) = try decodeOne(net(family: 10, port: 80, addr: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]))
        else { Issue.record("v6"); return }
        #expect(v6.address == "2001:db8::1")
        guard case .connect(let ux) = try decodeOne(net(family: 1, port: 0, addr: [], unix: "")) else { Issue.record("unix"); return }
        #expect(ux.family == .unix)
    }

    @Test func truncatedRecordIsAnErrorNamingItsOffset() {
        var b = RecordBuilder.header(kind: 2, size: 40)
        b.put(Int32(5))  // 4 bytes short of the fork record
        #expect(throws: EventDecodingError.self) {
            try b.bytes.withUnsafeBytes { try EventDecoder.decodeBatch($0) { _ in } }
        }
        var unknown = RecordBuilder.header(kind: 99, size: 32)
        unknown.pad(to: 32)
        #expect(throws: EventDecodingError.unknownKind(99, offset: 0)) {
            try unknown.bytes.withUnsafeBytes { try EventDecoder.decodeBatch($0) { _ in } }
        }
    }

    @Test(arguments: [
        ([UInt8](repeating: 0, count: 15) + [1], "::1"),
        ([UInt8](repeating: 0, count: 16), "::"),
        ([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], "2001:db8:0:1::1"),
        ([UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 0, 0, 1], "::ffff:10.0.0.1"),
        ([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2a], "fe80::2a"),
    ])
    func ipv6Text(bytes: [UInt8], expected: String) {
        #expect(IPAddressFormatter.ipv6(bytes: bytes) == expected)
    }

    @Test(arguments: [
        ("/a/b", "../c", "/a/c"), ("/", "x/./y//z", "/x/y/z"), ("/a", "/abs/../p", "/p"), ("/a", "../../..", "/"),
        ("/a/b", ".", "/a/b"), ("/a/b", "./", "/a/b"), ("/", "", "/"), ("/a", "..", "/"), ("/a/b", "c/..", "/a/b"),
        ("/a", "...", "/a/..."), ("/a", "..x/.y", "/a/..x/.y"), ("/a", "x/", "/a/x"), ("//a//", "b", "/a/b"),
        ("/tmp/é", "../ü/./f.h", "/tmp/ü/f.h"),
    ])
    func pathJoin(base: String, relative: String, expected: String) {
        #expect(PathNormalizer.join(base, relative) == expected)
    }
}
