// SPDX-License-Identifier: Apache-2.0
// Ring-buffer records → typed events. Offsets mirror bpf/include/vigil_abi.h; the sensor's tests
// check them against the C layout, so a change on either side fails the build or the tests.

public enum EventDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A record whose size is smaller than its kind's fixed part or runs past the batch.
    case malformedRecord(kind: UInt16, size: Int, offset: Int, available: Int)
    case unknownKind(UInt16, offset: Int)

    public var description: String {
        switch self {
        case let .malformedRecord(kind, size, offset, available):
            "malformed sensor record of kind \(kind) at byte \(offset): size \(size), \(available) bytes available"
        case let .unknownKind(kind, offset):
            "unknown sensor record kind \(kind) at byte \(offset)"
        }
    }
}

/// The ABI's layout, in one place.
public enum EventLayout {
    public static let headerSize = 32
    public static let execFixedSize = 112
    public static let forkSize = 40
    public static let exitSize = 40
    public static let openFixedSize = 56
    public static let netSize = 176
    public static let unixPathOffset = 64
    public static let unixPathMax = 108
}

public enum EventDecoder {
    /// Decodes every record of a batch (records back to back, each `size` bytes, 8-byte aligned
    /// as the ring buffer delivers them), calling `body` for each.
    /// - Throws: `EventDecodingError` at the first malformed record; earlier records were delivered.
    public static func decodeBatch(
        _ bytes: UnsafeRawBufferPointer,
        _ body: (SensorEvent) throws -> Void
    ) throws {
        var offset = 0
        while offset + EventLayout.headerSize <= bytes.count {
            let kind = bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
            let size = Int(bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
            guard size >= EventLayout.headerSize, offset + size <= bytes.count else {
                throw EventDecodingError.malformedRecord(
                    kind: kind, size: size, offset: offset, available: bytes.count - offset)
            }
            let record = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + size)])
            try body(try decode(record, offset: offset))
            offset += size
        }
    }

    /// Decodes one record.
    public static func decode(_ r: UnsafeRawBufferPointer, offset: Int = 0) throws(EventDecodingError) -> SensorEvent {
        let kind = r.loadUnaligned(fromByteOffset: 0, as: UInt16.self)
        func need(_ n: Int) throws(EventDecodingError) {
            if r.count < n {
                throw .malformedRecord(kind: kind, size: r.count, offset: offset, available: r.count)
            }
        }
        let header = EventHeader(
            ktimeNanoseconds: r.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            pid: r.loadUnaligned(fromByteOffset: 16, as: Int32.self),
            tid: r.loadUnaligned(fromByteOffset: 20, as: Int32.self),
            session: r.loadUnaligned(fromByteOffset: 24, as: UInt64.self),
            flags: EventFlags(rawValue: r.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        )
        switch kind {
        case 1:
            try need(EventLayout.execFixedSize)
            let pathLength = Int(r.loadUnaligned(fromByteOffset: 72, as: UInt16.self))
            let argvLength = Int(r.loadUnaligned(fromByteOffset: 74, as: UInt16.self))
            try need(EventLayout.execFixedSize + pathLength + argvLength)
            let path = string(r, EventLayout.execFixedSize, pathLength)
            let argv = splitNUL(r, EventLayout.execFixedSize + pathLength, argvLength)
            let device = userDevice(r.loadUnaligned(fromByteOffset: 56, as: UInt64.self))
            let inode = r.loadUnaligned(fromByteOffset: 64, as: UInt64.self)
            return .exec(ExecEvent(
                header: header,
                ppid: r.loadUnaligned(fromByteOffset: 32, as: Int32.self),
                uid: r.loadUnaligned(fromByteOffset: 36, as: UInt32.self),
                gid: r.loadUnaligned(fromByteOffset: 40, as: UInt32.self),
                cgroupID: r.loadUnaligned(fromByteOffset: 48, as: UInt64.self),
                exeDevice: device, exeInode: inode, path: path, argv: argv,
                exeIdentity: header.flags.contains(.exeStat) ? FileIdentity(
                    device: device, inode: inode, size: r.loadUnaligned(fromByteOffset: 80, as: Int64.self),
                    mtimeSeconds: r.loadUnaligned(fromByteOffset: 88, as: Int64.self),
                    mtimeNanoseconds: Int64(r.loadUnaligned(fromByteOffset: 104, as: UInt32.self)),
                    ctimeSeconds: r.loadUnaligned(fromByteOffset: 96, as: Int64.self),
                    ctimeNanoseconds: Int64(r.loadUnaligned(fromByteOffset: 108, as: UInt32.self))) : nil))
        case 2:
            try need(EventLayout.forkSize)
            return .fork(ForkEvent(header: header, childPID: r.loadUnaligned(fromByteOffset: 32, as: Int32.self)))
        case 3:
            try need(EventLayout.exitSize)
            return .exit(ExitEvent(header: header, rawCode: r.loadUnaligned(fromByteOffset: 32, as: UInt32.self)))
        case 4:
            try need(EventLayout.openFixedSize)
            let pathLength = Int(r.loadUnaligned(fromByteOffset: 48, as: UInt16.self))
            let baseLength = Int(r.loadUnaligned(fromByteOffset: 50, as: UInt16.self))
            try need(EventLayout.openFixedSize + pathLength + baseLength)
            var path = string(r, EventLayout.openFixedSize, pathLength)
            if header.flags.contains(.pathUnresolved) && !path.hasPrefix("/") && baseLength > 0 {
                path = PathNormalizer.join(string(r, EventLayout.openFixedSize + pathLength, baseLength), path)
            }
            return .open(OpenEvent(
                header: header, path: path,
                flags: r.loadUnaligned(fromByteOffset: 40, as: UInt32.self),
                mode: r.loadUnaligned(fromByteOffset: 44, as: UInt32.self),
                result: r.loadUnaligned(fromByteOffset: 32, as: Int64.self)))
        case 5, 6:
            try need(EventLayout.netSize)
            let familyRaw = r.loadUnaligned(fromByteOffset: 40, as: UInt16.self)
            let family = AddressFamily(rawValue: familyRaw)
            let address: String
            switch family {
            case .inet: address = IPAddressFormatter.ipv4(r, at: 48)
            case .inet6: address = IPAddressFormatter.ipv6(r, at: 48)
            case .unix: address = unixPath(r)
            case nil: address = "family:\(familyRaw)"
            }
            let event = NetworkEvent(
                header: header, family: family, address: address,
                port: r.loadUnaligned(fromByteOffset: 42, as: UInt16.self),
                result: r.loadUnaligned(fromByteOffset: 32, as: Int64.self))
            return kind == 5 ? .connect(event) : .send(event)
        default:
            throw .unknownKind(kind, offset: offset)
        }
    }

    /// Kernel `dev_t` (major << 20 | minor) → glibc's user-space encoding, as `stat` reports it.
    public static func userDevice(_ kernel: UInt64) -> UInt64 {
        let major = kernel >> 20, minor = kernel & 0xfffff
        return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) << 32)
    }

    private static func string(_ r: UnsafeRawBufferPointer, _ start: Int, _ length: Int) -> String {
        var end = start + length
        // A path read as a C string may carry its NUL.
        while end > start && r[end - 1] == 0 { end -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: r[start..<end]), as: UTF8.self)
    }

    private static func splitNUL(_ r: UnsafeRawBufferPointer, _ start: Int, _ length: Int) -> [String] {
        var result: [String] = []
        var wordStart = start
        let end = start + length
        for i in start..<end where r[i] == 0 {
            result.append(String(decoding: UnsafeRawBufferPointer(rebasing: r[wordStart..<i]), as: UTF8.self))
            wordStart = i + 1
        }
        if wordStart < end {  // truncated final word
            result.append(String(decoding: UnsafeRawBufferPointer(rebasing: r[wordStart..<end]), as: UTF8.self))
        }
        return result
    }

    private static func unixPath(_ r: UnsafeRawBufferPointer) -> String {
        let start = EventLayout.unixPathOffset
        let bytes = UnsafeRawBufferPointer(rebasing: r[start..<(start + EventLayout.unixPathMax)])
        if bytes.first == 0 {  // abstract namespace: "@name"
            let name = bytes.dropFirst().prefix { $0 != 0 }
            return name.isEmpty ? "" : "@" + String(decoding: name, as: UTF8.self)
        }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
