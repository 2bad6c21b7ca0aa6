// SPDX-License-Identifier: Apache-2.0
// What an audit entry keeps of a tool input or a prompt: enough to see what was attempted, never
// the secrets in it and never whole files. Secrets are replaced before anything is truncated, so a
// cut can never leave half a token behind; file contents are kept as their size and SHA-256.
import Crypto
import Foundation
import VigilCore
import VigilJSON
import VigilPolicy

public enum InputSummary {
    /// The longest summary an audit entry holds.
    public static let maximumLength = 2048
    /// Any single string longer than this is cut (after redaction).
    public static let maximumFieldLength = 512
    /// Fields that carry file contents or edits: kept as `<N bytes sha256:…>` whatever their size.
    public static let contentFields: Set<String> = [
        "content", "new_string", "old_string", "new_source", "edits", "data", "body", "file_text", "old_str", "new_str",
    ]
    static let redacted = "[REDACTED]"

    /// A compact JSON rendering of a tool input (sorted keys), redacted and bounded.
    public static func of(toolInput input: [String: JSONValue]) -> String {
        let cleaned = JSONValue.object(input.mapValues { $0 }).summarized(key: nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = (try? encoder.encode(cleaned)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return truncate(text, to: maximumLength)
    }

    /// A prompt, redacted and bounded.
    public static func of(text: String) -> String {
        truncate(redact(text), to: maximumLength)
    }

    /// Replaces credentials in free text: `KEY=value` and `--token value` style assignments whose
    /// name says secret, `Bearer …`, URL user-info, and tokens with well-known prefixes.
    public static func redact(_ text: String) -> String {
        guard !text.isEmpty else { return text }
        // Most texts hold none of the words or prefixes a rule needs: a substring test first (the
        // regular expressions cost ~100× more and run on every hook event).
        let lower = text.lowercased()
        var result = text
        for pattern in Patterns.shared.all where pattern.mayMatch(lower, text) {
            result = result.replacing(pattern.regex) { match in pattern.replace(match) }
        }
        return result
    }

    /// `true` for object keys whose value is a secret as a whole (`api_key`, `Authorization`, …).
    public static func isSecretKey(_ key: String) -> Bool {
        let lower = key.lowercased()
        return Patterns.secretWords.contains { lower.contains($0) }
    }

    static func truncate(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var cut = text.utf8.index(text.utf8.startIndex, offsetBy: limit)
        while cut > text.utf8.startIndex, !text.unicodeScalars.indices.contains(cut) {
            cut = text.utf8.index(before: cut)
        }
        return String(text[..<cut]) + "…[truncated, \(text.utf8.count) bytes]"
    }

    static func fingerprint(_ text: String) -> String {
        "<\(text.utf8.count) bytes sha256:\(SHA256.hexDigest(Array(text.utf8)).prefix(16))>"
    }

    /// The regular expressions, compiled once per process.
    struct Patterns: @unchecked Sendable {
        // `Regex<AnyRegexOutput>` is not Sendable; the values are immutable after init.
        struct Rule {
            var regex: Regex<AnyRegexOutput>
            /// A necessary condition for a match, on the lowercased and the original text.
            var mayMatch: (_ lower: String, _ original: String) -> Bool
            var replace: (Regex<AnyRegexOutput>.Match) -> String
        }
        static let secretWords = [
            "password", "passwd", "passphrase", "secret", "token", "apikey", "api_key", "api-key", "access_key",
            "access-key", "private_key", "private-key", "authorization", "credential", "cookie", "session_key",
        ]
        static let shared = Patterns()
        let all: [Rule]

        init() {
            let words =
                #"[A-Za-z0-9_-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)[A-Za-z0-9_-]*"#
            func keep(_ m: Regex<AnyRegexOutput>.Match, _ group: Int) -> String {
                m.output[group].substring.map(String.init) ?? ""
            }
            // Every word of `words` contains one of these.
            let wordStems = ["pass", "secret", "token", "key", "credential"]
            let hasWord: (String, String) -> Bool = { lower, _ in wordStems.contains { lower.contains($0) } }
            let tokenPrefixes = ["sk-", "sk_", "gh", "github_pat_", "glpat-", "xox", "AKIA", "ASIA", "AIza", "eyJ"]
            all = [
                // Authorization: Bearer xxx / Basic xxx
                Rule(
                    regex: try! Regex(#"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"#),
                    mayMatch: { lower, _ in lower.contains("bearer") || lower.contains("basic") }
                ) { m in keep(m, 1) + " " + InputSummary.redacted },
                // scheme://user:password@host
                Rule(
                    regex: try! Regex(#"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"#),
                    mayMatch: { _, text in text.contains("://") && text.contains("@") }
                ) { m in keep(m, 1) + InputSummary.redacted + "@" },
                // --name value, --name=value (command-line flags)
                Rule(regex: try! Regex(#"(?i)(--?"# + words + #"(?:\s+|=)["']?)([^\s"'&;|]{4,})"#), mayMatch: hasWord) { m in
                    keep(m, 1) + InputSummary.redacted
                },
                // NAME=value, name: value, "name": "value"
                Rule(regex: try! Regex(#"(?i)(\b"# + words + #"["']?\s*[:=]\s*["']?)([^\s"'&;|,}]{4,})"#), mayMatch: hasWord) { m in
                    keep(m, 1) + InputSummary.redacted
                },
                // Well-known token shapes.
                Rule(
                    regex: try! Regex(
                        #"\b(?:sk-[A-Za-z0-9_-]{16,}|sk_(?:live|test)_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|xox[abposr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"#
                    ), mayMatch: { _, text in tokenPrefixes.contains { text.contains($0) } }
                ) { _ in InputSummary.redacted },
                // PEM private keys.
                Rule(
                    regex: try! Regex(#"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"#),
                    mayMatch: { _, text in text.contains("-----BEGIN") }
                ) { _ in
                    "-----BEGIN PRIVATE KEY-----" + InputSummary.redacted
                },
            ]
        }
    }
}

extension JSONValue {
    /// Secrets replaced, contents fingerprinted, long strings cut.
    fileprivate func summarized(key: String?) -> JSONValue {
        if let key, InputSummary.isSecretKey(key) {
            if case .null = self { return self }
            return .string(InputSummary.redacted)
        }
        switch self {
        case .string(let text):
            if let key, InputSummary.contentFields.contains(key) { return .string(InputSummary.fingerprint(text)) }
            return .string(InputSummary.truncate(InputSummary.redact(text), to: InputSummary.maximumFieldLength))
        case .array(let items):
            if let key, InputSummary.contentFields.contains(key) {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let text = (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
                return .string(InputSummary.fingerprint(text))
            }
            return .array(items.prefix(32).map { $0.summarized(key: nil) })
        case .object(let object):
            var result: [String: JSONValue] = [:]
            for (k, v) in object { result[k] = v.summarized(key: k) }
            return .object(result)
        case .null, .bool, .int, .number:
            return self
        }
    }
}
