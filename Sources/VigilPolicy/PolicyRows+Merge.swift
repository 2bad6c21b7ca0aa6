// SPDX-License-Identifier: Apache-2.0
// Imported rows merged into a policy: repeats skipped, and one stated rule for an id that is taken.

/// What to do when an imported row's id is taken by a different rule.
public enum ImportClash: String, Sendable, Hashable, Codable, CaseIterable {
    /// Refuse the whole import, naming every clash.
    case refuse
    /// Give the imported row the next free id (`managed-deny-1` → `managed-deny-2`, `x` → `x-2`).
    case rename
    /// The imported row takes the existing row's place.
    case replace
}

/// Imported rows whose ids are taken by different rules, under ``ImportClash/refuse``.
public struct RowIDClash: Error, Sendable, Hashable, CustomStringConvertible {
    public var ids: [String]

    public init(ids: [String]) { self.ids = ids }

    public var description: String {
        "the import's rule ids \(ids.joined(separator: ", ")) are taken by other rules; import with rename or replace"
    }
}

extension PolicyRows {
    /// The rows with `imported` added at the end. An imported row that is the same rule as an existing
    /// one (whatever its id and reason) is skipped; one whose id is taken by a different rule is
    /// handled as `onClash` says. The defaults stay. Returns a note for each row not added as is.
    public func merging(_ imported: [PolicyRow], onClash: ImportClash) throws(RowIDClash) -> (rows: PolicyRows, notes: [String]) {
        var merged = self
        var notes: [String] = []
        var clashes: [String] = []
        for var row in imported {
            if let same = merged.rows.first(where: { $0.sameRule(as: row) }) {
                notes.append("\(row.id) skipped: the same rule as \(same.id)")
                continue
            }
            guard let taken = merged.index(of: row.id) else {
                merged.rows.append(row)
                continue
            }
            switch onClash {
            case .refuse:
                clashes.append(row.id)
            case .replace:
                notes.append("\(row.id) replaced the existing rule \(merged.rows[taken].match) \(merged.rows[taken].action.rawValue)")
                merged.rows[taken] = row
            case .rename:
                let free = merged.freeID(after: row.id)
                notes.append("\(row.id) renamed \(free): the id is taken")
                row.id = free
                merged.rows.append(row)
            }
        }
        guard clashes.isEmpty else { throw RowIDClash(ids: clashes) }
        return (merged, notes)
    }

    /// `base-N` counts on from N; any other id gets `-2`, `-3`, …
    func freeID(after id: String) -> String {
        var stem = id
        var number = 1
        if let dash = id.lastIndex(of: "-"), let n = Int(id[id.index(after: dash)...]), n > 0 {
            stem = String(id[..<dash])
            number = n
        }
        var candidate = id
        while index(of: candidate) != nil {
            number += 1
            candidate = "\(stem)-\(number)"
        }
        return candidate
    }
}
