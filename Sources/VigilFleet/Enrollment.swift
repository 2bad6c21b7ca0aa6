// SPDX-License-Identifier: Apache-2.0
// Enrolment on the device: the token names the console and pins its certificate; the device makes its
// key, registers (signed by that key), and keeps what it needs to reach the console again.
import Foundation
import Glibc
import VigilAPI
import VigilAudit
import VigilDevice
import VigilHost
import VigilSignatures

/// What an enrolled device keeps (`<state>/console/enrollment.json`, 0600).
public struct EnrollmentState: Codable, Sendable, Equatable {
    public var consoleURL: String
    /// `sha256:<hex>` of the console's certificate: the only one accepted, on every connection.
    public var pin: String
    public var deviceID: String
    public var keyID: String
    public var team: String?
    /// `tpm` or `file`; nil in enrolments made before the TPM key (a file key).
    public var keyHolder: String?
    /// The console's policy key (`MessageVerificationKey.encoded`): bundles must be signed by it.
    public var policyKey: String
    public var enrolledAt: Int64
}

public struct FleetEnrollment: Sendable {
    public let directory: String

    /// `stateDirectory` is vigild's (default /var/lib/vigil); the console's files go in `console/` under it.
    public init(stateDirectory: String) { directory = stateDirectory + "/console" }

    public var keyPath: String { directory + "/device-key.pem" }
    /// The TPM key's blob is vigild's, beside the audit log it also signs for, not under `console/`.
    public var keyFiles: DeviceKeyFiles { DeviceKeyFiles(stateDirectory: String(directory.dropLast("/console".count))) }
    public var statePath: String { directory + "/enrollment.json" }

    /// The enrolment in force, nil when the device is not enrolled; a damaged file is an error, never "not enrolled".
    public func load() throws(FleetError) -> EnrollmentState? {
        guard let data = FileManager.default.contents(atPath: statePath) else {
            return nil
        }
        do {
            return try JSONDecoder().decode(EnrollmentState.self, from: data)
        } catch {
            throw FleetError(.state, "\(statePath) is damaged (\(error)); run vigil unenroll --local and enrol again")
        }
    }

    /// Enrols this device with `token`: pins the console's certificate, makes the device key, registers.
    /// The key is the TPM's where `source` names one, else a file key.
    public func enroll(token text: String, facts: DeviceFacts, source: DeviceKeySource = .current()) async throws(FleetError) -> EnrollmentState {
        let token: EnrollToken
        do {
            token = try EnrollToken(parsing: text)
        } catch {
            throw FleetError(.token, error.description)
        }
        if let current = try load() {
            throw FleetError(.state, "this device is already enrolled to \(current.consoleURL) as \(current.deviceID): run vigil unenroll first")
        }
        // The first contact proves the pin before a key is made or anything is sent.
        guard let url = URL(string: token.url), let host = url.host else { throw FleetError(.token, "the token's URL has no host") }
        let health = try await PinnedHTTPSClient(host: host, port: url.port ?? 443, pin: token.pin).execute("GET", "/healthz", headers: [], body: [])
        guard health.status == 200 else { throw FleetError(.response, "the console at \(token.url) is not healthy (\(health.status))") }
        try makeDirectory()
        let device = try DeviceKey.open(holder: source.holder, path: keyPath, files: keyFiles, create: true, source: source)
        let publicKey = device.publicKey
        let client = try ConsoleClient(baseURL: token.url, pin: token.pin, key: device.key, keyID: publicKey.keyID)
        let request = EnrollRequest(
            tokenID: token.id, secret: token.secret, publicKey: publicKey.encoded, facts: facts, keyHolder: device.holder.rawValue)
        let body: [UInt8]
        do {
            body = Array(try JSONEncoder().encode(request))
        } catch {
            throw FleetError(.state, "cannot encode the enrolment request: \(error)")
        }
        let answer = try await client.call("POST", "/api/v1/enroll", body: body, once: true, as: EnrollResponse.self)
        guard answer.keyID == publicKey.keyID else {
            throw FleetError(.response, "the console registered key \(answer.keyID), not this device's \(publicKey.keyID)")
        }
        do {
            _ = try MessageVerificationKey(encoded: answer.policyKey)
        } catch {
            throw FleetError(.response, "the console's policy key does not parse: \(error)")
        }
        let state = EnrollmentState(
            consoleURL: token.url, pin: token.pin, deviceID: answer.deviceID,
            keyID: answer.keyID, team: answer.team, keyHolder: device.holder.rawValue, policyKey: answer.policyKey,
            enrolledAt: Int64(Date().timeIntervalSince1970))
        try save(state)
        return state
    }

    /// A client for the enrolled console, signing with the device key.
    public func client(for state: EnrollmentState, source: DeviceKeySource = .current()) throws(FleetError) -> ConsoleClient {
        let holder = state.keyHolder.flatMap(KeyHolder.init(rawValue:)) ?? .file
        let device = try DeviceKey.open(holder: holder, path: keyPath, files: keyFiles, create: false, source: source)
        guard device.publicKey.keyID == state.keyID else {
            throw FleetError(.deviceKey, "the \(holder.rawValue) device key is not the key enrolled as \(state.keyID)")
        }
        return try ConsoleClient(baseURL: state.consoleURL, pin: state.pin, key: device.key, keyID: state.keyID)
    }

    /// Tells the console (signed) and forgets the enrolment and the key. `localOnly` forgets without asking
    /// the console (it is gone, or the key is lost): the console still lists the device until an admin revokes it.
    public func unenroll(localOnly: Bool = false) async throws(FleetError) -> EnrollmentState? {
        guard let state = try load() else { return nil }
        if !localOnly {
            let answer = try await client(for: state).send("POST", "/api/v1/device/unenroll", once: true)
            // 403: the console already revoked it: nothing left to tell it.
            guard (200..<300).contains(answer.status) || answer.status == 403 else {
                throw ConsoleClient.refusal(answer, "/api/v1/device/unenroll")
            }
        }
        // The TPM key's blob stays: the audit log's checkpoints are signed by it too.
        for path in [statePath, keyPath] where unlink(path) != 0 && errno != ENOENT {
            throw FleetError(.state, "cannot remove \(path): \(String(cString: strerror(errno)))")
        }
        return state
    }

    /// The state directory (vigild's, 0700 like vigild makes it) and `console/` under it.
    private func makeDirectory() throws(FleetError) {
        for path in [String(directory.dropLast("/console".count)), directory] where mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw FleetError(.state, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func save(_ state: EnrollmentState) throws(FleetError) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try DurableFile.replace(statePath, with: Array(try encoder.encode(state)), mode: 0o600)
        } catch {
            throw FleetError(.state, "cannot save the enrolment: \(error)")
        }
    }
}

extension DeviceFacts {
    /// This machine's facts; `enforcementMode` and `posture` come from vigild when it runs.
    public static func local(enforcementMode: String, posture: [String: String] = [:]) -> DeviceFacts {
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var os = "Linux"
        if let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("PRETTY_NAME=") })
        {
            os = line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return DeviceFacts(
            hostname: ProcessInfo.processInfo.hostName, os: os, kernel: kernel, vigilVersion: VigilVersion.current, enforcementMode: enforcementMode,
            posture: posture)
    }
}
