// SPDX-License-Identifier: Apache-2.0
// One forensic snapshot: who did what, on which device, what policy decided and what was enforced.
import Foundation

/// One audit record as other modules fill it: a forensic snapshot of one decision or one gap.
///
/// Everything except `kind`, `time` and `deviceId` is optional, so each producer (sensor, hook,
/// policy, posture) fills what it knows. Encoded as JSON with sorted keys and integer numbers
/// only (see ``canonicalJSON()``); the log stores the encoded bytes and hashes them as they are stored.
public struct AuditEntry: Codable, Sendable, Hashable {
    /// Event time in nanoseconds since the Unix epoch (UTC), from the event source.
    public var time: Int64
    /// Monotonic kernel time (`CLOCK_MONOTONIC`/`ktime`) of the event, when the sensor has it.
    public var monotonicNs: UInt64?
    public var kind: Kind
    /// The user behind the action.
    public var subject: Subject?
    public var deviceId: String
    /// The agent session (Claude Code `session_id`) the action belongs to.
    public var sessionId: String?
    public var action: Action
    public var decision: Decision?
    /// Every rule that matched, and the one whose effect won.
    public var matchedRules: [String]
    public var winningRule: String?
    public var policyVersion: String?
    public var enforcement: Enforcement?
    /// The acting process first, then its parent, grandparent, …, each with its executable's SHA-256.
    public var ancestry: [ProcessLink]
    /// Hash or identifier of the posture snapshot in force when the decision was made.
    public var postureRef: String?
    /// For `gap` entries: what was lost and where.
    public var gap: Gap?
    /// Free-form fields for producers; keys are sorted when encoded.
    public var extra: [String: String]

    public init(
        time: Int64 = AuditEntry.now(), monotonicNs: UInt64? = nil, kind: Kind, subject: Subject? = nil,
        deviceId: String, sessionId: String? = nil, action: Action = Action(), decision: Decision? = nil,
        matchedRules: [String] = [], winningRule: String? = nil, policyVersion: String? = nil,
        enforcement: Enforcement? = nil, ancestry: [ProcessLink] = [], postureRef: String? = nil,
        gap: Gap? = nil, extra: [String: String] = [:]
    ) {
        self.time = time
        self.monotonicNs = monotonicNs
        self.kind = kind
        self.subject = subject
        self.deviceId = deviceId
        self.sessionId = sessionId
        self.action = action
        self.decision = decision
        self.matchedRules = matchedRules
        self.winningRule = winningRule
        self.policyVersion = policyVersion
        self.enforcement = enforcement
        self.ancestry = ancestry
        self.postureRef = postureRef
        self.gap = gap
        self.extra = extra
    }

    /// A `gap` entry: the sensor (or the log itself) lost `lost` events.
    public static func gap(
        deviceId: String, source: String, lost: UInt64, reason: String? = nil, time: Int64 = AuditEntry.now(),
        extra: [String: String] = [:]
    ) -> AuditEntry {
        AuditEntry(time: time, kind: .gap, deviceId: deviceId, gap: Gap(source: source, lost: lost, reason: reason), extra: extra)
    }

    private enum CodingKeys: String, CodingKey {
        case time, monotonicNs, kind, subject, deviceId, sessionId, action, decision, matchedRules, winningRule
        case policyVersion, enforcement, ancestry, postureRef, gap, extra
    }

    /// Decodes an entry; absent collections (the canonical encoding omits empty ones) are empty.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        time = try c.decode(Int64.self, forKey: .time)
        monotonicNs = try c.decodeIfPresent(UInt64.self, forKey: .monotonicNs)
        kind = try c.decode(Kind.self, forKey: .kind)
        subject = try c.decodeIfPresent(Subject.self, forKey: .subject)
        deviceId = try c.decode(String.self, forKey: .deviceId)
        sessionId = try c.decodeIfPresent(String.self, forKey: .sessionId)
        action = try c.decodeIfPresent(Action.self, forKey: .action) ?? Action()
        decision = try c.decodeIfPresent(Decision.self, forKey: .decision)
        matchedRules = try c.decodeIfPresent([String].self, forKey: .matchedRules) ?? []
        winningRule = try c.decodeIfPresent(String.self, forKey: .winningRule)
        policyVersion = try c.decodeIfPresent(String.self, forKey: .policyVersion)
        enforcement = try c.decodeIfPresent(Enforcement.self, forKey: .enforcement)
        ancestry = try c.decodeIfPresent([ProcessLink].self, forKey: .ancestry) ?? []
        postureRef = try c.decodeIfPresent(String.self, forKey: .postureRef)
        gap = try c.decodeIfPresent(Gap.self, forKey: .gap)
        extra = try c.decodeIfPresent([String: String].self, forKey: .extra) ?? [:]
    }

    /// Wall-clock now, in nanoseconds since the Unix epoch.
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

extension AuditEntry {
    /// What happened. A string-backed struct so producers can add kinds without a schema change.
    public struct Kind: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }
        public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
        public var description: String { rawValue }

        public static let exec: Kind = "exec"
        public static let open: Kind = "open"
        public static let connect: Kind = "connect"
        public static let send: Kind = "send"
        public static let toolCall: Kind = "toolCall"
        /// A session process reaching into another one (ptrace, process_vm_*, pidfd_getfd).
        public static let processAccess: Kind = "processAccess"
        /// Lost events: sensor drops, ring-buffer overruns, or a torn tail excluded by the log.
        public static let gap: Kind = "gap"
        public static let posture: Kind = "posture"
        public static let session: Kind = "session"
        public static let policy: Kind = "policy"
    }

    /// The policy outcome.
    public struct Decision: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public init(stringLiteral value: String) { rawValue = value }
        public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
        public var description: String { rawValue }

        public static let allow: Decision = "allow"
        public static let ask: Decision = "ask"
        public static let deny: Decision = "deny"
        public static let flag: Decision = "flag"
        public static let kill: Decision = "kill"
    }

    public struct Subject: Codable, Sendable, Hashable {
        public var uid: UInt32
        public var userName: String?
        /// The login uid (`auid`), which survives `sudo`.
        public var loginUid: UInt32?
        public init(uid: UInt32, userName: String? = nil, loginUid: UInt32? = nil) {
            self.uid = uid
            self.userName = userName
            self.loginUid = loginUid
        }
    }

    /// The action's details; each kind fills its own fields.
    public struct Action: Codable, Sendable, Hashable {
        public var argv: [String]?
        public var cwd: String?
        public var path: String?
        /// Access mode or open flags, e.g. `r`, `w`, `rw`, `O_WRONLY|O_CREAT`.
        public var mode: String?
        public var address: String?
        public var port: UInt16?
        /// `tcp`, `udp`, `unix`, …
        public var transport: String?
        public var bytes: Int64?
        public var toolName: String?
        /// A (redacted) summary of the tool input.
        public var toolInput: String?
        public init(
            argv: [String]? = nil, cwd: String? = nil, path: String? = nil, mode: String? = nil,
            address: String? = nil, port: UInt16? = nil, transport: String? = nil, bytes: Int64? = nil,
            toolName: String? = nil, toolInput: String? = nil
        ) {
            self.argv = argv
            self.cwd = cwd
            self.path = path
            self.mode = mode
            self.address = address
            self.port = port
            self.transport = transport
            self.bytes = bytes
            self.toolName = toolName
            self.toolInput = toolInput
        }
    }

    /// What was done about the decision and whether it worked.
    public struct Enforcement: Codable, Sendable, Hashable {
        /// e.g. `none`, `hookDeny`, `kernelDeny`, `sigkill`, `prompt`.
        public var action: String
        public var succeeded: Bool
        public var detail: String?
        public init(action: String, succeeded: Bool, detail: String? = nil) {
            self.action = action
            self.succeeded = succeeded
            self.detail = detail
        }
    }

    /// One process in the ancestry chain.
    public struct ProcessLink: Codable, Sendable, Hashable {
        public var pid: Int32
        public var exe: String
        /// SHA-256 of the executable, lower-case hex; `nil` when it could not be read (`sha256Error` says why).
        public var sha256: String?
        /// Why there is no `sha256` (the file was unreadable, too big, replaced, or the process exited first).
        public var sha256Error: String?
        public init(pid: Int32, exe: String, sha256: String?, sha256Error: String? = nil) {
            self.pid = pid
            self.exe = exe
            self.sha256 = sha256
            self.sha256Error = sha256Error
        }
    }

    /// Lost data, recorded as an entry so a gap is never silent.
    public struct Gap: Codable, Sendable, Hashable {
        /// Who lost it: `sensor.ringbuf`, `sensor.queue`, `audit.tornTail`, …
        public var source: String
        public var lost: UInt64
        public var reason: String?
        public init(source: String, lost: UInt64, reason: String? = nil) {
            self.source = source
            self.lost = lost
            self.reason = reason
        }
    }
}
