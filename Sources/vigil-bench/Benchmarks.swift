// The registry of benchmarks. Each area adds one line and a `Bench+Area.swift` file.
struct Benchmark: Sendable {
    let name: String
    let run: @Sendable () async throws -> Void
}

let allBenchmarks: [Benchmark] = [
    Benchmark(name: "consumer", run: benchConsumer),
    Benchmark(name: "render", run: benchRender),
    Benchmark(name: "policy", run: benchPolicy),
    Benchmark(name: "audit", run: benchAudit),
    Benchmark(name: "enforce", run: benchEnforce),
    Benchmark(name: "hook", run: benchHook),
]

/// Prints one measurement line in the format `make bench` collects.
func report(_ name: String, _ fields: KeyValuePairs<String, String>) {
    let rendered = fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    print("bench \(name) \(rendered)")
}
