// SPDX-License-Identifier: Apache-2.0
// OCSF events are plain JSON values: VigilJSON's, written with sorted keys by its writer.
import VigilJSON

/// An OCSF event or one of its objects.
public typealias OCSFValue = JSONValue

extension JSONValue {
    /// One line of compact JSON with sorted keys (`JSONFormat.plain`: nothing hashes it).
    public var jsonLine: String { text(.plain) }
}
