// SPDX-License-Identifier: Apache-2.0
// The default log backend of vigild and vigil: one readable line per record on standard error,
// `LABEL: [LEVEL: ]MESSAGE [key=value …]`, so the lines read as before swift-log and stay greppable.
import Foundation
import Logging

/// Writes each record as one line to standard error. Info and notice carry no level word (the
/// daemon's ordinary lines, e.g. `vigild: running (pid 812); …`); the others name theirs.
public struct StandardErrorLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, logLevel: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let own = event.metadata { all.merge(own) { _, new in new } }
        let line = Self.line(label: label, level: event.level, message: event.message, metadata: all)
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// The text of one record, newline included: keys sorted so a line reads the same every time.
    public static func line(label: String, level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata) -> String {
        var line = label + ": "
        switch level {
        case .info, .notice: break
        default: line += "\(level): "
        }
        line += message.description
        for key in metadata.keys.sorted() { line += " \(key)=\(metadata[key]!)" }
        return line + "\n"
    }
}

extension Logger.Level {
    /// A level named on a command line or in `VIGIL_LOG_LEVEL` (`trace` … `critical`), any case.
    public init?(name: String) {
        self.init(rawValue: name.lowercased())
    }
}
