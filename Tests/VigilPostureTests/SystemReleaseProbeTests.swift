// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing
import VigilPosture

@Suite struct SystemReleaseProbeTests {
    // 2026-11-20T12:00:00Z
    let now = Date(timeIntervalSince1970: Double(PostureTimestamp.epochSeconds(year: 2026, month: 11, day: 20, hour: 12)!))

    func observe(_ tree: FixtureTree) -> [PostureKey: PostureObservation] {
        SystemReleaseProbe(root: tree.root, now: now).observe()
    }

    @Test func osReleasePrettyNameWithQuotesAndEscapes() throws {
        let tree = try FixtureTree().write(
            "/etc/os-release",
            """
            # comment
            NAME="Fedora Linux"
            VERSION_ID=41
            PRETTY_NAME="Fedora Linux 41 (\\"Workstation\\")"
            ID=fedora
            """)
        let result = observe(tree)[.osRelease]!
        #expect(result.fact == .string("Fedora Linux 41 (\"Workstation\")"))
        #expect(result.evidence.first?.detail == "ID=fedora VERSION_ID=41")
    }

    @Test func osReleaseFallsBackToUsrLibAndNameVersion() throws {
        let tree = try FixtureTree().write("/usr/lib/os-release", "NAME='Alpine Linux'\nVERSION_ID=3.20.1\n")
        #expect(observe(tree)[.osRelease]?.fact == .string("Alpine Linux 3.20.1"))
    }

    @Test func missingEverythingIsUnknownForAllThree() throws {
        let tree = try FixtureTree()
        let result = observe(tree)
        for key in [PostureKey.osRelease, .kernelVersion, .osPatchAgeDays] {
            #expect(result[key]?.fact.isUnknownWithReason == true, "\(key)")
        }
    }

    @Test func kernelVersionFromOsreleaseWithBuildDateEvidence() throws {
        let tree = try FixtureTree()
            .write("/proc/sys/kernel/osrelease", "6.1.0-18-amd64\n")
            .write(
                "/proc/version",
                "Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)\n"
            )
        let result = observe(tree)[.kernelVersion]!
        #expect(result.fact == .string("6.1.0-18-amd64"))
        #expect(result.evidence.contains { $0.detail == "built 2024-02-01T00:00:00.000Z" })
    }

    @Test func kernelVersionFallsBackToProcVersion() throws {
        let tree = try FixtureTree().write(
            "/proc/version", "Linux version 6.8.0-45-generic (buildd@lcy02) #45-Ubuntu SMP PREEMPT_DYNAMIC Fri Aug 30 12:02:04 UTC 2024\n")
        #expect(observe(tree)[.kernelVersion]?.fact == .string("6.8.0-45-generic"))
    }

    @Test(arguments: [
        ("Linux version 6.1.0 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)", "2024-02-01T00:00:00.000Z"),
        ("Linux version 6.8.0 #45-Ubuntu SMP PREEMPT_DYNAMIC Fri Aug 30 12:02:04 UTC 2024", "2024-08-30T12:02:04.000Z"),
        ("Linux version 6.9.0 #1 SMP Sat Jun  1 09:10:11 2024", "2024-06-01T09:10:11.000Z"),
        ("Linux version 6.18.44 #1 SMP PREEMPT_DYNAMIC @1700000000", "2023-11-14T22:13:20.000Z"),
    ])
    func kernelBuildDateForms(version: String, expected: String) throws {
        let date = try #require(SystemReleaseProbe.kernelBuildDate(version))
        #expect(PostureTimestamp.format(date) == expected)
    }

    @Test func reproducibleEpochZeroBuildDateIsRejected() {
        #expect(SystemReleaseProbe.kernelBuildDate("Linux version 6.18.44 #1 SMP PREEMPT_DYNAMIC @0") == nil)
    }

    @Test func patchAgeFromLastDpkgInstall() throws {
        let tree = try FixtureTree().write(
            "/var/log/dpkg.log",
            """
            2026-11-01 08:00:00 startup archives unpack
            2026-11-09 23:59:00 upgrade openssl:amd64 3.0.14-1 3.0.15-1
            2026-11-10 09:00:00 status installed openssl:amd64 3.0.15-1
            2026-11-15 10:00:00 remove foo:amd64 1.0 <none>
            2026-11-15 10:00:01 status not-installed foo:amd64 <none>
            """)
        let result = observe(tree)[.osPatchAgeDays]!
        #expect(result.fact == .int(10))
        #expect(result.evidence.contains { $0.detail.contains("status installed openssl") })
    }

    @Test func patchAgeTakesTheNewestPackageTimestamp() throws {
        let tree = try FixtureTree()
            .write("/var/log/dpkg.log", "2026-10-01 00:00:00 status installed a:amd64 1\n")
            .write("/var/lib/dpkg/status", "Package: a\n")
        try tree.setModified("/var/lib/dpkg/status", now.addingTimeInterval(-3 * 86_400 - 60))
        #expect(observe(tree)[.osPatchAgeDays]?.fact == .int(3))
    }

    @Test func patchAgeFromRpmDatabaseMtime() throws {
        let tree = try FixtureTree().write("/var/lib/rpm/rpmdb.sqlite", "x")
        try tree.setModified("/var/lib/rpm/rpmdb.sqlite", now.addingTimeInterval(-45 * 86_400))
        let result = observe(tree)[.osPatchAgeDays]!
        #expect(result.fact == .int(45))
        #expect(result.evidence.contains { $0.source == "/var/lib/rpm/rpmdb.sqlite" })
    }

    @Test func patchAgeFallsBackToKernelBuildDateWithoutPackageDatabase() throws {
        let tree = try FixtureTree().write("/proc/version", "Linux version 6.1.0 #1 SMP Debian 6.1.76-1 (2026-11-01)\n")
        #expect(observe(tree)[.osPatchAgeDays]?.fact == .int(19))
    }

    @Test func patchAgeWithOnlyEpochZeroKernelIsUnknown() throws {
        let tree = try FixtureTree().write("/proc/version", "Linux version 6.18.44 #1 SMP PREEMPT_DYNAMIC @0\n")
        #expect(observe(tree)[.osPatchAgeDays]?.fact.isUnknownWithReason == true)
    }

    @Test func futurePackageTimestampIsUnknown() throws {
        let tree = try FixtureTree().write("/var/lib/dpkg/status", "x")
        try tree.setModified("/var/lib/dpkg/status", now.addingTimeInterval(10 * 86_400))
        #expect(observe(tree)[.osPatchAgeDays]?.fact.reason?.contains("future") == true)
    }
}
