// SPDX-License-Identifier: Apache-2.0
// The device's half of binding an OS account to a person: start a login, complete it with the code
// the person was given, and ask who is behind an OS account (vigild caches the answer).
import Foundation
import VigilAPI

extension ConsoleClient {
    public func startLogin(_ request: LoginStartRequest) async throws(FleetError) -> LoginStarted {
        try await call("POST", "/api/v1/device/logins", body: Self.encoded(request), as: LoginStarted.self)
    }

    public func completeLogin(id: String, uid: UInt32, code: String) async throws(FleetError) -> HumanBinding {
        guard id.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7a) }) else {
            throw FleetError(.state, "\(id) is not a login id")
        }
        return try await call(
            "POST", "/api/v1/device/logins/\(id)", body: Self.encoded(LoginCompleteRequest(uid: uid, code: code)), as: HumanBinding.self)
    }

    /// The person behind `uid` on this device; nil when the console knows none (or it expired).
    public func binding(uid: UInt32) async throws(FleetError) -> HumanBinding? {
        let path = "/api/v1/device/bindings/\(uid)"
        let answer = try await send("GET", path)
        if answer.status == 404 { return nil }
        guard (200..<300).contains(answer.status) else { throw Self.refusal(answer, path) }
        do {
            return try JSONDecoder().decode(HumanBinding.self, from: Data(answer.body))
        } catch {
            throw FleetError(.response, "the console's answer to \(path) does not decode: \(error)")
        }
    }

    private static func encoded(_ value: some Encodable) -> [UInt8] {
        // Encoding these plain structs cannot fail.
        (try? Array(JSONEncoder().encode(value))) ?? []
    }
}
