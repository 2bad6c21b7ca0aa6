// SPDX-License-Identifier: Apache-2.0
import Testing
import VigilPosture

@Suite struct EndpointProtectionProbeTests {
    func process(_ tree: FixtureTree, _ pid: Int, comm: String, exe: String? = nil) throws {
        try tree.write("/proc/\(pid)/comm", comm + "\n")
        if let exe { try tree.symlink("/proc/\(pid)/exe", to: exe) }
    }

    @Test func runningAgentFoundByComm() throws {
        let tree = try FixtureTree()
        try process(tree, 1, comm: "systemd", exe: "/usr/lib/systemd/systemd")
        try process(tree, 812, comm: "falcon-sensor", exe: "/opt/CrowdStrike/falcon-sensor")
        try tree.write("/proc/self/comm", "falcon-sensor\n")  // not a pid directory: ignored
        let result = EndpointProtectionProbe(root: tree.root).observe()
        #expect(result.fact == .bool(true))
        #expect(result.evidence.count == 1)
        #expect(result.evidence[0].detail.contains("pid 812 falcon-sensor"))
    }

    @Test func agentFoundByExeWhenCommDiffers() throws {
        let tree = try FixtureTree()
        try process(tree, 40, comm: "wdav-worker", exe: "/opt/microsoft/mdatp/sbin/wdavdaemon (deleted)")
        #expect(EndpointProtectionProbe(root: tree.root).observe().fact == .bool(true))
    }

    @Test func noAgentIsFalseWithCount() throws {
        let tree = try FixtureTree()
        try process(tree, 1, comm: "init")
        try process(tree, 2, comm: "bash", exe: "/usr/bin/bash")
        let result = EndpointProtectionProbe(root: tree.root).observe()
        #expect(result.fact == .bool(false))
        #expect(result.evidence.first?.detail.hasPrefix("2 processes") == true)
    }

    @Test func configuredNamesReplaceDefaults() throws {
        let tree = try FixtureTree()
        try process(tree, 9, comm: "falcon-sensor")
        #expect(EndpointProtectionProbe(root: tree.root, names: ["my-edr"]).observe().fact == .bool(false))
    }

    @Test func missingProcIsUnknown() throws {
        let tree = try FixtureTree()
        #expect(EndpointProtectionProbe(root: tree.root).observe().fact.reason?.contains("cannot list processes") == true)
    }

    @Test func emptyProcIsUnknownNotFalse() throws {
        let tree = try FixtureTree().mkdir("/proc/net")
        #expect(EndpointProtectionProbe(root: tree.root).observe().fact.isUnknownWithReason)
    }

    @Test func pureEvaluationMatchesTruncatedComm() {
        let long = "verylong-edr-agentd"  // 19 bytes; the kernel keeps 15 in comm
        let processes = [RunningProcess(pid: 5, comm: "verylong-edr-ag")]
        #expect(EndpointProtectionProbe.evaluate(runningProcesses: processes, names: [long]).fact == .bool(true))
        #expect(EndpointProtectionProbe.evaluate(runningProcesses: processes, names: ["verylong-edr-a"]).fact == .bool(false))
        #expect(EndpointProtectionProbe.evaluate(runningProcesses: processes, names: []).fact.isUnknownWithReason)
        #expect(EndpointProtectionProbe.evaluate(runningProcesses: [], names: [long]).fact.isUnknownWithReason)
    }

    @Test func liveReEvaluationUpdatesSnapshotAndShowsAsChange() throws {
        let tree = try FixtureTree()
        try process(tree, 1, comm: "init")
        let prober = PostureProber(configuration: PostureConfiguration(root: tree.path, commandRunner: cannedRunner([:])))
        let before = prober.snapshot(vigilHealth: nil)
        #expect(before[.edrRunning] == .bool(false))
        let after = prober.updatingEndpointProtection(
            before, runningProcesses: [RunningProcess(pid: 1, comm: "init"), RunningProcess(pid: 77, comm: "osqueryd")])
        #expect(after.changes(from: before) == [PostureChange(key: .edrRunning, before: .bool(false), after: .bool(true))])
        #expect(after.isHashValid)
    }
}
