// SPDX-License-Identifier: Apache-2.0
// The version every binary reports (`vigil enroll` registers it; the console shows it per device).
public enum VigilVersion {
    public static let current = "0.1.0-dev"
}
