// SPDX-License-Identifier: Apache-2.0
// The torn-tail rule: which damaged bytes a crash can explain, and the failure for everything else.
import Foundation
extension LogScanner {
    /// Returns why the damage at `offset` can be a crash remnant, or `nil` when it cannot.
    ///
    /// A crash can only damage the final batch (the one whose `fsync` had not returned): each
    /// batch is written only after the previous one was durable. So the damage must run to the end
    /// of the file with no intact batch-start record after it. (The caller also requires that no
    /// checkpoint covers the damaged index.)
    static func tornReason(
        _ result: RecordFraming.ReadResult, _ raw: UnsafeRawBufferPointer, at offset: Int, everyRecordIsABatch: Bool
    ) -> String? {
        switch result {
        case .record:
            return nil
        case .truncatedHeader(let available):
            return "the file ends \(available) bytes into a record header"
        case .truncatedPayload(let declared, let available):
            return "a record declares \(declared) payload bytes but only \(available) are present"
        case .badLength:
            let zeros = raw[offset...].allSatisfy { $0 == 0 }
            return zeros ? "\(raw.count - offset) zero bytes (file extended, data never written)" : nil
        case .badChecksum(_, _, let length):
            var position = offset + RecordFraming.recordOverhead + length
            while position < raw.count {
                let later = RecordFraming.read(raw, at: position)
                switch later {
                case .record(_, let next, let batchStart):
                    if batchStart || everyRecordIsABatch { return nil }
                    position = next
                case .badChecksum(_, _, let skip):
                    position += RecordFraming.recordOverhead + skip
                default:
                    position = raw.count
                }
            }
            return "CRC mismatch in the final, unacknowledged batch"
        }
    }

    static func damageFailure(
        _ result: RecordFraming.ReadResult, file: String, offset: Int, index: Int?, checkpoint: Int?, covered: Int = 0
    ) -> VerificationFailure {
        let signed = index.map { $0 < covered } ?? false
        let why =
            signed
            ? " (a signed checkpoint covers this record, so it is not a crash remnant)"
            : " (not confined to the final batch: intact or non-zero data follows, so it was acknowledged)"
        switch result {
        case .record:
            preconditionFailure("not damage")
        case .truncatedHeader(let available):
            return VerificationFailure(
                .entriesTruncated, index: index, checkpoint: checkpoint, file: file, offset: offset,
                "the file ends inside a record header" + (signed ? why : ""),
                evidence: [.init("bytes present", String(available)), .init("checkpointed size", String(covered))])
        case .truncatedPayload(let declared, let available):
            return VerificationFailure(
                .entriesTruncated, index: index, checkpoint: checkpoint, file: file, offset: offset,
                "the file ends inside a record" + (signed ? why : ""),
                evidence: [
                    .init("declared length", String(declared)), .init("bytes present", String(available)),
                    .init("checkpointed size", String(covered)),
                ])
        case .badLength(let declared):
            return VerificationFailure(
                .recordFraming, index: index, checkpoint: checkpoint, file: file, offset: offset,
                "record length \(declared) is impossible (0 or over \(RecordFraming.maxPayload))" + why,
                evidence: [.init("declared length", String(declared))])
        case .badChecksum(let declared, let computed, let length):
            return VerificationFailure(
                .recordChecksum, index: index, checkpoint: checkpoint, file: file, offset: offset,
                "record bytes do not match their CRC-32C: the record was altered or corrupted" + why,
                evidence: [
                    .init("stored CRC", String(format: "%08x", declared)), .init("computed CRC", String(format: "%08x", computed)),
                    .init("payload length", String(length)),
                ])
        }
    }
}
