// SPDX-License-Identifier: Apache-2.0
// Consumer throughput: decode ring-buffer records and update the process tree, on one core,
// from a realistic mix (opens dominate, as in a build). No kernel involved: this is the ceiling
// of the Swift side; the kernel side is measured by bench/sensor-overhead.sh.
import Foundation
import VigilCore
import VigilPolicy

@Sendable func benchConsumer() async throws {
    let batch = syntheticBatch(records: scaled(100_000))
    let rounds = 20
    var tree = ProcessTree()
    tree.startSession(1, root: 1000, parent: 1)
    var events = 0
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<rounds {
        try batch.bytes.withUnsafeBytes { raw in
            try EventDecoder.decodeBatch(raw) { event in
                tree.apply(event)
                events += 1
            }
        }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let withPolicy = try consumerWithPolicy(batch)
    report(
        "consumer",
        [
            "events": String(events),
            "events_per_s": String(Int(Double(events) / seconds)),
            "bytes_per_event": String(batch.bytes.count / batch.records),
            "events_per_s_with_policy": String(withPolicy),
            "target_events_per_s": "1000000",
        ])
}

/// Decode + tree + a policy decision for every exec/open/connect, with the example policy.
func consumerWithPolicy(_ batch: (bytes: [UInt8], records: Int)) throws -> Int {
    let text = try String(contentsOfFile: "examples/policy.yaml", encoding: .utf8)
    let policy = try Policy(yaml: text, file: "examples/policy.yaml")
    let identity = Identity(user: "dev", teams: ["app"])
    let context = KernelContext(home: "/home/dev")
    var tree = ProcessTree()
    var events = 0, denied = 0
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<5 {
        try batch.bytes.withUnsafeBytes { raw in
            try EventDecoder.decodeBatch(raw) { event in
                tree.apply(event)
                events += 1
                let action: KernelAction?
                switch event {
                case .exec(let e): action = .exec(path: e.path, argv: e.argv)
                case .open(let e): action = .open(path: e.path, write: e.isWrite)
                case .connect(let e): action = .connect(address: e.address, port: e.port, host: nil)
                default: action = nil
                }
                if let action, policy.decide(action, identity: identity, posture: [:], context: context).action == .deny {
                    denied += 1
                }
            }
        }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    precondition(denied >= 0)
    return Int(Double(events) / seconds)
}

/// Records laid out as the kernel writes them: 80% opens, 8% forks, 6% execs, 6% exits.
func syntheticBatch(records: Int) -> (bytes: [UInt8], records: Int) {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(records * 120)
    func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    func header(_ kind: EventKind, _ size: Int, _ pid: Int32, flags: EventFlags = []) {
        put(kind.rawValue); put(flags.rawValue); put(UInt32(size)); put(UInt64(1)); put(pid); put(pid); put(UInt64(1))
    }
    var pid: Int32 = 1000
    for i in 0..<records {
        switch i % 50 {
        case 0..<4:
            header(.fork, EventLayout.forkSize, pid); put(pid + 1); put(UInt32(0))
            pid += 1
        case 4..<7:
            let path = "/usr/bin/cc", argv = "cc\0-c\0src/module.c\0-o\0build/module.o\0"
            let size = EventLayout.execFixedSize + path.utf8.count + argv.utf8.count
            header(.exec, size, pid, flags: .exeStat)
            put(pid - 1); put(UInt32(1000)); put(UInt32(1000)); put(UInt32(0))
            put(UInt64(82)); put(UInt64(0x800001)); put(UInt64(4242))
            put(UInt16(path.utf8.count)); put(UInt16(argv.utf8.count)); put(UInt32(5))
            put(Int64(1_301_496)); put(Int64(1_744_000_000)); put(Int64(1_744_000_000)); put(UInt32(0)); put(UInt32(0))
            bytes.append(contentsOf: path.utf8); bytes.append(contentsOf: argv.utf8)
        case 7..<10:
            header(.exit, EventLayout.exitSize, pid); put(UInt32(0)); put(UInt32(0))
        default:
            let path = "/work/project/src/components/module\(i % 97).swift"
            header(.open, EventLayout.openFixedSize + path.utf8.count, pid)
            put(Int64(3)); put(UInt32(0o100000)); put(UInt32(0)); put(UInt16(path.utf8.count)); put(UInt16(0)); put(UInt32(0))
            bytes.append(contentsOf: path.utf8)
        }
    }
    return (bytes, records)
}
