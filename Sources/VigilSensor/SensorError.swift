// SPDX-License-Identifier: Apache-2.0
// Failures of the sensor, each naming what failed and why, so an operator can act on it.
public struct SensorError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        case notPrivileged
        case btfMissing
        case loadFailed
        case cgroupUnavailable
        case spawnFailed
        case trackFailed
        case procScanFailed
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
