// SPDX-License-Identifier: Apache-2.0
import Testing
import VigilPosture

/// The real machine's `/`: every probe must answer with a value, or unknown / not applicable with a
/// reason, and never crash. Values are not asserted: they depend on the host.
@Suite struct LiveMachineTests {
    @Test func realRootAnswersEveryFact() {
        let snapshot = PostureProber(configuration: PostureConfiguration(root: "/")).snapshot(vigilHealth: nil)
        #expect(Set(snapshot.observations.keys) == Set(PostureKey.allCases))
        for key in PostureKey.allCases {
            let fact = snapshot[key]
            if !fact.isKnown {
                #expect(fact.reason?.isEmpty == false, "\(key) must carry a reason")
            }
        }
        #expect(snapshot.isHashValid)
        #expect(snapshot[.kernelVersion].isKnown, "/proc/sys/kernel/osrelease exists on every Linux")
    }
}
