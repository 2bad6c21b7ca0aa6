// SPDX-License-Identifier: Apache-2.0
// The device key in a TPM 2.0: a non-exportable ECDSA P-256 key whose public and private blobs
// (the private part wrapped by the TPM, useless anywhere else) are kept in a 0600 file and loaded
// again under the re-created storage root key after every restart.
import CVigilTPM
import Crypto
import Foundation
import Glibc
import VigilHost

/// A TPM that exists but failed, a key blob that cannot be used, or no TPM where one is required.
/// Never a reason to fall back to a file key: see ``DeviceKeyStore``.
public struct TPMError: Error, Sendable, CustomStringConvertible {
    /// The TSS2 response code, when the TPM stack answered one.
    public let code: UInt32?
    public let message: String

    init(_ message: String, code: UInt32? = nil) {
        self.code = code
        self.message = message
    }

    init(_ step: String, tcti: String, rc: UInt32) {
        var text = "TPM \(step) failed on \(tcti): \(String(cString: vigil_tpm_rc_text(rc))) (0x\(String(rc, radix: 16)))"
        if let hint = Self.hint(rc) { text += "; \(hint)" }
        self.init(text, code: rc)
    }

    public var description: String { message }

    /// The TCTI layer (no answer from the TPM at all), e.g. 0xa000a "IO failure".
    public var isCommunicationError: Bool { code.map { $0 & 0xFF_0000 == 0x0A_0000 } ?? false }

    /// TPM_RC_REFERENCE_H0 (0x910): the key's handle names no loaded object.
    static func isObjectUnloaded(_ rc: UInt32) -> Bool { rc & 0xFF_FFFF == 0x910 }

    static func hint(_ rc: UInt32) -> String? {
        switch rc & 0xFFF {
        case 0x921: return "the TPM is in dictionary-attack lockout (tpm2_dictionarylockout --clear-lockout, or wait)"
        case 0x902: return "the TPM has no free object slots (something left objects loaded)"
        case 0x00A where rc & 0xFF_0000 == 0x0A_0000: return "nothing answers at that address"
        default: return nil
        }
    }
}

/// An ECDSA P-256 signing key held by a TPM. One connection and one loaded object per instance
/// (swtpm has no resource manager and three object slots); the key is flushed on deinit.
public final class TPMKey: @unchecked Sendable {
    // @unchecked: the handle is only touched under `lock`.
    public let tcti: String
    public let blobPath: String
    public let publicKey: P256.Signing.PublicKey
    private let blob: [UInt8]
    private let lock = NSLock()
    private var handle: OpaquePointer?

    private init(tcti: String, blobPath: String, blob: [UInt8], handle: OpaquePointer, publicKey: P256.Signing.PublicKey) {
        self.tcti = tcti
        self.blobPath = blobPath
        self.blob = blob
        self.handle = handle
        self.publicKey = publicKey
    }

    deinit { vigil_tpm_close(handle) }

    /// Makes a new key in the TPM at `tcti` and writes its blob to `blobPath` (0600, replacing
    /// nothing: an existing blob is an error, since the key it holds would be lost).
    public static func create(tcti: String, blobPath: String) throws(TPMError) -> TPMKey {
        if (try? FileStatus.of(blobPath)) != nil {
            throw TPMError("a TPM key blob already exists at \(blobPath); load it instead of making another key")
        }
        let handle = try open(tcti)
        var blob = [UInt8](repeating: 0, count: Int(VIGIL_TPM_BLOB_MAX))
        var length = 0
        let rc = vigil_tpm_create(handle, &blob, blob.count, &length)
        guard rc == 0 else {
            vigil_tpm_close(handle)
            throw TPMError("key creation", tcti: tcti, rc: rc)
        }
        blob.removeSubrange(length...)
        do {
            try DurableFile.replace(blobPath, with: blob, mode: 0o600)
        } catch {
            vigil_tpm_close(handle)
            throw TPMError("cannot write the TPM key blob: \(error)")
        }
        return try load(handle, tcti: tcti, blobPath: blobPath, blob: blob)
    }

    /// Loads the key whose blob is at `blobPath` into the TPM at `tcti`. Refuses a blob that is a
    /// symlink, readable by others or not ours, and a TPM that is not the one that made it.
    public static func load(tcti: String, blobPath: String) throws(TPMError) -> TPMKey {
        let status: FileStatus?
        do {
            status = try FileStatus.of(blobPath)
        } catch {
            throw TPMError("cannot read the TPM key blob: \(error)")
        }
        guard let status else { throw TPMError("there is no TPM key blob at \(blobPath)") }
        guard status.kind == .regular else { throw TPMError("the TPM key blob \(blobPath) is not a regular file (symlinks are refused)") }
        guard status.isPrivate, status.owner == geteuid() else {
            throw TPMError("the TPM key blob \(blobPath) is readable by others or not owned by uid \(geteuid()) (chmod 600)")
        }
        guard let data = FileManager.default.contents(atPath: blobPath) else { throw TPMError("cannot read the TPM key blob \(blobPath)") }
        return try load(try open(tcti), tcti: tcti, blobPath: blobPath, blob: Array(data))
    }

    /// Loads the blob at `blobPath`, or makes the key when there is none.
    public static func loadOrCreate(tcti: String, blobPath: String) throws(TPMError) -> TPMKey {
        if (try? FileStatus.of(blobPath)) == nil { return try create(tcti: tcti, blobPath: blobPath) }
        return try load(tcti: tcti, blobPath: blobPath)
    }

    /// An ECDSA signature by the TPM over a SHA-256 digest. A TPM that restarted (the connection
    /// broke, or the key is no longer loaded: a TPM2_Startup(CLEAR) flushes every transient object)
    /// is opened again and the key reloaded, once; any other failure is thrown.
    public func signature(forDigest digest: SHA256Digest) throws(TPMError) -> P256.Signing.ECDSASignature {
        let bytes = Array(digest)
        lock.lock()
        defer { lock.unlock() }
        var raw = [UInt8](repeating: 0, count: 64)
        var rc = sign(bytes, into: &raw)
        // NO_KEY: an earlier reopen failed and left no connection.
        if rc != 0, TPMError(String(), code: rc).isCommunicationError || TPMError.isObjectUnloaded(rc) || rc == UInt32(VIGIL_TPM_RC_NO_KEY) {
            vigil_tpm_close(handle)
            handle = nil
            let reopened = try Self.open(tcti)
            handle = reopened
            try Self.loadBlob(reopened, tcti: tcti, blob: blob, expecting: publicKey)
            rc = sign(bytes, into: &raw)
        }
        guard rc == 0 else { throw TPMError("signing", tcti: tcti, rc: rc) }
        do {
            return try P256.Signing.ECDSASignature(rawRepresentation: raw)
        } catch {
            throw TPMError("the TPM's signature is not a P-256 r‖s: \(error)")
        }
    }

    /// The TPM's signature over a SHA-256 digest as ASN.1 DER (what signed-note type 0x02 and
    /// OpenSSL take); RFC 9421 wants the raw r‖s instead (`rawRepresentation`).
    public func derSignature(forDigest digest: SHA256Digest) throws(TPMError) -> [UInt8] {
        Array(try signature(forDigest: digest).derRepresentation)
    }

    /// ECDSA over SHA-256(`message`), by the TPM.
    public func signature(for message: some DataProtocol) throws(TPMError) -> P256.Signing.ECDSASignature {
        try signature(forDigest: SHA256.hash(data: message))
    }

    private func sign(_ digest: [UInt8], into raw: inout [UInt8]) -> UInt32 {
        guard let handle else { return UInt32(VIGIL_TPM_RC_NO_KEY) }
        return raw.withUnsafeMutableBufferPointer { out in
            vigil_tpm_sign(handle, digest, out.baseAddress!, out.baseAddress! + 32)
        }
    }

    private static func open(_ tcti: String) throws(TPMError) -> OpaquePointer {
        // tpm2-tss logs every failure to stderr as well; ours say it once, with the step. 0: the
        // operator's own TSS2_LOG wins.
        setenv("TSS2_LOG", "all+none", 0)
        var handle: OpaquePointer?
        let rc = vigil_tpm_open(tcti, &handle)
        guard rc == 0, let handle else { throw TPMError("connection", tcti: tcti, rc: rc) }
        return handle
    }

    private static func load(_ handle: OpaquePointer, tcti: String, blobPath: String, blob: [UInt8]) throws(TPMError) -> TPMKey {
        do {
            let key = try loadBlob(handle, tcti: tcti, blob: blob, expecting: nil)
            return TPMKey(tcti: tcti, blobPath: blobPath, blob: blob, handle: handle, publicKey: key)
        } catch {
            vigil_tpm_close(handle)
            throw error
        }
    }

    @discardableResult
    private static func loadBlob(
        _ handle: OpaquePointer, tcti: String, blob: [UInt8], expecting: P256.Signing.PublicKey?
    ) throws(TPMError) -> P256.Signing.PublicKey {
        var x = [UInt8](repeating: 0, count: 32)
        var y = [UInt8](repeating: 0, count: 32)
        let rc = vigil_tpm_load(handle, blob, blob.count, &x, &y)
        guard rc == 0 else { throw TPMError("key load", tcti: tcti, rc: rc) }
        let key: P256.Signing.PublicKey
        do {
            key = try P256.Signing.PublicKey(x963Representation: [0x04] + x + y)
        } catch {
            throw TPMError("the TPM key's public point is not on P-256: \(error)")
        }
        if let expecting, expecting.rawRepresentation != key.rawRepresentation {
            throw TPMError("the TPM at \(tcti) loaded a different key than before")
        }
        return key
    }
}

/// Which TPM to use: `VIGIL_TPM_TCTI` when set (e.g. `swtpm:host=127.0.0.1,port=2321`, for tests),
/// else the kernel's resource manager `/dev/tpmrm0` when it exists, else none. Never the TCTI
/// loader's default search, which takes any swtpm listening on 127.0.0.1 for "the TPM".
public enum TPMLocation {
    public static let environmentVariable = "VIGIL_TPM_TCTI"
    public static let device = "/dev/tpmrm0"

    public static func tcti(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let configured = environment[environmentVariable], !configured.isEmpty { return configured }
        return access(device, F_OK) == 0 ? "device:\(device)" : nil
    }
}
