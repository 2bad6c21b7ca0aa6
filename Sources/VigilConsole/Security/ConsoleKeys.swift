// SPDX-License-Identifier: Apache-2.0
// The console's own keys, made once under the state directory and kept root-only: the policy key
// (signs the bundles devices apply; devices pin its public half at enrolment).
import Crypto
import Foundation
import Glibc
import VigilHost
import VigilSignatures

public struct ConsoleKeys: Sendable {
    public let policyKey: P256SigningKey

    /// Loads `<state>/policy-key.pem`, or makes it (0600) when the state directory has none.
    public static func loadOrCreate(stateDirectory: String) throws -> ConsoleKeys {
        let path = stateDirectory + "/policy-key.pem"
        if let pem = try ConsoleFiles.readSecret(path) {
            do {
                return ConsoleKeys(policyKey: P256SigningKey(try P256.Signing.PrivateKey(pemRepresentation: pem)))
            } catch {
                throw ConsoleSetupError("\(path) is not a PEM P-256 private key: \(error)")
            }
        }
        let key = P256.Signing.PrivateKey()
        try ConsoleFiles.writeSecret(path, key.pemRepresentation)
        return ConsoleKeys(policyKey: P256SigningKey(key))
    }
}

/// The console could not start: what and where.
public struct ConsoleSetupError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Small root-only files: secrets are refused when others could read them.
enum ConsoleFiles {
    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw ConsoleSetupError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        guard let status = try status(path), status.kind == .directory else { throw ConsoleSetupError("\(path) is not a directory") }
        guard status.permissions & 0o022 == 0 else {
            throw ConsoleSetupError("\(path) is writable by group or others (mode \(String(status.permissions, radix: 8))): chmod 700")
        }
    }

    /// The file's text, nil when it does not exist; refuses a symlink or a file group/others may read.
    static func readSecret(_ path: String) throws -> String? {
        guard let status = try status(path) else { return nil }
        guard status.kind == .regular else { throw ConsoleSetupError("\(path) is not a regular file (symlinks are refused)") }
        guard status.isPrivate else {
            throw ConsoleSetupError("\(path) has mode \(String(status.permissions, radix: 8)); group/others must have no access (chmod 600)")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ConsoleSetupError("cannot read \(path)") }
        return text
    }

    private static func status(_ path: String) throws -> FileStatus? {
        do {
            return try FileStatus.of(path)
        } catch {
            throw ConsoleSetupError("\(error)")
        }
    }

    static func writeSecret(_ path: String, _ text: String) throws {
        do {
            try DurableFile.replace(path, with: Array(text.utf8), mode: 0o600)
        } catch {
            throw ConsoleSetupError("\(error)")
        }
    }

    static func writePublic(_ path: String, _ text: String) throws {
        do {
            try DurableFile.replace(path, with: Array(text.utf8), mode: 0o644)
        } catch {
            throw ConsoleSetupError("\(error)")
        }
    }
}
