// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import VigilCore

/// VIGIL_EVENT_PROC_ACCESS records (vigil_abi.h), decoded and rendered.
@Suite struct ProcessAccessEventTests {
    func record(call: UInt16, flags: UInt16, request: Int64, arg: Int64, target: Int32, targetSession: UInt64) -> [UInt8] {
        var b = RecordBuilder.header(kind: 7, flags: flags, size: 64, pid: 300, session: 7)
        b.put(call); b.put(UInt16(0)); b.put(target); b.put(request); b.put(arg); b.put(targetSession)
        return b.bytes
    }

    func decode(_ bytes: [UInt8]) throws -> ProcessAccessEvent {
        var events: [SensorEvent] = []
        try bytes.withUnsafeBytes { try EventDecoder.decodeBatch($0) { events.append($0) } }
        guard events.count == 1, case .procAccess(let e) = events[0] else {
            Issue.record("not one proc_access: \(events)")
            throw EventDecodingError.unknownKind(7, offset: 0)
        }
        return e
    }

    @Test func killedAttachOutsideTheSession() throws {
        let e = try decode(record(call: 1, flags: 1 << 8, request: 16, arg: 812, target: 812, targetSession: 0))
        #expect(e.call == .ptrace && e.requestName == "PTRACE_ATTACH")
        #expect(e.targetPID == 812 && e.argument == 812 && e.targetSession == 0)
        #expect(e.killed && e.header.pid == 300 && e.header.session == 7)
        #expect(EventRenderer.detail(.procAccess(e)) == "ptrace PTRACE_ATTACH pid 812 (outside the session)  -> killed")
        let json = EventRenderer.json(.procAccess(e), RenderedContext())
        #expect(json.hasPrefix(#"{"kind":"proc_access","#))
        #expect(
            json.hasSuffix(
                #""tags":["killed"],"call":"ptrace","request":"PTRACE_ATTACH","target":812,"target_resolved":true,"target_session":"0000000000000000","arg":812,"killed":true}"#
            ))
    }

    @Test func unresolvedPidfdIsShownAsSuch() throws {
        let e = try decode(record(call: 4, flags: 1 << 8 | 1 << 11, request: 5, arg: 3, target: 0, targetSession: 0))
        #expect(e.call == .pidfdGetfd && e.requestName == nil && e.header.flags.contains(.targetUnresolved))
        #expect(EventRenderer.detail(.procAccess(e)) == "pidfd_getfd an unresolved target (pidfd 5) (outside the session)  -> killed")
        #expect(EventRenderer.json(.procAccess(e), RenderedContext()).contains(#""target":0,"target_resolved":false"#))
    }

    @Test func allowedAttachInsideTheSessionAndUnknownCalls() throws {
        let e = try decode(record(call: 1, flags: 0, request: 0x4206, arg: 301, target: 301, targetSession: 7))
        #expect(!e.killed && e.requestName == "PTRACE_SEIZE")
        #expect(EventRenderer.detail(.procAccess(e)) == "ptrace PTRACE_SEIZE pid 301 (in the session)  -> allowed")
        let unknown = try decode(record(call: 99, flags: 0, request: 0, arg: 0, target: 301, targetSession: 7))
        #expect(unknown.call == nil && unknown.callName == "call:99")
    }

    @Test func aShortRecordIsMalformed() {
        var b = RecordBuilder.header(kind: 7, size: 40)
        b.pad(to: 40)
        #expect(throws: EventDecodingError.self) {
            try b.bytes.withUnsafeBytes { try EventDecoder.decodeBatch($0) { _ in } }
        }
    }
}
