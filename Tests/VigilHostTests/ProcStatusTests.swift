// SPDX-License-Identifier: Apache-2.0
import Foundation
import Glibc
import Testing
import VigilHost

@Suite struct ProcStatusTests {
    @Test func readsTheNumbersOfALiveProcessAndNothingOfAGoneOne() {
        #expect(ProcStatus.number("Tgid", of: getpid()) == Int64(getpid()))
        #expect(ProcStatus.number("Uid", of: getpid()) == Int64(getuid()))
        #expect(ProcStatus.number("PPid", of: getpid()) == Int64(getppid()))
        #expect(ProcStatus.number("NoSuchField", of: getpid()) == nil)
        #expect(ProcStatus.number("Name", of: getpid()) == nil)  // not a number
        #expect(ProcStatus.number("Tgid", of: Int32.max) == nil)
    }
}
