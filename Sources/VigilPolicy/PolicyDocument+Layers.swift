// SPDX-License-Identifier: Apache-2.0
// An enrolled device's policy: the console's document, and the local file only where it is stricter.

extension PolicyDocument {
    /// The console's document with the local file's deny and ask rules added after it. The local file
    /// can never allow what the console denies: its allow rules, its `overrides:` (exceptions that
    /// lift other rules) and its defaults are left out, each named in `dropped`.
    public static func layered(console: PolicyDocument, local: PolicyDocument) -> (document: PolicyDocument, dropped: [String]) {
        var merged = console
        var dropped: [String] = []
        let taken = Set(console.rules.map(\.id))
        for var rule in local.rules {
            guard rule.action != .allow else {
                dropped.append("\(rule.id): a local allow rule cannot widen the console's policy")
                continue
            }
            if !rule.overrides.isEmpty {
                dropped.append("\(rule.id): its overrides (\(rule.overrides.joined(separator: ", "))) are ignored: a local rule lifts nothing")
                rule.overrides = []
            }
            rule.id = taken.contains("local.\(rule.id)") ? "local.\(rule.id).\(merged.rules.count)" : "local.\(rule.id)"
            merged.rules.append(rule)
        }
        if local.defaultTool != console.defaultTool {
            dropped.append("defaults.tool: the console's default (\(console.defaultTool.rawValue)) stays")
        }
        merged.version = "\(console.version)+local.\(local.version)"
        merged.file = "\(console.file) + \(local.file)"
        merged.text = console.text + "\n# --- local additions (\(local.file)) ---\n" + local.text
        return (merged, dropped)
    }
}
