// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// secure_boot: the UEFI SecureBoot variable, as exposed by efivarfs (or the legacy sysfs efivars).

import Foundation

/// Decides `secure_boot` from the EFI global variable `SecureBoot`.
///
/// No `/sys/firmware` at all → `unknown` (sysfs not mounted). No `/sys/firmware/efi` → `notApplicable` (legacy BIOS boot, or firmware not exposed). With EFI:
/// `efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e39ca44b8dc4` is 4 attribute bytes then the value
/// byte (1 = enabled, 0 = disabled); the legacy `vars/SecureBoot-…/data` holds the value byte alone.
/// Anything else → `unknown` with the reason.
public struct SecureBootProbe: Sendable {
    public static let globalVariableGUID = "8be4df61-93ca-11d2-aa0d-e39ca44b8dc4"
    public var root: PostureRoot

    public init(root: PostureRoot) { self.root = root }

    public func observe() -> PostureObservation {
        guard root.exists("/sys/firmware") else {
            return PostureObservation(.unknown(reason: "/sys/firmware absent: sysfs not mounted, cannot tell whether EFI booted"))
        }
        guard root.exists("/sys/firmware/efi") else {
            return PostureObservation(
                .notApplicable(reason: "no EFI firmware: /sys/firmware/efi absent (legacy BIOS boot or not exposed)"),
                evidence: [.init(source: "/sys/firmware/efi", detail: "absent")])
        }
        let efivar = "/sys/firmware/efi/efivars/SecureBoot-\(Self.globalVariableGUID)"
        let legacy = "/sys/firmware/efi/vars/SecureBoot-\(Self.globalVariableGUID)/data"
        let primaryError: PostureReadError
        do throws(PostureReadError) {
            let bytes = try root.readBytes(efivar)
            return Self.interpret(bytes, attributeBytes: 4, source: efivar)
        } catch {
            primaryError = error
        }
        do throws(PostureReadError) {
            let bytes = try root.readBytes(legacy)
            return Self.interpret(bytes, attributeBytes: 0, source: legacy)
        } catch {
            let mountHint =
                primaryError.isNotFound && (try? root.list("/sys/firmware/efi/efivars"))?.isEmpty != false
                ? " (efivarfs not mounted at /sys/firmware/efi/efivars?)" : ""
            return PostureObservation(
                .unknown(reason: "EFI present but SecureBoot variable unreadable: \(primaryError); \(error)\(mountHint)"))
        }
    }

    /// The value byte after `attributeBytes` of attributes: 1 → `true`, 0 → `false`, else `unknown`.
    public static func interpret(_ bytes: [UInt8], attributeBytes: Int, source: String) -> PostureObservation {
        guard bytes.count > attributeBytes else {
            return PostureObservation(
                .unknown(reason: "\(source): \(bytes.count) bytes, expected at least \(attributeBytes + 1)"),
                evidence: [.init(source: source, detail: "\(bytes.count) bytes")])
        }
        let value = bytes[attributeBytes]
        let evidence = [PostureEvidence(source: source, detail: "value byte \(value) (\(bytes.count) bytes)")]
        switch value {
        case 1: return PostureObservation(.bool(true), evidence: evidence)
        case 0: return PostureObservation(.bool(false), evidence: evidence)
        default: return PostureObservation(.unknown(reason: "\(source): unexpected value byte \(value)"), evidence: evidence)
        }
    }
}
