// SPDX-License-Identifier: Apache-2.0
// vigild's stderr lines read as they did before swift-log: `vigild: running (pid …)` and so on.
import Logging
import Testing
import VigilHost

struct StandardErrorLogHandlerTests {
    @Test func infoLinesCarryNoLevelWordAndMetadataIsSorted() {
        #expect(
            StandardErrorLogHandler.line(label: "vigild", level: .info, message: "running (pid 7)", metadata: [:])
                == "vigild: running (pid 7)\n")
        #expect(
            StandardErrorLogHandler.line(
                label: "vigild", level: .error, message: "audit append failed",
                metadata: ["session.id": "00000000000000ab", "process.pid": "812"])
                == "vigild: error: audit append failed process.pid=812 session.id=00000000000000ab\n")
        #expect(StandardErrorLogHandler.line(label: "vigil hook", level: .debug, message: "x", metadata: [:]) == "vigil hook: debug: x\n")
    }

    @Test func levelsAreNamedInAnyCase() {
        #expect(Logger.Level(name: "DEBUG") == .debug)
        #expect(Logger.Level(name: "warning") == .warning)
        #expect(Logger.Level(name: "loud") == nil)
    }
}
