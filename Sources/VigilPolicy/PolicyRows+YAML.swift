// SPDX-License-Identifier: Apache-2.0
// Rows → the one canonical YAML document: every key spelled out in a fixed order, free text quoted,
// so the same rows always give the same text (and the same policy hash), and a diff shows the change.

extension PolicyRows {
    /// The canonical document. It parses back to these rows; whether it compiles is the compiler's
    /// call (an invalid pattern or condition is written as given and refused with its line).
    /// - Parameter comments: lines written as `# …` above the document.
    public func yaml(comments: [String] = []) -> String {
        var lines = comments.map { "# " + YAMLText.oneLine($0) }
        lines += [
            "vigil: 1",
            "version: \(YAMLText.scalar(label))",
            "defaults:",
            "  tool: \(defaults.tool.rawValue)",
            "  kernel: \(defaults.kernel.rawValue)",
            "  derive_kernel: \(defaults.deriveKernel)",
            "  unknown_posture: \(defaults.unknownPosture.rawValue)",
        ]
        guard !rows.isEmpty else { return (lines + ["rules: []"]).joined(separator: "\n") + "\n" }
        lines.append("rules:")
        for row in rows { lines += row.yamlLines }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension PolicyRow {
    fileprivate var yamlLines: [String] {
        var lines = ["  - id: \(YAMLText.scalar(id))", "    match: \(YAMLText.scalar(match))", "    action: \(action.rawValue)"]
        // Everyone is no scope key; an empty list is written as given (it matches nobody, and the compiler says so).
        if !scope.isEveryone {
            lines.append("    scope:")
            for (key, values) in [
                ("user", scope.users), ("team", scope.teams), ("role", scope.roles), ("device", scope.devices), ("identity", scope.identities),
            ] {
                if let values { lines.append("      \(key): \(YAMLText.list(values))") }
            }
        }
        if !when.isEmpty { lines.append("    when: \(YAMLText.list(when))") }
        if !overrides.isEmpty { lines.append("    overrides: \(YAMLText.list(overrides))") }
        if let kernel { lines.append("    kernel: \(kernel.rawValue)") }
        if let onUnknown { lines.append("    on_unknown: \(onUnknown.rawValue)") }
        if let reason { lines.append("    reason: \(YAMLText.scalar(reason))") }
        return lines
    }
}

/// YAML scalars that read back as exactly the text written.
enum YAMLText {
    /// Plain when that cannot be misread (`no-curl`, `infra`), else quoted.
    static func scalar(_ text: String) -> String {
        isPlainSafe(text) ? text : quoted(text)
    }

    static func list(_ values: [String]) -> String {
        "[" + values.map(scalar).joined(separator: ", ") + "]"
    }

    /// Single quotes (only `'` needs escaping) unless the text holds a character YAML would fold or
    /// refuse there (line breaks, controls, BOM): then double quotes with escapes.
    static func quoted(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return "'" + text.replacing("'", with: "''") + "'" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if needsEscape(scalar) {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A comment stays on its line.
    static func oneLine(_ text: String) -> String {
        var line = ""
        line.unicodeScalars.append(contentsOf: text.unicodeScalars.map { needsEscape($0) ? " " : $0 })
        return line
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029 || value == 0xFEFF
    }

    /// Letters, digits and `-_./`, starting with a letter or digit, and not a word YAML reads as a bool or null.
    private static func isPlainSafe(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCIIAlphanumeric else { return false }
        guard text.unicodeScalars.allSatisfy({ $0.isASCIIAlphanumeric || "-_./".unicodeScalars.contains($0) }) else { return false }
        let reserved: Set<String> = ["true", "false", "yes", "no", "on", "off", "null", "y", "n"]
        return !reserved.contains(text.lowercased())
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIIAlphanumeric: Bool {
        ("a"..."z").contains(self) || ("A"..."Z").contains(self) || ("0"..."9").contains(self)
    }
}
