// SPDX-License-Identifier: Apache-2.0
// `vigil status` as text: the mode, then what needs attention (drops, failures, agents outside
// Vigil), then the sessions.

public enum DaemonStatusText {
    public static func render(_ s: DaemonStatus) -> String {
        var lines: [String] = []
        func line(_ label: String, _ value: String) { lines.append(pad(label, to: 22) + value) }
        line("vigild", "running (pid \(s.pid)), device \(s.device)")
        line("enforcement mode", s.enforcementMode)
        line("policy", "\(s.policy.version) (\(s.policy.path)), \(s.policy.reloads) reloads, \(s.policy.rejected) rejected")
        if let error = s.policy.lastError { line("  LAST REJECTED", error + " — the previous policy stays in force") }
        if let sources = s.policy.sources { line("  sources", sources.joined(separator: ", then ")) }
        if let console = s.policy.console {
            let applied = console.appliedVersion.map { "v\($0)" } ?? "none yet"
            let announced = console.announcedVersion.map { ", announced v\($0)" } ?? ""
            line(
                "console",
                "\(console.url) as \(console.deviceID)\(console.team.map { " (team \($0))" } ?? ""): \(console.connected ? "connected" : "NOT CONNECTED"), policy \(applied)\(announced), \(console.reconnects) reconnects, \(console.rejectedBundles) bundles rejected"
            )
            if let holder = console.keyHolder {
                line("  device key", holder == "tpm" ? "requests signed by the TPM's key (not attested)" : "requests signed by a file key (no TPM)")
            }
            if let error = console.lastError { line("  CONSOLE PROBLEM", error + " — the policy in force stays") }
            for dropped in console.droppedLocalRules { line("  local rule ignored", dropped) }
        }
        for account in s.bindings ?? [] {
            let who =
                account.binding.map { b in
                    "\(b.email) (teams \(b.teams.joined(separator: ",")); roles \(b.roles.joined(separator: ",")); \(b.method), until \(b.expiresAt))"
                } ?? "UNVERIFIED (bound to no one: vigil login)"
            line("  \(account.user) (uid \(account.uid))", who + (account.problem.map { " — console not asked: \($0)" } ?? ""))
        }
        line("posture", s.posture ?? "unknown")
        if s.ptraceRestricted == false {
            line("  PTRACE UNRESTRICTED", "no Yama ptrace_scope (or 0): only Vigil's in-kernel kill stops a session reaching into other processes")
        }
        line("hooks", "\(s.hooks.url) (\(s.hooks.failClosed ? "fail closed" : "FAIL OPEN")), drop-in \(s.hooks.dropIn ?? "NOT INSTALLED")")
        line(
            "  calls",
            "\(s.hooks.calls), denied \(s.hooks.denied), refused callers \(s.hooks.rejectedCallers), failures \(s.hooks.failures)"
                + (s.hooks.p99Microseconds.map { ", p50 \(s.hooks.p50Microseconds ?? 0) µs, p99 \($0) µs" } ?? ""))
        line(
            "sensor",
            "\(s.sensor.emitted) events; dropped: kernel \(s.sensor.kernelDropped), queue \(s.sensor.consumerDropped); gaps \(s.sensor.gaps); decode errors \(s.sensor.decodeErrors)"
        )
        line(
            "  enforced",
            "connects refused \(s.sensor.networkDenied), execs killed \(s.sensor.execKilled), opens killed \(s.sensor.openKilled), process reaches killed \(s.sensor.processAccessKilled ?? 0)"
        )
        line("  boundary", "crossings to local peers outside the session \(s.sensor.peerCrossings ?? 0), refused \(s.sensor.peerDenied ?? 0)")
        for degraded in s.sensor.degraded { line("  DEGRADED", degraded) }
        line("audit", "\(s.audit.directory): \(s.audit.entries) entries, \(s.audit.failures) failed appends")
        if let key = s.deviceKey {
            let held = key.holder == "tpm" ? "held in the TPM" : "in a file (no TPM)"
            line("  device key", "\(key.kind) \(key.keyID), \(held), \(key.attested ? "attested" : "not attested"); signs the checkpoints")
        }
        line("attribution", "\(s.attribution["attributed"] ?? 0) events tied to tool calls, \(s.attribution["unattributed"] ?? 0) not")
        let attributionDrops = ["pendingDropped", "processesEvicted", "sessionsEvicted"].map { s.attribution[$0] ?? 0 }
        if attributionDrops.contains(where: { $0 > 0 }) {
            line(
                "  ATTRIBUTION DROPPED",
                "\(attributionDrops[0]) pending events, \(attributionDrops[1]) processes, \(attributionDrops[2]) sessions evicted by its bounds")
        }
        if s.timelineFailures > 0 { line("  TIMELINE FAILURES", String(s.timelineFailures)) }
        line("errors", "\(s.errors)")
        for error in s.recentErrors.suffix(10) { lines.append("  " + error) }
        lines.append("")
        lines.append("sessions (\(s.scope)): \(s.sessions.count) live")
        for r in s.sessions {
            lines.append(
                "  \(r.id)  \(r.origin.rawValue)  \(r.user)  pid \(r.rootPID)  \(r.toolCalls) tool calls (\(r.deniedToolCalls) denied)  "
                    + "\(r.kernelEvents) kernel events (\(r.attributedEvents) tied to calls)  \(r.decisions.filter { $0.key != "allow" })")
            for problem in r.problems { lines.append("      ! " + problem) }
        }
        if !s.recentlyEnded.isEmpty {
            lines.append("recently ended: " + s.recentlyEnded.suffix(5).map { "\($0.id) (\($0.toolCalls) calls)" }.joined(separator: ", "))
        }
        lines.append("agents outside Vigil: \(s.unmanagedAgents.count)")
        for a in s.unmanagedAgents {
            lines.append("  pid \(a.pid)  uid \(a.uid)  \(a.agent)  \(a.exe)  — \(a.note)")
        }
        return lines.joined(separator: "\n")
    }

    /// `label` cut or padded with spaces to `width` characters (what Foundation's
    /// `padding(toLength:withPad:startingAt:)` does for the ASCII labels above).
    static func pad(_ label: String, to width: Int) -> String {
        label.count >= width ? String(label.prefix(width)) : label + String(repeating: " ", count: width - label.count)
    }
}
