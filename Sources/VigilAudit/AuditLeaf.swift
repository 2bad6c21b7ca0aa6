// SPDX-License-Identifier: Apache-2.0
// The Merkle leaf: a fixed-layout JSON wrapper (version, index, chain link, log time) around an entry.
import Foundation

/// The exact bytes of one Merkle leaf:
///
/// `{"v":1,"index":<N>,"prev":"<64 hex>","recorded":<ns>,"entry":<entry JSON>}`
///
/// The prefix up to `"entry":` has this fixed layout so a verifier can check the index and the
/// hash-chain link (`prev` = leaf hash of entry N-1, all zeros for entry 0) without a JSON parser.
/// The whole leaf is valid JSON. `recorded` is the writer's clock when the entry was appended.
public struct AuditLeaf: Sendable, Hashable {
    public var index: Int
    public var prev: MerkleHash
    public var recorded: Int64
    public var entry: AuditEntry

    static let version = 1
    private static let p0 = Array(#"{"v":1,"index":"#.utf8)
    private static let p1 = Array(#","prev":""#.utf8)
    private static let p2 = Array(#"","recorded":"#.utf8)
    private static let p3 = Array(#","entry":"#.utf8)

    /// Appends the leaf bytes for an already-encoded entry.
    static func write(index: Int, prev: MerkleHash, recorded: Int64, entryJSON: [UInt8], to out: inout [UInt8]) {
        out.append(contentsOf: p0)
        out.append(contentsOf: String(index).utf8)
        out.append(contentsOf: p1)
        HexCoding.append(prev, to: &out)
        out.append(contentsOf: p2)
        out.append(contentsOf: String(recorded).utf8)
        out.append(contentsOf: p3)
        out.append(contentsOf: entryJSON)
        out.append(UInt8(ascii: "}"))
    }

    /// The fixed-layout prefix, parsed without JSON: index, chain link, and where the entry starts.
    struct Header: Equatable {
        var index: Int
        var prev: MerkleHash
        var recorded: Int64
    }

    /// Parses the fixed prefix; `nil` when the bytes do not have the leaf layout.
    static func parseHeader(_ leaf: UnsafeRawBufferPointer) -> Header? {
        var i = 0
        func expect(_ literal: [UInt8]) -> Bool {
            guard leaf.count - i >= literal.count else { return false }
            for byte in literal {
                guard leaf[i] == byte else { return false }
                i += 1
            }
            return true
        }
        func number() -> Int64? {
            var value: Int64 = 0
            let start = i
            var negative = false
            if i < leaf.count, leaf[i] == UInt8(ascii: "-") {
                negative = true
                i += 1
            }
            while i < leaf.count, leaf[i] >= 0x30, leaf[i] <= 0x39 {
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (plus, o2) = times.addingReportingOverflow(Int64(leaf[i] - 0x30))
                guard !o1, !o2 else { return nil }
                value = plus
                i += 1
            }
            let digits = i - start - (negative ? 1 : 0)
            guard digits > 0, digits == 1 || leaf[start + (negative ? 1 : 0)] != 0x30 else { return nil }
            return negative ? -value : value
        }
        guard expect(p0), let index = number(), index >= 0, expect(p1), leaf.count - i >= 64 else { return nil }
        var raw = [UInt8](repeating: 0, count: 32)
        for k in 0..<32 {
            guard let hi = HexCoding.nibble(leaf[i + 2 * k]), let lo = HexCoding.nibble(leaf[i + 2 * k + 1]),
                leaf[i + 2 * k] < 0x41 || leaf[i + 2 * k] > 0x46, leaf[i + 2 * k + 1] < 0x41 || leaf[i + 2 * k + 1] > 0x46
            else { return nil }
            raw[k] = hi << 4 | lo
        }
        i += 64
        guard expect(p2), let recorded = number(), expect(p3), leaf.count > i, leaf[leaf.count - 1] == UInt8(ascii: "}")
        else { return nil }
        return Header(index: Int(index), prev: MerkleHash(bytes: raw)!, recorded: recorded)
    }

    private struct Wire: Codable {
        var v: Int
        var index: Int
        var prev: String
        var recorded: Int64
        var entry: AuditEntry
    }

    /// Decodes a whole leaf, including the entry. `nil` layout or JSON errors throw ``AuditError/Code/encoding``.
    public static func decode(_ leaf: [UInt8]) throws(AuditError) -> AuditLeaf {
        guard leaf.withUnsafeBytes({ parseHeader($0) }) != nil else {
            throw AuditError(.encoding, "leaf does not have the fixed {\"v\":1,\"index\":…} layout")
        }
        do {
            let wire = try JSONDecoder().decode(Wire.self, from: Data(leaf))
            guard wire.v == version, let prev = MerkleHash(hex: wire.prev) else {
                throw AuditError(.encoding, "leaf version \(wire.v) or prev link is invalid")
            }
            return AuditLeaf(index: wire.index, prev: prev, recorded: wire.recorded, entry: wire.entry)
        } catch let error as AuditError {
            throw error
        } catch {
            throw AuditError(.encoding, "leaf JSON does not decode: \(error)")
        }
    }
}
