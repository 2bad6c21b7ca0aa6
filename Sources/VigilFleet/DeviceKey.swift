// SPDX-License-Identifier: Apache-2.0
// The device key: what every request to the console is signed with. The TPM's ECDSA P-256 key where
// the machine has a TPM, else a P-256 key in a root-only file; both behind `MessageSigningKey`.
import Crypto
import Foundation
import Glibc
import VigilAudit
import VigilDevice
import VigilHost
import VigilSignatures

/// The device key in force and where it is held.
public struct DeviceSigningKey: Sendable {
    public let key: any MessageSigningKey
    public let publicKey: MessageVerificationKey
    public let holder: KeyHolder
}

public enum DeviceKey {
    /// The TPM key (its blob in `files`, made when `create` and missing) when `holder` is `.tpm`, else
    /// the file key at `path`. A TPM that fails is an error: the device never quietly signs with a file.
    public static func open(
        holder: KeyHolder, path: String, files: DeviceKeyFiles, create: Bool, source: DeviceKeySource = .current()
    ) throws(FleetError) -> DeviceSigningKey {
        switch holder {
        case .file:
            let key = try load(path, create: create)
            return DeviceSigningKey(key: key, publicKey: key.publicKey, holder: .file)
        case .tpm:
            guard case .tpm(let tcti) = source else {
                throw FleetError(.deviceKey, "the device key is held by a TPM, and this machine has none (\(TPMLocation.device) is missing)")
            }
            do {
                let key = TPMMessageSigningKey(
                    create ? try TPMKey.loadOrCreate(tcti: tcti, blobPath: files.tpmBlob) : try TPMKey.load(tcti: tcti, blobPath: files.tpmBlob))
                return DeviceSigningKey(key: key, publicKey: key.publicKey, holder: .tpm)
            } catch {
                throw FleetError(.deviceKey, "the TPM device key is unusable: \(error)")
            }
        }
    }

    /// Loads `path`, or makes a new key there (0600) when `create` and it does not exist. Refuses a
    /// symlink, a file others may read, or one that is not a PEM P-256 private key.
    public static func load(_ path: String, create: Bool) throws(FleetError) -> P256SigningKey {
        let found: FileStatus?
        do {
            found = try FileStatus.of(path)
        } catch {
            throw FleetError(.deviceKey, "cannot read the device key: \(error)")
        }
        guard let status = found else {
            guard create else { throw FleetError(.deviceKey, "there is no device key at \(path): enrol first (vigil enroll)") }
            let key = P256.Signing.PrivateKey()
            do {
                try DurableFile.replace(path, with: Array(key.pemRepresentation.utf8), mode: 0o600)
            } catch {
                throw FleetError(.deviceKey, "cannot write the device key: \(error)")
            }
            return P256SigningKey(key)
        }
        guard status.kind == .regular else { throw FleetError(.deviceKey, "the device key \(path) is not a regular file (symlinks are refused)") }
        guard status.isPrivate, status.owner == geteuid() else {
            throw FleetError(.deviceKey, "the device key \(path) is readable by others or not owned by uid \(geteuid()) (chmod 600)")
        }
        guard let pem = try? String(contentsOfFile: path, encoding: .utf8), let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) else {
            throw FleetError(.deviceKey, "the device key \(path) is not a PEM P-256 private key")
        }
        return P256SigningKey(key)
    }
}

/// A device-side failure: which step, and a sentence naming what and where.
public struct FleetError: Error, Sendable, CustomStringConvertible {
    public enum Step: String, Sendable {
        case token, deviceKey = "device key", pin = "certificate pin", connect, refused, response, state
    }

    public let step: Step
    public let message: String
    /// The console's HTTP status when it refused.
    public let status: Int?

    public init(_ step: Step, _ message: String, status: Int? = nil) {
        self.step = step
        self.message = message
        self.status = status
    }

    public var description: String { message }
}
