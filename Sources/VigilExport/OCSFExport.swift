// SPDX-License-Identifier: Apache-2.0
// Maps log entries to OCSF events: Process 1007, File System 1001, Network 4001, API 6003, Finding 2004.
import Foundation
import VigilAudit
import VigilJSON

/// OCSF (1.3) export of audit entries, one JSON object per line, for SIEM ingestion.
///
/// | entry kind | OCSF class | activity |
/// | --- | --- | --- |
/// | `exec` | Process Activity 1007 | 1 Launch |
/// | `open` | File System Activity 1001 | 14 Open |
/// | `connect` / `send` | Network Activity 4001 | 1 Open / 6 Traffic |
/// | `toolCall` | API Activity 6003 | 99 Other (`api.operation` = tool name) |
/// | `gap`, `posture`, any other kind | Detection Finding 2004 | 1 Create |
///
/// Every entry whose decision is `deny`, `kill` or `flag` also yields a Detection Finding 2004
/// (`is_alert: true`) that names the rule. Decisions map to the security-control profile
/// (`action_id`, `disposition_id`). Log provenance (index, leaf hash, chain link, origin) is in
/// `metadata` and `unmapped.vigil`.
public enum OCSFExport {
    public static let schemaVersion = "1.3.0"

    /// Exports a verified log. Refuses a log that does not verify.
    /// - Throws: ``AuditError/Code/logDoesNotVerify`` with the report.
    public static func lines(directory: String, publicKey: NoteVerifierKey? = nil) throws(AuditError) -> [String] {
        var leaves: [(AuditLeaf, MerkleHash)] = []
        let key = try AuditVerifier.forEachVerifiedLeaf(directory: directory, publicKey: publicKey) { leaves.append(($0, $1)) }
        return leaves.flatMap { leaf, hash in events(for: leaf, leafHash: hash, origin: key.name).map(\.jsonLine) }
    }

    /// The OCSF events for one leaf (one, or two when the decision is an alert).
    public static func events(for leaf: AuditLeaf, leafHash: MerkleHash, origin: String) -> [OCSFValue] {
        let entry = leaf.entry
        var primary: [OCSFValue] = []
        switch entry.kind {
        case .exec: primary.append(activity(leaf, leafHash, origin, classUID: 1007, activity: 1, name: "Launch", specific: processFields(entry)))
        case .open: primary.append(activity(leaf, leafHash, origin, classUID: 1001, activity: 14, name: "Open", specific: fileFields(entry)))
        case .connect, .send:
            let (id, name): (Int64, String) = entry.kind == .connect ? (1, "Open") : (6, "Traffic")
            primary.append(activity(leaf, leafHash, origin, classUID: 4001, activity: id, name: name, specific: networkFields(entry)))
        case .toolCall: primary.append(activity(leaf, leafHash, origin, classUID: 6003, activity: 99, name: "Other", specific: apiFields(entry)))
        default: return [finding(leaf, leafHash, origin, isAlert: isAlert(entry) || entry.kind == .gap)]
        }
        if isAlert(entry) { primary.append(finding(leaf, leafHash, origin, isAlert: true)) }
        return primary
    }

    static func isAlert(_ entry: AuditEntry) -> Bool {
        [.deny, .kill, .flag].contains(entry.decision)
    }

    private static func categoryUID(_ classUID: Int64) -> Int64 { classUID / 1000 }

    /// The base event, the security-control profile and Vigil's provenance.
    static func base(_ leaf: AuditLeaf, _ leafHash: MerkleHash, _ origin: String, classUID: Int64, activity: Int64, name: String) -> [String:
        OCSFValue]
    {
        let entry = leaf.entry
        var event: [String: OCSFValue] = [
            "class_uid": .int(classUID), "category_uid": .int(categoryUID(classUID)), "activity_id": .int(activity),
            "activity_name": .string(name), "type_uid": .int(classUID * 100 + activity),
            "time": .int(entry.time / 1_000_000), "severity_id": .int(severity(entry)),
            "metadata": [
                "version": .string(schemaVersion), "product": ["name": "Vigil", "vendor_name": "Vigil"],
                "uid": .string("\(origin)/\(leaf.index)"), "log_name": .string(origin), "sequence": .int(Int64(leaf.index)),
                "logged_time": .int(leaf.recorded / 1_000_000),
            ],
            "device": ["uid": .string(entry.deviceId), "type_id": 0],
            "actor": actor(entry),
        ]
        if let decision = entry.decision {
            let (actionID, dispositionID) = controls(decision, succeeded: entry.enforcement?.succeeded)
            event["action_id"] = .int(actionID)
            event["action"] = .string(decision.rawValue)
            event["disposition_id"] = .int(dispositionID)
        }
        if let enforcement = entry.enforcement {
            event["status_id"] = .int(enforcement.succeeded ? 1 : 2)
            event["status"] = .string(enforcement.succeeded ? "Success" : "Failure")
            event.set("status_detail", enforcement.detail.map { .string($0) })
        }
        if let rule = entry.winningRule {
            var policy: [String: OCSFValue] = ["uid": .string(rule), "name": .string(rule)]
            policy.set("version", entry.policyVersion.map { .string($0) })
            event["policy"] = .object(policy)
        }
        var vigil: [String: OCSFValue] = [
            "index": .int(Int64(leaf.index)), "leaf_hash": .string(leafHash.hex), "prev": .string(leaf.prev.hex),
            "origin": .string(origin), "kind": .string(entry.kind.rawValue),
        ]
        if !entry.matchedRules.isEmpty { vigil["matched_rules"] = .array(entry.matchedRules.map { .string($0) }) }
        vigil.set("policy_version", entry.policyVersion.map { .string($0) })
        vigil.set("enforcement", entry.enforcement.map { .string("\($0.action):\($0.succeeded ? "ok" : "failed")") })
        vigil.set("posture_ref", entry.postureRef.map { .string($0) })
        vigil.set("mode", entry.action.mode.map { .string($0) })
        if let gap = entry.gap {
            var object: [String: OCSFValue] = ["source": .string(gap.source), "lost": .int(Int64(clamping: gap.lost))]
            object.set("reason", gap.reason.map { .string($0) })
            vigil["gap"] = .object(object)
        }
        if !entry.extra.isEmpty { vigil["extra"] = .object(entry.extra.mapValues { .string($0) }) }
        event["unmapped"] = ["vigil": .object(vigil)]
        return event
    }

    static func severity(_ entry: AuditEntry) -> Int64 {
        switch entry.decision {
        case .kill?: 4
        case .deny?: 3
        case .flag?, .ask?: 2
        default: entry.kind == .gap ? 3 : 1
        }
    }

    /// OCSF security-control `action_id` and `disposition_id` for a decision.
    static func controls(_ decision: AuditEntry.Decision, succeeded: Bool?) -> (Int64, Int64) {
        switch decision {
        case .allow: (1, 1)
        case .deny: (2, succeeded == false ? 27 : 2)
        case .kill: (2, succeeded == false ? 27 : 7)
        case .flag: (3, 19)
        case .ask: (99, 23)
        default: (0, 0)
        }
    }
}
