// SPDX-License-Identifier: Apache-2.0
// Who this device and this login are: the identity vigild and the hook put on every audit entry.
import Foundation

public enum HostIdentity {
    /// `/etc/machine-id`, else the host name.
    public static func deviceID() -> String {
        if let text = try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        return ProcessInfo.processInfo.hostName
    }

    /// `/proc/self/loginuid`: the login session's uid, which survives `sudo`; nil when unset.
    public static func loginUID() -> UInt32? {
        guard let text = try? String(contentsOfFile: "/proc/self/loginuid", encoding: .utf8),
            let value = UInt32(text.trimmingCharacters(in: .whitespacesAndNewlines)), value != UInt32.max
        else { return nil }
        return value
    }
}
