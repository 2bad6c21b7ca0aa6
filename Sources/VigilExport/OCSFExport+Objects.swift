// SPDX-License-Identifier: Apache-2.0
// OCSF objects built from an entry: actor, process (with parent chain), file, endpoint, api, finding.
import VigilAudit
import VigilJSON

extension OCSFExport {
    static func activity(
        _ leaf: AuditLeaf, _ hash: MerkleHash, _ origin: String, classUID: Int64, activity: Int64, name: String,
        specific: [String: OCSFValue]
    ) -> OCSFValue {
        var event = base(leaf, hash, origin, classUID: classUID, activity: activity, name: name)
        event.merge(specific) { $1 }
        return .object(event)
    }

    static func finding(_ leaf: AuditLeaf, _ hash: MerkleHash, _ origin: String, isAlert: Bool) -> OCSFValue {
        let entry = leaf.entry
        var event = base(leaf, hash, origin, classUID: 2004, activity: 1, name: "Create")
        var title = "\(entry.kind.rawValue)"
        if let decision = entry.decision { title += " \(decision.rawValue)" }
        if let rule = entry.winningRule { title += " by rule \(rule)" }
        if let gap = entry.gap { title = "gap: \(gap.lost) events lost at \(gap.source)" }
        var info: [String: OCSFValue] = [
            "uid": .string("\(origin)/\(leaf.index)/finding"), "title": .string(title),
            "types": .array([.string("vigil.\(entry.kind.rawValue)")]),
        ]
        info.set("desc", entry.gap?.reason.map { .string($0) })
        event["finding_info"] = .object(info)
        event["is_alert"] = .bool(isAlert)
        var evidence: [String: OCSFValue] = [:]
        if let process = process(entry.ancestry[...], argv: entry.action.argv) { evidence["process"] = process }
        if let path = entry.action.path { evidence["file"] = file(path) }
        if let endpoint = endpoint(entry) { evidence["dst_endpoint"] = endpoint }
        if !evidence.isEmpty { event["evidences"] = .array([.object(evidence)]) }
        return .object(event)
    }

    static func actor(_ entry: AuditEntry) -> OCSFValue {
        var actor: [String: OCSFValue] = [:]
        if let subject = entry.subject {
            var user: [String: OCSFValue] = ["uid": .string(String(subject.uid))]
            user.set("name", subject.userName.map { .string($0) })
            actor["user"] = .object(user)
        }
        if let session = entry.sessionId { actor["session"] = ["uid": .string(session)] }
        // For a launch, the actor is the parent; otherwise the acting process itself.
        let chain = entry.kind == .exec ? entry.ancestry.dropFirst() : entry.ancestry[...]
        if let process = process(chain, argv: entry.kind == .exec ? nil : entry.action.argv) { actor["process"] = process }
        return .object(actor)
    }

    /// A process object with its executable hash and its parents nested in `parent_process`.
    static func process(_ chain: ArraySlice<AuditEntry.ProcessLink>, argv: [String]?) -> OCSFValue? {
        guard let first = chain.first else { return nil }
        var object: [String: OCSFValue] = ["pid": .int(Int64(first.pid)), "file": file(first.exe, sha256: first.sha256)]
        if let argv { object["cmd_line"] = .string(argv.joined(separator: " ")) }
        if let parent = process(chain.dropFirst(), argv: nil) { object["parent_process"] = parent }
        return .object(object)
    }

    static func file(_ path: String, sha256: String? = nil) -> OCSFValue {
        var object: [String: OCSFValue] = [
            "path": .string(path), "name": .string(String(path.split(separator: "/").last ?? "")), "type_id": 1,
        ]
        if let sha256 { object["hashes"] = [["algorithm_id": 3, "algorithm": "SHA-256", "value": .string(sha256)]] }
        return .object(object)
    }

    static func endpoint(_ entry: AuditEntry) -> OCSFValue? {
        guard let address = entry.action.address else { return nil }
        var object: [String: OCSFValue] = [:]
        let isIP = address.contains(":") || address.allSatisfy { $0.isNumber || $0 == "." }
        object[isIP ? "ip" : "hostname"] = .string(address)
        object.set("port", entry.action.port.map { .int(Int64($0)) })
        return .object(object)
    }

    static func processFields(_ entry: AuditEntry) -> [String: OCSFValue] {
        var fields: [String: OCSFValue] = [:]
        if let process = process(entry.ancestry[...], argv: entry.action.argv) {
            fields["process"] = process
        } else if let argv = entry.action.argv {
            fields["process"] = ["cmd_line": .string(argv.joined(separator: " "))]
        }
        return fields
    }

    static func fileFields(_ entry: AuditEntry) -> [String: OCSFValue] {
        ["file": file(entry.action.path ?? "")]
    }

    static func networkFields(_ entry: AuditEntry) -> [String: OCSFValue] {
        var fields: [String: OCSFValue] = ["connection_info": ["direction_id": 2, "direction": "Outbound"]]
        if let transport = entry.action.transport {
            fields["connection_info"] = ["direction_id": 2, "direction": "Outbound", "protocol_name": .string(transport)]
        }
        fields.set("dst_endpoint", endpoint(entry))
        if let bytes = entry.action.bytes { fields["traffic"] = ["bytes_out": .int(bytes)] }
        return fields
    }

    static func apiFields(_ entry: AuditEntry) -> [String: OCSFValue] {
        var api: [String: OCSFValue] = ["operation": .string(entry.action.toolName ?? "unknown"), "service": ["name": "claude-code"]]
        if let input = entry.action.toolInput { api["request"] = ["uid": .string("\(entry.time)"), "data": ["summary": .string(input)]] }
        return ["api": .object(api), "src_endpoint": ["hostname": .string(entry.deviceId)]]
    }
}
