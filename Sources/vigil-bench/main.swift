// SPDX-License-Identifier: Apache-2.0
// `vigil-bench [NAME…] [--OPTION VALUE…]`: runs the named benchmarks (all when none is named) and prints one
// `bench <name>.<metric>=<value> …` line per measurement. Called by `make bench`.
import Foundation

let requested = benchNames
var failed = false
for benchmark in allBenchmarks where requested.isEmpty || requested.contains(benchmark.name) {
    do {
        try await benchmark.run()
    } catch {
        FileHandle.standardError.write(Data("bench \(benchmark.name) failed: \(error)\n".utf8))
        failed = true
    }
}
exit(failed ? 1 : 0)
