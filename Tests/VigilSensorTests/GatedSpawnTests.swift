// SPDX-License-Identifier: Apache-2.0
// The gated child holds none of the parent's close-on-exec descriptors while it waits at the gate.
import Foundation
import Glibc
import Testing
@testable import VigilSensor

struct GatedSpawnTests {
    @Test func aWaitingChildDoesNotKeepTheParentsLocks() throws {
        let path = NSTemporaryDirectory() + "vigil-gated-lock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer { unlink(path) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let child = try GatedProcess.spawn(["/bin/true"], cgroupProcsFD: -1)
        defer { child.abandon() }
        // The child waits at the gate until abandon(): its copy of `fd` must go before that. (Under
        // load the child may take a while to run at all, hence the patience.)
        let deadline = Date().addingTimeInterval(20)
        var held = true
        while held && Date() < deadline {
            held = FileManager.default.fileExists(atPath: "/proc/\(child.pid)/fd/\(fd)")
            if held { usleep(10_000) }
        }
        #expect(!held, "the gated child still holds descriptor \(fd) while it waits")
        close(fd)
        // Other forks of this (parallel) test process may hold a copy for an instant, never for long.
        let again = open(path, O_RDWR | O_CLOEXEC)
        defer { close(again) }
        var locked = false
        while !locked && Date() < deadline {
            locked = flock(again, LOCK_EX | LOCK_NB) == 0
            if !locked { usleep(10_000) }
        }
        #expect(locked, "the parent's lock is still held while the gated child waits")
    }
}
