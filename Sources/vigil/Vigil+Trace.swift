// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import VigilCore
import VigilSensor

extension Vigil {
    struct Trace: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a command (or adopt a running process tree) as a session and print every event of its tree.",
            discussion: """
                Ends when the last process of the tree has exited, not just the command, then prints a \
                summary and exits with the command's status. Needs root (BPF).
                """)

        @Flag(name: .long, help: "Print JSON lines instead of a table.")
        var json = false

        @Option(name: .long, help: "Trace the running process PID and its descendants instead of starting a command.")
        var pid: Int32?

        @Option(
            name: [.customShort("o"), .long],
            help: ArgumentHelp(
                "Write the events to FILE instead of standard output (created with mode 0600, replaced; a symlink is refused). The summary ends FILE and standard output.",
                valueName: "FILE"))
        var output: String?

        @Argument(parsing: .captureForPassthrough, help: "The command to run, after --.")
        var command: [String] = []

        func validate() throws {
            let argv = command.first == "--" ? Array(command.dropFirst()) : command
            if pid == nil && argv.isEmpty { throw ValidationError("give a command after -- or --pid PID") }
            if pid != nil && !argv.isEmpty { throw ValidationError("give either a command or --pid, not both") }
        }

        func run() async throws {
            let argv = command.first == "--" ? Array(command.dropFirst()) : command
            var outputFD: Int32 = 1
            if let path = output {
                // O_NOFOLLOW: run as root, a symlink planted at FILE must not redirect the write.
                outputFD = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
                guard outputFD >= 0 else {
                    FileHandle.standardError.write(Data("vigil: --output \(path): \(String(cString: strerror(errno)))\n".utf8))
                    throw ExitCode(73)  // EX_CANTCREAT
                }
            }
            let sensor: Sensor
            do {
                // A trace follows one tree: exec events of the rest of the machine are not needed
                // (the daemon turns them on to spot agents started outside Vigil).
                var options = SensorOptions()
                options.execAll = false
                sensor = try Sensor(options: options)
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(2)
            }
            for mode in sensor.degradedModes {
                FileHandle.standardError.write(Data("vigil: degraded: \(mode)\n".utf8))
            }
            signal(SIGINT, SIG_IGN)  // the command gets the terminal's ^C; we end with its tree
            let hashCache = HashCacheFile(path: HashCacheFile.systemPath)
            if let warning = hashCache.degradedWarning { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
            let tracer = Tracer(sensor: sensor, hasher: ExecutableHasher(store: hashCache))
            let output = OutputBuffer(fd: outputFD)
            if !json { output.write("PID      KIND     DETAIL\n") }
            let json = self.json
            let onEvent: (SensorEvent, RenderedContext) -> Void = { event, context in
                if json {
                    output.writeLine { EventRenderer.appendJSON(event, context, to: &$0) }
                } else {
                    output.writeLine(EventRenderer.tableRow(event, context))
                }
            }
            let summary: TraceSummary
            do {
                if let pid {
                    summary = try await tracer.attach(pid: pid, onEvent: onEvent)
                } else {
                    summary = try await tracer.run(command: argv, onEvent: onEvent)
                }
            } catch {
                output.flush()
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(2)
            }
            let c = sensor.counters()
            var s = JSONObjectWriter()
            s.string("kind", "summary")
            s.string("session", EventRenderer.hex(summary.session))
            s.int("events", Int64(summary.events))
            s.int("dropped", Int64(summary.dropped))
            s.int("gaps", Int64(summary.gaps))
            s.int("processes", Int64(summary.processes))
            s.int("resynced", Int64(summary.resynced))
            s.int("decode_errors", Int64(summary.decodeErrors))
            s.int("unhashed", Int64(summary.unhashed))
            s.int("kernel_dropped_total", Int64(c.totalDropped))
            s.int("path_truncated", Int64(c.pathTruncated))
            s.int("argv_truncated", Int64(c.argvTruncated))
            s.int("track_failed", Int64(c.trackFailed))
            if summary.waitStatus != nil { s.int("exit_code", Int64(summary.exitCode)) }
            let summaryLine =
                json
                ? s.finish()
                : "-- \(summary.events) events, \(summary.processes) processes, \(summary.dropped) dropped"
                    + (summary.waitStatus != nil ? ", exit \(summary.exitCode)" : "")
            output.writeLine(summaryLine)
            output.flush()
            if outputFD != 1 {
                let console = OutputBuffer(fd: 1)
                console.writeLine(summaryLine)
                console.flush()
                _ = console.reportLoss()
                close(outputFD)
            }
            if !output.reportLoss() { throw ExitCode(summary.exitCode != 0 ? summary.exitCode : 74) }  // EX_IOERR
            if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
        }
    }
}

/// Buffered output (stdout or --output): one write per ~64 KiB instead of one per event. A failed write (a full disk,
/// a closed pipe with SIGPIPE ignored) is remembered with the bytes it lost, and reported.
final class OutputBuffer: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var lostBytes = 0
    private(set) var firstError: Int32?
    init(fd: Int32) { self.fd = fd }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count > 1 << 16 { flush() }
    }
    func writeLine(_ text: String) {
        writeLine { $0.append(contentsOf: text.utf8) }
    }
    /// A line `render` appends to the buffer itself (no String in between).
    func writeLine(_ render: (inout [UInt8]) -> Void) {
        render(&buffer)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count > 1 << 16 { flush() }
    }
    func flush() {
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    if firstError == nil { firstError = n < 0 ? errno : EIO }
                    lostBytes += raw.count - offset
                    break
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Says on stderr what could not be written; true if everything was.
    func reportLoss() -> Bool {
        guard let error = firstError else { return true }
        FileHandle.standardError.write(
            Data(
                "vigil: output: \(lostBytes) bytes of events could not be written: \(String(cString: strerror(error)))\n".utf8))
        return false
    }
}
