// SPDX-License-Identifier: Apache-2.0
// The registry of benchmarks. Each area adds one line and a `Bench+Area.swift` file.
import Foundation

struct Benchmark: Sendable {
    let name: String
    let run: @Sendable () async throws -> Void
}

let allBenchmarks: [Benchmark] = [
    Benchmark(name: "consumer", run: benchConsumer),
    Benchmark(name: "render", run: benchRender),
    Benchmark(name: "policy", run: benchPolicy),
    Benchmark(name: "audit", run: benchAudit),
    Benchmark(name: "checkpoint", run: benchCheckpoint),
    Benchmark(name: "enforce", run: benchEnforce),
    Benchmark(name: "hook", run: benchHook),
    Benchmark(name: "transport", run: benchTransport),
    Benchmark(name: "fleet", run: benchFleet),
]

/// The command line: benchmark names, then `--name value` options some benchmarks read
/// (`vigil-bench fleet --db postgres://… --replicas 2`).
let (benchNames, benchOptions): (Set<String>, [String: String]) = {
    var names: Set<String> = []
    var options: [String: String] = [:]
    var arguments = CommandLine.arguments.dropFirst()[...]
    while let argument = arguments.popFirst() {
        if argument.hasPrefix("--") {
            options[String(argument.dropFirst(2))] = arguments.popFirst() ?? ""
        } else {
            names.insert(argument)
        }
    }
    return (names, options)
}()

/// `VIGIL_BENCH_SCALE` (default 1) scales the amount of work of the consumer and render
/// benchmarks: `make test` runs them at 0.01 in a debug build, only to check that the synthetic
/// records still decode and render (the figures of such a run mean nothing).
let benchScale = Double(ProcessInfo.processInfo.environment["VIGIL_BENCH_SCALE"] ?? "") ?? 1

func scaled(_ n: Int) -> Int { max(1, Int((Double(n) * benchScale).rounded())) }

/// Prints one measurement line in the format `make bench` collects.
func report(_ name: String, _ fields: KeyValuePairs<String, String>) {
    let rendered = fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    print("bench \(name) \(rendered)")
    // Each line as it is measured, also into a file or a pipe (`make bench | tee`): a long run shows its progress.
    fflush(nil)
}
