// SPDX-License-Identifier: Apache-2.0
// Ring-buffer records → typed events. Kinds and offsets are EventABI.swift's, which mirror
// bpf/include/vigil_abi.h; the sensor's tests check them against the C layout.

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
            let kind = bytes.loadUnaligned(fromByteOffset: offset + EventLayout.Header.kind, as: UInt16.self)
            let size = Int(bytes.loadUnaligned(fromByteOffset: offset + EventLayout.Header.recordSize, as: UInt32.self))
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
        typealias H = EventLayout.Header
        let rawKind = r.loadUnaligned(fromByteOffset: H.kind, as: UInt16.self)
        func need(_ n: Int) throws(EventDecodingError) {
            if r.count < n {
                throw .malformedRecord(kind: rawKind, size: r.count, offset: offset, available: r.count)
            }
        }
        let header = EventHeader(
            ktimeNanoseconds: r.loadUnaligned(fromByteOffset: H.ktimeNs, as: UInt64.self),
            pid: r.loadUnaligned(fromByteOffset: H.pid, as: Int32.self),
            tid: r.loadUnaligned(fromByteOffset: H.tid, as: Int32.self),
            session: r.loadUnaligned(fromByteOffset: H.session, as: UInt64.self),
            flags: EventFlags(rawValue: r.loadUnaligned(fromByteOffset: H.flags, as: UInt16.self))
        )
        guard let kind = EventKind(rawValue: rawKind) else {
            throw .unknownKind(rawKind, offset: offset)
        }
        switch kind {
        case .exec:
            typealias X = EventLayout.Exec
            try need(X.size)
            let pathLength = Int(r.loadUnaligned(fromByteOffset: X.pathLength, as: UInt16.self))
            let argvLength = Int(r.loadUnaligned(fromByteOffset: X.argvLength, as: UInt16.self))
            try need(X.size + pathLength + argvLength)
            let path = string(r, X.size, pathLength)
            let argv = splitNUL(r, X.size + pathLength, argvLength)
            let device = userDevice(r.loadUnaligned(fromByteOffset: X.exeDevice, as: UInt64.self))
            let inode = r.loadUnaligned(fromByteOffset: X.exeInode, as: UInt64.self)
            return .exec(
                ExecEvent(
                    header: header,
                    ppid: r.loadUnaligned(fromByteOffset: X.ppid, as: Int32.self),
                    uid: r.loadUnaligned(fromByteOffset: X.uid, as: UInt32.self),
                    gid: r.loadUnaligned(fromByteOffset: X.gid, as: UInt32.self),
                    cgroupID: r.loadUnaligned(fromByteOffset: X.cgroupID, as: UInt64.self),
                    exeDevice: device, exeInode: inode, path: path, argv: argv,
                    exeIdentity: header.flags.contains(.exeStat)
                        ? FileIdentity(
                            device: device, inode: inode, size: r.loadUnaligned(fromByteOffset: X.exeSize, as: Int64.self),
                            mtimeSeconds: r.loadUnaligned(fromByteOffset: X.exeMtimeSec, as: Int64.self),
                            mtimeNanoseconds: Int64(r.loadUnaligned(fromByteOffset: X.exeMtimeNsec, as: UInt32.self)),
                            ctimeSeconds: r.loadUnaligned(fromByteOffset: X.exeCtimeSec, as: Int64.self),
                            ctimeNanoseconds: Int64(r.loadUnaligned(fromByteOffset: X.exeCtimeNsec, as: UInt32.self))) : nil))
        case .fork:
            try need(EventLayout.Fork.size)
            return .fork(ForkEvent(header: header, childPID: r.loadUnaligned(fromByteOffset: EventLayout.Fork.childPID, as: Int32.self)))
        case .exit:
            try need(EventLayout.Exit.size)
            return .exit(ExitEvent(header: header, rawCode: r.loadUnaligned(fromByteOffset: EventLayout.Exit.exitCode, as: UInt32.self)))
        case .open:
            typealias O = EventLayout.Open
            try need(O.size)
            let pathLength = Int(r.loadUnaligned(fromByteOffset: O.pathLength, as: UInt16.self))
            let baseLength = Int(r.loadUnaligned(fromByteOffset: O.baseLength, as: UInt16.self))
            try need(O.size + pathLength + baseLength)
            var path = string(r, O.size, pathLength)
            if header.flags.contains(.pathUnresolved) && !path.hasPrefix("/") && baseLength > 0 {
                path = PathNormalizer.join(string(r, O.size + pathLength, baseLength), path)
            }
            return .open(
                OpenEvent(
                    header: header, path: path,
                    flags: r.loadUnaligned(fromByteOffset: O.flags, as: UInt32.self),
                    mode: r.loadUnaligned(fromByteOffset: O.mode, as: UInt32.self),
                    result: r.loadUnaligned(fromByteOffset: O.result, as: Int64.self)))
        case .connect, .send:
            typealias N = EventLayout.Net
            try need(N.size)
            let familyRaw = r.loadUnaligned(fromByteOffset: N.family, as: UInt16.self)
            let family = AddressFamily(rawValue: familyRaw)
            let address: String
            switch family {
            case .inet: address = IPAddressFormatter.ipv4(r, at: N.address)
            case .inet6: address = IPAddressFormatter.ipv6(r, at: N.address)
            case .unix: address = unixPath(r)
            case nil: address = "family:\(familyRaw)"
            }
            let event = NetworkEvent(
                header: header, family: family, address: address,
                port: r.loadUnaligned(fromByteOffset: N.port, as: UInt16.self),
                result: r.loadUnaligned(fromByteOffset: N.result, as: Int64.self),
                peerCgroup: r.loadUnaligned(fromByteOffset: N.peerCgroup, as: UInt64.self),
                peerInode: r.loadUnaligned(fromByteOffset: N.peerInode, as: UInt64.self),
                peerPID: r.loadUnaligned(fromByteOffset: N.peerPID, as: Int32.self))
            return kind == .connect ? .connect(event) : .send(event)
        case .procAccess:
            typealias P = EventLayout.ProcAccess
            try need(P.size)
            return .procAccess(
                ProcessAccessEvent(
                    header: header, rawCall: r.loadUnaligned(fromByteOffset: P.call, as: UInt16.self),
                    request: r.loadUnaligned(fromByteOffset: P.request, as: Int64.self),
                    argument: r.loadUnaligned(fromByteOffset: P.arg, as: Int64.self),
                    targetPID: r.loadUnaligned(fromByteOffset: P.targetPID, as: Int32.self),
                    targetSession: r.loadUnaligned(fromByteOffset: P.targetSession, as: UInt64.self)))
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
        let start = EventLayout.Net.unixPath
        let bytes = UnsafeRawBufferPointer(rebasing: r[start..<(start + EventLayout.Net.unixPathMax)])
        if bytes.first == 0 {  // abstract namespace: "@name"
            let name = bytes.dropFirst().prefix { $0 != 0 }
            return name.isEmpty ? "" : "@" + String(decoding: name, as: UTF8.self)
        }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
