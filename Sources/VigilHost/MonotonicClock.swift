// SPDX-License-Identifier: Apache-2.0
// The one monotonic clock: CLOCK_MONOTONIC, the clock of the kernel's event timestamps (ktime),
// so hook latencies, posture epochs and ring records compare directly.
import Glibc

/// CLOCK_MONOTONIC in nanoseconds.
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
