// SPDX-License-Identifier: Apache-2.0
// Tokens and enrolment: an admin issues a token (the console keeps only its secret's hash); a device
// presents it once with the key it will sign with from then on.
import Crypto
import Foundation
import VigilAPI
import VigilSignatures
import HTTPTypes
import VigilAudit

struct EnrollmentService: Sendable {
    let store: any ConsoleStore
    let audit: ConsoleAudit
    /// Read at each issue: the bound port is known only once the server runs.
    let publicURL: @Sendable () -> String
    let pin: String

    struct Issued: Codable, Sendable {
        var id: String
        var token: String
        var team: String?
        var expiresAt: Int64
        var uses: Int
        var requireTPM: Bool
    }

    func issue(team: String?, expiresIn: Int64, uses: Int, requireTPM: Bool = false, actor: String, now: Int64) async throws -> Issued {
        guard expiresIn > 0, expiresIn <= 365 * 86400 else {
            throw Refusal(.badRequest, "bad_expiry", "a token expires in 1 second to 365 days, not \(expiresIn) seconds")
        }
        guard uses > 0, uses <= 100_000 else { throw Refusal(.badRequest, "bad_uses", "a token allows 1 to 100000 uses, not \(uses)") }
        if let team, !Self.isName(team) {
            throw Refusal(.badRequest, "bad_team", "a team name is 1-64 letters, digits, '-', '_' or '.', not \(team)")
        }
        let id = "tok_" + Self.randomHex(8)
        let secret = Base64URL.encode(Self.randomBytes(32))
        let record = EnrollTokenRecord(
            id: id, secretHash: Self.hash(secret), team: team, createdAt: now, expiresAt: now + expiresIn, usesLeft: uses, issuedBy: actor,
            requireTPM: requireTPM)
        try await store.insertToken(record)
        try audit.record(
            "token.issue", actor: actor, target: id,
            details: [
                "team": team ?? "", "uses": "\(uses)", "expiresAt": "\(now + expiresIn)", "requireTPM": requireTPM ? "true" : "false",
            ])
        let token = EnrollToken(id: id, secret: secret, url: publicURL(), pin: pin)
        return Issued(id: id, token: token.encoded, team: team, expiresAt: record.expiresAt, uses: uses, requireTPM: requireTPM)
    }

    /// Registers the device. `verify` has already checked that the request is signed by `key`.
    func enroll(_ request: EnrollRequest, key: MessageVerificationKey, peer: String, now: Int64) async throws -> DeviceRecord {
        // No holder named: a device of an earlier version, whose key is a file key.
        let holder = request.keyHolder ?? "file"
        guard ["tpm", "file"].contains(holder) else {
            throw Refusal(.badRequest, "bad_key_holder", "keyHolder is tpm or file, not \(holder)")
        }
        let device = DeviceRecord(
            id: "dev_" + Self.randomHex(12), keyID: key.keyID, publicKey: key.encoded, team: nil, facts: request.facts,
            tokenID: request.tokenID, enrolledAt: now, lastSeen: now, keyKind: key.algorithm.rawValue, keyHolder: holder)
        do {
            let enrolled = try await store.enroll(tokenID: request.tokenID, secretHash: Self.hash(request.secret), device: device, at: now)
            try audit.record(
                "device.enroll", actor: "device:\(enrolled.id)", target: enrolled.id,
                details: [
                    "token": request.tokenID, "team": enrolled.team ?? "", "hostname": request.facts.hostname, "peer": peer, "keyID": key.keyID,
                    "keyKind": key.algorithm.rawValue, "keyHolder": holder,
                ])
            return enrolled
        } catch let error as ConsoleStoreError {
            try audit.record(
                "device.enroll", actor: "peer:\(peer)", target: request.tokenID, decision: .deny, reason: error.description,
                details: ["hostname": request.facts.hostname, "keyID": key.keyID, "keyHolder": holder])
            switch error {
            case .keyAlreadyEnrolled: throw Refusal(.conflict, "already_enrolled", error.description)
            case .tpmRequired: throw Refusal(.forbidden, "tpm_required", error.description)
            case .tokenExpired, .tokenUsedUp, .tokenRevoked:
                // Checked after the secret matched: only the token's holder learns why.
                throw Refusal(.forbidden, "token_refused", error.description)
            case .tokenUnknown, .tokenSecretMismatch:
                // One answer for both, so a guesser learns nothing; the audit entry has the detail.
                throw Refusal(.forbidden, "token_refused", "the enrolment token is not valid")
            case .database, .deviceUnknown, .adminExists, .adminUnknown, .policyBaseStale: throw error
            }
        }
    }

    static func hash(_ secret: String) -> String { SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined() }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    static func randomHex(_ count: Int) -> String { randomBytes(count).map { String(format: "%02x", $0) }.joined() }

    static func isName(_ text: String) -> Bool {
        (1...64).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }
}
