// SPDX-License-Identifier: Apache-2.0
// Which key a device signs with: the TPM's where this machine has one (or a test names one), a file
// key elsewhere. A TPM that is there but fails is an error, never a reason to use a file key.
import Foundation
import Glibc
import VigilAudit

/// The device key's source, decided once from the environment (see ``TPMLocation``).
public enum DeviceKeySource: Sendable, Equatable {
    case tpm(tcti: String)
    /// No TPM on this machine: a root-only file key.
    case file

    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> DeviceKeySource {
        TPMLocation.tcti(environment: environment).map { .tpm(tcti: $0) } ?? .file
    }

    public var holder: KeyHolder {
        switch self {
        case .tpm: .tpm
        case .file: .file
        }
    }
}

/// The files of the device key under vigild's state directory (default /var/lib/vigil).
public struct DeviceKeyFiles: Sendable {
    public let stateDirectory: String

    public init(stateDirectory: String) { self.stateDirectory = stateDirectory }

    /// The TPM key's public and private blobs (the private part is wrapped by the TPM): shared by the
    /// audit log's checkpoints and the console's requests, so it outlives an unenrolment.
    public var tpmBlob: String { stateDirectory + "/device-key.tpm" }
}

/// The audit log's checkpoint signer, chosen for a log directory.
public enum AuditKeys {
    /// - An existing log keeps the key it was made with: an Ed25519 `audit.pub` means the key file
    ///   (`keyFile`, default DIR/audit.key); an ECDSA one means the TPM key, which must then load.
    /// - A new log gets the TPM key where `source` is a TPM (made on first use), else a new Ed25519 file.
    public static func open(
        directory: String, keyFile: String? = nil, files: DeviceKeyFiles, name: String, source: DeviceKeySource = .current()
    ) throws(AuditError) -> any AuditSigner {
        let layout = AuditLogLayout(directory: directory)
        let keyPath = keyFile ?? layout.defaultPrivateKey
        if keyFile != nil { return try Ed25519FileSigner(keyFile: keyPath) }
        if let pinned = try? String(contentsOfFile: layout.publicKey, encoding: .utf8) {
            let key = try NoteVerifierKey(parsing: pinned)
            guard key.signatureType == NoteVerifierKey.ecdsaP256 else { return try Ed25519FileSigner(keyFile: keyPath) }
            guard case .tpm(let tcti) = source else {
                throw AuditError(
                    .keyMissing, "this log is signed by the TPM key \(key.hexID), and this machine has no TPM (\(TPMLocation.device) is missing)",
                    path: layout.publicKey)
            }
            return try tpmSigner(tcti: tcti, files: files, name: key.name, create: false)
        }
        if access(keyPath, F_OK) == 0 || access(layout.entries, F_OK) == 0 { return try Ed25519FileSigner(keyFile: keyPath) }
        switch source {
        case .tpm(let tcti):
            return try tpmSigner(tcti: tcti, files: files, name: name, create: true)
        case .file:
            do {
                try FileManager.default.createDirectory(
                    atPath: layout.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw AuditError(.io, "cannot create the audit log directory: \(error)", path: layout.directory)
            }
            let signer = try Ed25519FileSigner.generate(name: name)
            try signer.write(toKeyFile: keyPath)
            return signer
        }
    }

    static func tpmSigner(tcti: String, files: DeviceKeyFiles, name: String, create: Bool) throws(AuditError) -> TPMAuditSigner {
        do {
            let key =
                create
                ? try TPMKey.loadOrCreate(tcti: tcti, blobPath: files.tpmBlob) : try TPMKey.load(tcti: tcti, blobPath: files.tpmBlob)
            return try TPMAuditSigner(key, name: name)
        } catch let error as TPMError {
            throw AuditError(.keyInvalid, "the TPM checkpoint key is unusable: \(error)", path: files.tpmBlob)
        } catch let error as AuditError {
            throw error
        } catch {
            throw AuditError(.keyInvalid, "the TPM checkpoint key is unusable: \(error)", path: files.tpmBlob)
        }
    }
}
