// SPDX-License-Identifier: Apache-2.0
// Port ranges as the policy computes them and the kernel's maps hold them: sorted, with overlapping
// and adjacent ranges joined, so that one port is in at most one range.

public enum PortRanges {
    /// `ranges` sorted and joined where they overlap or touch.
    public static func merged(_ ranges: [ClosedRange<UInt16>]) -> [ClosedRange<UInt16>] {
        var result: [ClosedRange<UInt16>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = result.last, Int(range.lowerBound) <= Int(last.upperBound) + 1 {
                result[result.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }
}
