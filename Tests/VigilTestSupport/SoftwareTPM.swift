// SPDX-License-Identifier: Apache-2.0
// A software TPM for the tests: Debian's swtpm on a free loopback port pair, a fresh state directory
// per instance, stopped by pid. posix_spawn, not Foundation's Process: Process hands children a
// blocked-SIGTERM mask, and swtpm then ignores the stop.
import Foundation
import Glibc
import Testing

extension Requirement {
    /// swtpm (Debian's swtpm package, `make deps`) is installed.
    public static let swtpm = Requirement(
        name: "swtpm", missing: SoftwareTPM.binary.map { _ in nil } ?? "swtpm is not installed (make deps installs swtpm and swtpm-tools)")
}

extension Requirement {
    /// tpm2-tools (`make deps`), to drive the software TPM from outside (a lockout, for instance).
    public static let tpm2Tools = Requirement(
        name: "tpm2-tools",
        missing: FileManager.default.isExecutableFile(atPath: "/usr/bin/tpm2_create") ? nil : "tpm2-tools is not installed (make deps)")
}

public final class SoftwareTPM: @unchecked Sendable {
    public static let binary: String? = ["/usr/bin/swtpm", "/usr/local/bin/swtpm"].first { FileManager.default.isExecutableFile(atPath: $0) }

    public let stateDirectory: String
    public private(set) var port: UInt16 = 0
    private var pid: pid_t = 0

    /// The TCTI string vigil takes in VIGIL_TPM_TCTI.
    public var tcti: String { "swtpm:host=127.0.0.1,port=\(port)" }

    /// Starts swtpm with a new state directory. Throws when swtpm is missing or does not come up.
    public init() throws {
        guard Self.binary != nil else { throw Privileges.Missing(description: "swtpm is not installed") }
        stateDirectory = NSTemporaryDirectory() + "vigil-swtpm-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }

    /// Starts swtpm: the first time on a free port pair, after ``stop()`` on the same state and the
    /// same port (a restarted TPM at the address its clients know), retried while the port is busy.
    public func start() throws {
        guard pid == 0 else { return }
        let restart = port != 0
        for _ in 0..<(restart ? 200 : 20) {
            let candidate = restart ? port : UInt16.random(in: 20000...60000) & ~1
            // 55432/55433: the benchmark machine's PostgreSQL.
            guard candidate != 55432, Self.isFree(candidate), Self.isFree(candidate + 1) else {
                if restart { usleep(10_000) }
                continue
            }
            let child = try spawn(port: candidate)
            if Self.waitListening(port: candidate, pid: child) {
                pid = child
                port = candidate
                return
            }
            kill(child, SIGKILL)
            var status: Int32 = 0
            waitpid(child, &status, 0)
        }
        throw Privileges.Missing(description: restart ? "swtpm did not start again on port \(port)" : "swtpm did not start listening (20 attempts)")
    }

    /// Kills swtpm (SIGKILL: an unclean stop, as a crash or power cut would be) and reaps it.
    public func stop() {
        guard pid != 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    /// Runs a tpm2-tools command against this TPM; throws with its stderr when it fails.
    public func tool(_ name: String, _ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(name)")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ["TPM2TOOLS_TCTI": "swtpm:host=127.0.0.1,port=\(port)", "PATH": "/usr/bin:/bin"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Privileges.Missing(description: "\(name) failed: \(text)") }
    }

    /// Puts the TPM into dictionary-attack lockout: one allowed failure, then a wrong password for
    /// the (DA-protected) storage root key. Objects made with noDA still sign; loading under the SRK fails.
    public func lockOut(scratch directory: String) throws {
        try tool(
            "tpm2_dictionarylockout", ["--setup-parameters", "--max-tries=1", "--recovery-time=600", "--lockout-recovery-time=600"], in: directory)
        try tool("tpm2_createprimary", ["-C", "o", "-g", "sha256", "-G", "ecc256:aes128cfb", "-c", "srk.ctx"], in: directory)
        // Expected to fail: that failure is what counts towards the lockout.
        try? tool("tpm2_create", ["-C", "srk.ctx", "-P", "wrong", "-G", "ecc256", "-u", "k.pub", "-r", "k.priv"], in: directory)
        try tool("tpm2_flushcontext", ["-t"], in: directory)
    }

    private func spawn(port: UInt16) throws -> pid_t {
        let arguments = [
            Self.binary!, "socket", "--tpm2", "--server", "type=tcp,bindaddr=127.0.0.1,port=\(port)", "--ctrl",
            "type=tcp,bindaddr=127.0.0.1,port=\(port + 1)", "--flags", "not-need-init,startup-clear", "--tpmstate", "dir=\(stateDirectory)",
        ]
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stateDirectory + "/swtpm.log", O_WRONLY | O_CREAT | O_APPEND, 0o600)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, Self.binary!, &actions, &attributes, &argv, environ)
        guard rc == 0 else { throw Privileges.Missing(description: "posix_spawn swtpm: \(String(cString: strerror(rc)))") }
        return child
    }

    private static func isFree(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        // As swtpm binds (SO_REUSEADDR): connections of a killed instance in TIME_WAIT do not count.
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Polls until the server port accepts a connection (29-69 ms measured), or swtpm exits.
    private static func waitListening(port: UInt16, pid: pid_t) -> Bool {
        for _ in 0..<500 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return false }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = loopback(port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(fd)
            if connected { return true }
            usleep(10_000)
        }
        return false
    }

    private static func loopback(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
