// SPDX-License-Identifier: Apache-2.0
import Testing
import VigilPosture

@Suite struct ScreenLockProbeTests {
    static let list = "loginctl list-sessions --no-legend"
    static func show(_ id: String) -> String { "loginctl show-session \(id) -p Type -p Class -p Active -p LockedHint" }
    static func ok(_ text: String) -> CommandOutcome { .exited(status: 0, stdout: text, stderr: "") }

    func observe(_ tree: FixtureTree, _ table: [String: CommandOutcome]) -> PostureObservation {
        ScreenLockProbe(root: tree.root, runner: cannedRunner(table)).observe()
    }

    @Test func activeWaylandSessionLocked() throws {
        let result = observe(
            try FixtureTree(),
            [
                Self.list: Self.ok("     2 1000 alice seat0 tty2\n     c1  120 gdm   seat0 tty1\n"),
                Self.show("2"): Self.ok("Type=wayland\nClass=user\nActive=yes\nLockedHint=yes\n"),
                Self.show("c1"): Self.ok("Type=wayland\nClass=greeter\nActive=no\nLockedHint=no\n"),
            ])
        #expect(result.fact == .bool(true))
        #expect(result.evidence.contains { $0.detail == "Active=yes Class=user LockedHint=yes Type=wayland" })
    }

    @Test func activeX11SessionUnlocked() throws {
        let result = observe(
            try FixtureTree(),
            [
                Self.list: Self.ok("3 1000 bob seat0\n4 1000 bob\n"),
                Self.show("3"): Self.ok("Type=x11\nClass=user\nActive=yes\nLockedHint=no\n"),
                Self.show("4"): Self.ok("Type=x11\nClass=user\nActive=no\nLockedHint=yes\n"),
            ])
        #expect(result.fact == .bool(false))
    }

    @Test func onlyTTYAndSSHSessionsAreNotApplicable() throws {
        let fact = observe(
            try FixtureTree(),
            [
                Self.list: Self.ok("5 1000 carol pts/0\n"),
                Self.show("5"): Self.ok("Type=tty\nClass=user\nActive=yes\nLockedHint=no\n"),
            ]
        ).fact
        guard case .notApplicable = fact else {
            Issue.record("expected notApplicable, got \(fact)")
            return
        }
    }

    @Test func missingLockedHintIsUnknown() throws {
        let fact = observe(
            try FixtureTree(),
            [
                Self.list: Self.ok("6 1000 dave seat0\n"),
                Self.show("6"): Self.ok("Type=x11\nClass=user\nActive=yes\n"),
            ]
        ).fact
        #expect(fact.reason?.contains("LockedHint=missing") == true)
        #expect(!fact.isKnown)
    }

    @Test func noLogindAndNoDisplaySocketsIsNotApplicable() throws {
        let fact = observe(try FixtureTree(), [:]).fact
        guard case .notApplicable(let reason) = fact else {
            Issue.record("expected notApplicable, got \(fact)")
            return
        }
        #expect(reason.contains("no X11/Wayland sockets"))
    }

    @Test func noLogindButDisplaySocketIsUnknown() throws {
        let x11 = try FixtureTree().write("/tmp/.X11-unix/X0", "")
        #expect(observe(x11, [Self.list: .exited(status: 1, stdout: "", stderr: "Failed to connect to bus")]).fact.isUnknownWithReason)
        let wayland = try FixtureTree().write("/run/user/1000/wayland-0", "").write("/run/user/1000/wayland-0.lock", "")
        let result = observe(wayland, [:])
        #expect(result.fact.isUnknownWithReason)
        #expect(result.evidence.contains { $0.detail == "/run/user/1000/wayland-0" })
    }
}
