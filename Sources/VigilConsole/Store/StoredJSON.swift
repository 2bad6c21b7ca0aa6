// SPDX-License-Identifier: Apache-2.0
// The JSON columns both stores keep (facts, counters, activity, reports): one encoding (sorted keys,
// so equal values store equal text) and one refusal naming the column that holds bad JSON.
import Foundation

enum StoredJSON {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, column: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw ConsoleStoreError.database("\(column) holds JSON that does not decode: \(error)")
        }
    }
}
