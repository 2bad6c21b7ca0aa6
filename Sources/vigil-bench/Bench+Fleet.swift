// SPDX-License-Identifier: Apache-2.0
// `vigil-bench fleet`: a policy change on the console to "applied" on N enrolled devices, simulated in
// this process on loopback against the real vigil-console (SQLite, or `--db postgres://…` with
// `--replicas N` consoles sharing it and their key files, the devices spread over them and every
// change pushed through the first): every device with its own key,
// its own TLS connection and signed event stream, its own bundle verification. The policy compile
// that a real device does on its own CPU is done once per document here (a thousand compiles of one
// document on these two cores would measure the simulator, not the console) and its time, measured
// beside, is added to every device's latency. In the same run, the same devices polling every 10 s
// (what Fleet's agents do at best).
import Foundation
import Glibc
import NIOCore
import Synchronization
import VigilAPI
import VigilFleet
import VigilPolicy
import VigilTransport
import VigilTransportClient

@Sendable func benchFleet() async throws {
    let counts = (ProcessInfo.processInfo.environment["VIGIL_BENCH_FLEET_DEVICES"] ?? "1000").split(separator: ",").compactMap { Int($0) }
    let changes = Int(ProcessInfo.processInfo.environment["VIGIL_BENCH_FLEET_CHANGES"] ?? "") ?? 5
    let database = benchOptions["db"]
    let replicas = Int(benchOptions["replicas"] ?? "1") ?? 0
    guard replicas >= 1, replicas == 1 || database != nil else {
        throw Failure("fleet: --replicas takes a number, above 1 only with --db postgres://… (replicas share one database)")
    }
    let files = raiseFileLimit()
    for count in counts {
        // Past the limit a socket() fails and, worse, libdispatch's pool monitor cannot open
        // /proc/TID/stat and kills the process (SIGILL): refused here instead, with the numbers.
        let needed = scaled(count) * 2 + 1000
        guard needed <= files else {
            throw Failure(
                "fleet: \(scaled(count)) devices need about \(needed) open files in this process and as many in the console, and the limit is \(files) (raising it needs CAP_SYS_RESOURCE or a higher hard limit: ulimit -Hn)"
            )
        }
        let fleet = try await Fleet.start(devices: scaled(count), database: database, replicas: replicas)
        defer { fleet.stop() }
        try await fleet.measurePush(changes: changes)
        try await fleet.measurePoll(interval: 10)
    }
}

/// Each device holds two connections (its stream and its kept connection; a socket here and one in
/// the console, which inherits the limit): the soft limit lifted to the hard one, and as root the hard
/// one to the kernel's fs.nr_open, since 10,000 devices need more than a default hard limit of 20,000.
/// The limit in force afterwards. (Root without CAP_SYS_RESOURCE, as in some containers, cannot
/// raise the hard limit.)
private func raiseFileLimit() -> Int {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    if let text = try? String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8),
        let most = rlim_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), most > limit.rlim_max
    {
        var raised = rlimit(rlim_cur: most, rlim_max: most)
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { return Int(most) }
    }
    limit.rlim_cur = limit.rlim_max
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    return Int(limit.rlim_cur)
}

private final class Fleet: Sendable {
    /// The first takes every change; devices are spread over all of them.
    let consoles: [ConsoleProcess]
    let devices: [SimulatedDevice]
    let database: String
    let tasks: Mutex<[Task<Void, Never>]> = Mutex([])
    private let labels = Mutex(0)

    static func start(devices count: Int, database: String?, replicas: Int) async throws -> Fleet {
        var consoles: [ConsoleProcess] = []
        do {
            for index in 0..<replicas {
                consoles.append(try ConsoleProcess.start(index: index, database: database, sharingKeysOf: consoles.first))
            }
            return try await start(consoles: consoles, devices: count, database: database)
        } catch {
            consoles.forEach { $0.stop() }
            throw error
        }
    }

    private static func start(consoles: [ConsoleProcess], devices count: Int, database: String?) async throws -> Fleet {
        let tokens = try consoles.map { try $0.token(uses: count) }
        try FileManager.default.createDirectory(atPath: consoles[0].deviceBase, withIntermediateDirectories: true)
        var devices: [SimulatedDevice] = []
        let started = ContinuousClock.now
        var retried = 0
        for index in 0..<count {
            let directory = consoles[0].deviceBase + "/dev-\(index)"
            let enrol = {
                try await SimulatedDevice.enrol(
                    token: tokens[index % consoles.count], team: index % 2 == 0 ? "infra" : "web", replica: index % consoles.count,
                    directory: directory)
            }
            do {
                devices.append(try await enrol())
            } catch let error as FleetError where error.step == .connect {
                // Thousands of one-shot connections in a minute on one loopback pair of addresses: a
                // connect can meet a port still in TIME_WAIT. Once more, counted in the output.
                retried += 1
                try? FileManager.default.removeItem(atPath: directory)
                do {
                    devices.append(try await enrol())
                } catch {
                    throw Failure("enrolling device \(index) of \(count), twice: \(error)")
                }
            } catch {
                throw Failure("enrolling device \(index) of \(count): \(error)")
            }
        }
        let enrolled = ContinuousClock.now - started
        let name = database.map { $0.hasPrefix("postgres") ? "postgres" : "sqlite" } ?? "sqlite"
        report(
            "fleet.enrol",
            [
                "devices": "\(count)", "db": name, "replicas": "\(consoles.count)",
                "per_device_ms": String(format: "%.2f", enrolled.milliseconds / Double(count)), "connect_retries": "\(retried)",
            ])
        return Fleet(consoles: consoles, devices: devices, database: name)
    }

    private init(consoles: [ConsoleProcess], devices: [SimulatedDevice], database: String) {
        self.consoles = consoles
        self.devices = devices
        self.database = database
    }

    func stop() {
        tasks.withLock { $0.forEach { $0.cancel() } }
        consoles.forEach { $0.stop() }
    }

    /// A change through the first console; the version it stored (the database may hold earlier runs').
    private func push() async throws -> Int {
        let label = labels.withLock { label in
            label += 1
            return label
        }
        return try await consoles[0].push(label: label)
    }

    /// Streams: each change is pushed with the admin command, and its latency is the time until the
    /// device has verified, compiled and applied the bundle.
    func measurePush(changes: Int) async throws {
        let first = try await push()
        let rssBefore = consoles.map { $0.residentKiB() }.reduce(0, +)
        for device in devices { tasks.withLock { $0.append(Task { await device.uplink.run() }) } }
        try await waitUntil("every device on v\(first) and connected", timeout: 120) {
            devices.allSatisfy { $0.uplink.status.connected && $0.appliedVersion() == first }
        }
        let rssAfter = consoles.map { $0.residentKiB() }.reduce(0, +)
        // The first reports after start (spread like those after a change) done, as before every change.
        try await Task.sleep(for: PolicyUplink.reportHold + PolicyUplink.reportSpread + .seconds(1))
        // CPU time of each side over the changes: on two shared cores the simulated fleet's own work
        // (a thousand devices' TLS, signatures, parsing) competes with the consoles'.
        let consoleCPU = consoles.map { $0.cpuMilliseconds() }.reduce(0, +), fleetCPU = ConsoleProcess.cpuMilliseconds(pid: getpid())
        // Per device: the latency, and whether its stream is on the console that took the change.
        var latencies: [(ms: Double, same: Bool)] = []
        var perChange: [String] = []
        for _ in 0..<changes {
            let pushed = Date()
            let version = try await push()
            try await waitUntil("v\(version) everywhere", timeout: 60) { devices.allSatisfy { $0.appliedVersion() == version } }
            let these = devices.compactMap { device in
                device.appliedAt(version).map { ($0.timeIntervalSince(pushed) * 1000, device.replica == 0) }
            }
            latencies += these
            perChange.append(ms(these.map(\.0).sorted(), 0.99))
            // Each change from a settled fleet: the devices' reports of this one (held, then spread
            // over PolicyUplink.reportSpread) done before the next is pushed, as between two real changes.
            try await Task.sleep(for: PolicyUplink.reportHold + PolicyUplink.reportSpread + .seconds(1))
        }
        let consoleCPUPerChange = (consoles.map { $0.cpuMilliseconds() }.reduce(0, +) - consoleCPU) / Double(changes)
        let fleetCPUPerChange = (ConsoleProcess.cpuMilliseconds(pid: getpid()) - fleetCPU) / Double(changes)
        // What each real device adds on its own CPU: one compile of the bundle.
        let compile = DeviceCompile.shared.milliseconds
        let all = latencies.map { $0.ms + compile }.sorted()
        let other = latencies.filter { !$0.same }.map { $0.ms + compile }.sorted()
        report(
            "fleet.push",
            [
                "devices": "\(devices.count)", "db": database, "replicas": "\(consoles.count)", "changes": "\(changes)",
                "p50_ms": ms(all, 0.50), "p99_ms": ms(all, 0.99), "max_ms": ms(all, 1.0),
                // Without the compile: is the tail one bad change, or every change's?
                "p99_ms_by_change": perChange.joined(separator: "/"),
                // The devices streaming from another replica than the one the change went through (NOTIFY in between).
                "other_replica_p50_ms": ms(other, 0.50), "other_replica_p99_ms": ms(other, 0.99),
                "device_compile_ms": String(format: "%.2f", compile),
                "console_cpu_ms_per_change": String(format: "%.0f", consoleCPUPerChange),
                "simulated_fleet_cpu_ms_per_change": String(format: "%.0f", fleetCPUPerChange),
                "connections_held": "\(devices.filter { $0.uplink.status.connected }.count)",
                "console_rss_per_connection_kib": String(format: "%.1f", Double(rssAfter - rssBefore) / Double(devices.count)),
            ])
        tasks.withLock { tasks in
            tasks.forEach { $0.cancel() }
            tasks.removeAll()
        }
    }

    /// The same devices, no stream: each asks for the bundle every `interval` seconds from a random phase.
    func measurePoll(interval: Double) async throws {
        for device in devices {
            tasks.withLock {
                $0.append(
                    Task {
                        try? await Task.sleep(for: .milliseconds(Int.random(in: 0..<Int(interval * 1000))))
                        while !Task.isCancelled {
                            await device.poll()
                            try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                        }
                    })
            }
        }
        try await Task.sleep(for: .seconds(1))
        let pushed = Date()
        let version = try await push()
        try await waitUntil("v\(version) by polling", timeout: interval * 3) { devices.allSatisfy { $0.appliedVersion() == version } }
        let compile = DeviceCompile.shared.milliseconds
        let latencies = devices.compactMap { $0.appliedAt(version).map { $0.timeIntervalSince(pushed) * 1000 + compile } }.sorted()
        report(
            "fleet.poll",
            [
                "devices": "\(devices.count)", "db": database, "replicas": "\(consoles.count)", "interval_s": "\(Int(interval))",
                "p50_ms": ms(latencies, 0.50), "p99_ms": ms(latencies, 0.99),
                "max_ms": ms(latencies, 1.0),
            ])
        tasks.withLock { $0.forEach { $0.cancel() } }
    }

    private func waitUntil(_ what: String, timeout: Double, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw Failure("fleet: timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private func ms(_ sorted: [Double], _ quantile: Double) -> String {
        guard !sorted.isEmpty else { return "na" }
        return String(format: "%.1f", sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * quantile))])
    }
}

/// One enrolled device: its uplink applies bundles into a compiled policy and notes when.
private final class SimulatedDevice: Sendable {
    let enrollment: FleetEnrollment
    let state: EnrollmentState
    let uplink: PolicyUplink
    /// Which console it enrolled with, and streams from.
    let replica: Int
    private let applied = AppliedVersions()

    static func enrol(token: String, team: String, replica: Int, directory: String) async throws -> SimulatedDevice {
        let enrollment = FleetEnrollment(stateDirectory: directory)
        let facts = DeviceFacts(
            hostname: "sim-\(team)", os: "bench", kernel: "bench", vigilVersion: VigilVersion.current, enforcementMode: "bench", posture: [:])
        let state = try await enrollment.enroll(token: token, facts: facts)
        return try SimulatedDevice(enrollment: enrollment, state: state, replica: replica, facts: facts)
    }

    private init(enrollment: FleetEnrollment, state: EnrollmentState, replica: Int, facts: DeviceFacts) throws {
        self.enrollment = enrollment
        self.state = state
        self.replica = replica
        let applied = applied
        uplink = try PolicyUplink(
            enrollment: enrollment, state: state,
            apply: { bundle, _ in
                switch DeviceCompile.shared.compile(bundle) {
                case .success:
                    applied.note(bundle.version)
                    return .success([])
                case .failure(let error): return .failure(error)
                }
            }, record: { _, _ in }, facts: { facts })
    }

    func appliedVersion() -> Int { applied.latest }
    func appliedAt(_ version: Int) -> Date? { applied.at(version) }
    func poll() async { await uplink.poll() }
}

/// The devices' compile of a bundle, once per document for the whole simulated fleet, and how long
/// one compile takes (the median of repeated compiles of the newest document).
private final class DeviceCompile: Sendable {
    static let shared = DeviceCompile()
    private let compiled = Mutex<[String: Result<Void, PolicyError>]>([:])
    private let newest = Mutex<String?>(nil)

    func compile(_ bundle: PolicyBundle) -> Result<Void, any Error> {
        if let known = compiled.withLock({ $0[bundle.document] }) { return known.mapError { $0 } }
        let result: Result<Void, PolicyError> = Result { () throws(PolicyError) in
            _ = try Policy(yaml: bundle.document, file: "console v\(bundle.version)")
        }
        compiled.withLock { $0[bundle.document] = result }
        newest.withLock { $0 = bundle.document }
        return result.mapError { $0 }
    }

    var milliseconds: Double {
        guard let document = newest.withLock({ $0 }) else { return 0 }
        let clock = ContinuousClock()
        var samples: [Double] = []
        for _ in 0..<31 {
            let start = clock.now
            _ = try? Policy(yaml: document, file: "sample")
            samples.append((clock.now - start).milliseconds)
        }
        return samples.sorted()[samples.count / 2]
    }
}

/// When each version was applied.
private final class AppliedVersions: Sendable {
    private let times = Mutex<[Int: Date]>([:])
    func note(_ version: Int) { times.withLock { $0[version] = Date() } }
    var latest: Int { times.withLock { $0.keys.max() ?? 0 } }
    func at(_ version: Int) -> Date? { times.withLock { $0[version] } }
}

/// The real vigil-console, next to this binary, on a scratch state directory and a free port.
private final class ConsoleProcess: Sendable {
    let base: String
    let binary: String
    private let process: Process

    /// `sharingKeysOf`: another replica, whose policy key and TLS identity this one starts with.
    static func start(index: Int, database: String?, sharingKeysOf other: ConsoleProcess?) throws -> ConsoleProcess {
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let binary = (exe as NSString).deletingLastPathComponent + "/vigil-console"
        guard access(binary, X_OK) == 0 else { throw Failure("\(binary) is missing: build the vigil-console product first") }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-fleet-\(getpid())-\(index)").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        if let other {
            try FileManager.default.createDirectory(
                atPath: base + "/console", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            for name in ["policy-key.pem", "tls-key.pem", "tls-cert.pem"] {
                try FileManager.default.copyItem(atPath: other.base + "/console/" + name, toPath: base + "/console/" + name)
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments =
            ["serve", "--state", base + "/console", "--listen", "127.0.0.1:\(Int.random(in: 20000...40000))"] + (database.map { ["--db", $0] } ?? [])
        process.environment = ProcessInfo.processInfo.environment.merging(["VIGIL_LOG_LEVEL": "warning"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let console = ConsoleProcess(base: base, binary: binary, process: process)
        for _ in 0..<300 where (try? console.admin(["devices"])) == nil { usleep(50_000) }
        return console
    }

    private init(base: String, binary: String, process: Process) {
        self.base = base
        self.binary = binary
        self.process = process
    }

    @discardableResult
    func admin(_ arguments: [String]) throws -> String {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: binary)
        child.arguments = arguments + ["--state", base + "/console"]
        let pipe = Pipe()
        child.standardOutput = pipe
        child.standardError = pipe
        try child.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        guard child.terminationStatus == 0 else { throw Failure("vigil-console \(arguments.joined(separator: " ")): \(output)") }
        return output
    }

    func token(uses: Int) throws -> String {
        try admin(["enroll-token", "--uses", "\(uses)", "--expires", "1h"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `pushPolicy` on a thread of its own: it blocks, and the devices' callbacks need the concurrency pool.
    func push(label: Int) async throws -> Int {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
            Thread.detachNewThread { continuation.resume(with: Result { try self.pushPolicy(label: label) }) }
        }
    }

    /// The change as an admin makes it (POST on the admin socket), timed from just before the request;
    /// the version the console stored.
    func pushPolicy(label: Int) throws -> Int {
        let file = base + "/policy-\(label).yaml"
        try """
        vigil: 1
        version: "bench-\(label)"
        defaults: {tool: allow}
        rules:
          - {id: no-kubectl, match: Bash(kubectl *), action: deny}
          - {id: infra-kubectl, match: Bash(kubectl *), action: allow, scope: {team: infra}, overrides: [no-kubectl]}
          - {id: no-env, match: Read(**/.env), action: deny}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let document = try String(contentsOfFile: file, encoding: .utf8)
        let client = HTTPClient(.unix(path: base + "/console/admin.sock"))
        defer { client.close() }
        let body = try JSONEncoder().encode(PolicyChange(document: document, actor: "bench", comment: nil))
        let answer = try client.request("POST", "/admin/v1/policy", headers: ["Content-Type": "application/json"], body: Array(body))
        guard answer.status == 201 else { throw Failure("policy push answered \(answer.status): \(answer.bodyText)") }
        return try JSONDecoder().decode(PolicyBundle.self, from: Data(answer.body)).version
    }

    func cpuMilliseconds() -> Double { Self.cpuMilliseconds(pid: process.processIdentifier) }

    /// User and system time of `pid` so far (/proc/PID/stat fields 14 and 15, in clock ticks).
    static func cpuMilliseconds(pid: Int32) -> Double {
        guard let data = try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/stat")).readToEnd(),
            let text = String(data: data, encoding: .utf8), let end = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: end)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) * 1000 / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func residentKiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }

    /// The simulated devices' state directories: on tmpfs, because each real device has a disk of its
    /// own (its kept-bundle fsync is not the console's cost), and here a thousand share one.
    var deviceBase: String { "/dev/shm/vigil-bench-fleet-\(getpid())" }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: base)
        try? FileManager.default.removeItem(atPath: deviceBase)
    }
}

extension Duration {
    fileprivate var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}

private struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
