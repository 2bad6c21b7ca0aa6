// SPDX-License-Identifier: Apache-2.0
// The framing shared by `entries` and `checkpoints`: file magic, then length + CRC + payload records.
/// On-disk framing of the two append-only files.
///
/// A file starts with an 8-byte magic. Each record is
/// `u32 LE word ‖ u32 LE CRC-32C(word bytes ‖ payload) ‖ payload`, where the word's low 31 bits are
/// the payload length (1 … 1 MiB) and bit 31 is set on the first record of each batch (the records
/// written by one `write(2)` and made durable by one `fsync(2)`). The batch-start bit is what lets
/// a reader tell an unacknowledged final batch (crash) from damage to an acknowledged one.
/// The payload of an `entries` record is the Merkle leaf; of a `checkpoints` record, a signed note.
enum RecordFraming {
    static let headerSize = 8
    static let recordOverhead = 8
    /// Largest payload accepted by writer and reader (1 MiB). Larger lengths are framing damage.
    static let maxPayload = 1 << 20

    static let entriesMagic: [UInt8] = Array("VGLAUDE1".utf8)
    static let checkpointsMagic: [UInt8] = Array("VGLAUDC1".utf8)

    /// Appends one framed record to `out`.
    static let batchStartBit: UInt32 = 1 << 31

    static func append(payload: UnsafeRawBufferPointer, batchStart: Bool, to out: inout [UInt8]) {
        let length = (UInt32(payload.count) | (batchStart ? batchStartBit : 0)).littleEndian
        var crc: UInt32 = 0
        withUnsafeBytes(of: length) { crc = CRC32C.update(0, $0) }
        crc = CRC32C.update(crc, payload)
        withUnsafeBytes(of: length) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: crc.littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: payload)
    }

    /// The outcome of reading one record at an offset: a value, not an error, because the caller
    /// decides whether a damaged record is a torn tail or tampering.
    enum ReadResult {
        /// A whole record whose CRC matches: `payload` is `bytes[payloadRange]`.
        case record(payloadRange: Range<Int>, next: Int, batchStart: Bool)
        /// Fewer bytes remain than the 8-byte record header.
        case truncatedHeader(available: Int)
        /// The header announces a length beyond the file's end.
        case truncatedPayload(declared: Int, available: Int)
        /// The length is zero or above `maxPayload`.
        case badLength(declared: Int)
        /// All bytes are present but the CRC does not match.
        case badChecksum(declared: UInt32, computed: UInt32, length: Int)

        /// The payload length when it is usable (sane and within the file) despite the bad CRC.
        var skippableLength: Int? {
            if case .badChecksum(_, _, let length) = self { return length }
            return nil
        }
    }

    static func read(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> ReadResult {
        let available = bytes.count - offset
        guard available >= recordOverhead else { return .truncatedHeader(available: available) }
        let word = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        let length = Int(word & ~batchStartBit)
        let declared = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
        guard length > 0, length <= maxPayload else { return .badLength(declared: length) }
        guard available - recordOverhead >= length else {
            return .truncatedPayload(declared: length, available: available - recordOverhead)
        }
        let start = offset + recordOverhead
        var crc = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 4]))
        crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: bytes[start..<start + length]))
        guard crc == declared else { return .badChecksum(declared: declared, computed: crc, length: length) }
        return .record(payloadRange: start..<start + length, next: start + length, batchStart: word & batchStartBit != 0)
    }
}
