// The gated child holds none of the parent's close-on-exec descriptors while it waits at the gate.
import Foundation
import Glibc
import Testing
@testable import VigilSensor

struct GatedSpawnTests {
    @Test func aWaitingChildDoesNotKeepTheParentsLocks() throws {
        let path = NSTemporaryDirectory() + "vigil-gated-lock-\(getpid())"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer { unlink(path) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let child = try GatedProcess.spawn(["/bin/true"], cgroupProcsFD: -1)
        defer { child.abandon() }
        usleep(100_000)  // the child is forked and waiting at the gate
        close(fd)
        // Had the child kept its copy of the descriptor, the lock would still be held.
        let again = open(path, O_RDWR | O_CLOEXEC)
        defer { close(again) }
        #expect(flock(again, LOCK_EX | LOCK_NB) == 0, "the gated child still holds the parent's lock")
    }
}
