// SPDX-License-Identifier: Apache-2.0
// The conversation, from Claude Code's own transcript: read at Stop and SessionEnd from where the
// last read ended, kept with the session as conversation.jsonl. The path comes from the hook
// payload, so the daemon (root) opens it only if it is a regular file owned by the session's user
// and not a symlink: a payload cannot make the daemon copy a file its user could not read.
import Foundation
import Glibc
import Synchronization
import VigilAPI
import VigilClaude
import VigilCore

extension SessionRegistry {
    /// Reads what the transcript gained since the last read and appends it to the session's
    /// conversation. Problems are kept with the session (and counted), never silent.
    func ingestTranscript(session: SessionID) {
        guard
            let (id, uid, path, offset) = state.withLock({ state -> (String, UInt32, String, UInt64)? in
                guard let live = state.sessions[session], let path = live.record.transcriptPath else { return nil }
                return (live.record.id, live.record.uid, path, live.transcriptOffset)
            })
        else { return }
        let read = Self.readTranscript(path: path, owner: uid, from: offset)
        switch read {
        case .failure(let error):
            let problem = error.description
            state.withLock { state in
                guard var live = state.sessions[session], !live.record.problems.contains(problem) else { return }
                live.record.problems.append(problem)
                state.sessions[session] = live
            }
            journal.noteError("session \(id): \(problem)", metadata: ["session.id": "\(id)"])
        case .success(let (bytes, start)):
            var reader = TranscriptReader()
            let chunk = reader.read(bytes, from: start)
            state.withLock { state in
                guard var live = state.sessions[session] else { return }
                live.transcriptOffset = chunk.newOffset
                live.record.conversationItems += chunk.items.count
                live.record.transcriptSkipped += chunk.counters.malformed + chunk.counters.oversized
                state.sessions[session] = live
            }
            do {
                try store.appendConversation(chunk.items.map(Self.redacted), to: id)
            } catch {
                counters.timelineFailures.add(1, ordering: .relaxed)
                journal.noteError("session \(id) conversation: \(error)", metadata: ["session.id": "\(id)"])
            }
        }
    }

    /// Secrets (tokens, keys, passwords in the usual shapes) are masked before anything is stored.
    static func redacted(_ item: ConversationItem) -> ConversationItem {
        var copy = item
        switch item.content {
        case .prompt(let text): copy.content = .prompt(text: InputSummary.redact(text))
        case .assistantText(let text): copy.content = .assistantText(text: InputSummary.redact(text))
        case .toolUse(let id, let name, let input): copy.content = .toolUse(id: id, name: name, input: InputSummary.redact(input))
        case .toolResult(let id, let text, let isError, let decision):
            copy.content = .toolResult(id: id, text: InputSummary.redact(text), isError: isError, decision: decision)
        }
        return copy
    }

    static func readTranscript(path: String, owner: UInt32, from offset: UInt64) -> Result<([UInt8], UInt64), DaemonError> {
        guard path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
            return .failure(DaemonError("transcript path \(path) is not a plain absolute path; not read"))
        }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(DaemonError("transcript \(path) cannot be opened: \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            return .failure(DaemonError("transcript \(path) is not a regular file; not read"))
        }
        guard st.st_uid == owner else {
            return .failure(DaemonError("transcript \(path) belongs to uid \(st.st_uid), not to the session's user \(owner); not read"))
        }
        let size = UInt64(st.st_size)
        let start = offset <= size ? offset : 0  // a rewritten (shorter) file is read again from the start
        let length = Int(min(size - start, 16 << 20))
        var bytes = [UInt8](repeating: 0, count: length)
        var done = 0
        while done < length {
            let n = bytes[done...].withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        return .success((Array(bytes.prefix(done)), start))
    }
}

extension SessionStore {
    public func appendConversation(_ items: [ConversationItem], to id: String) throws(DaemonError) {
        guard !items.isEmpty else { return }
        let dir = sessionDirectory(id)
        try DaemonFiles.makeDirectory(dir, mode: 0o700)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes: [UInt8] = []
        for item in items {
            guard let data = try? encoder.encode(item) else { continue }
            bytes += data
            bytes.append(0x0A)
        }
        try DaemonFiles.append(dir + "/conversation.jsonl", bytes, mode: 0o600)
    }

    public func conversation(_ id: String) -> [ConversationItem] {
        guard let data = FileManager.default.contents(atPath: sessionDirectory(id) + "/conversation.jsonl") else { return [] }
        let decoder = JSONDecoder()
        return data.split(separator: 0x0A).compactMap { try? decoder.decode(ConversationItem.self, from: Data($0)) }
    }
}
