// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// screen_locked: are the graphical sessions locked (systemd-logind LockedHint)?

import Foundation

/// Decides `screen_locked` from systemd-logind, through the command runner.
///
/// `loginctl list-sessions --no-legend` gives session ids; `loginctl show-session ID -p Type -p Class
/// -p Active -p LockedHint` gives each one's state. Graphical sessions are `Type` x11, wayland or mir
/// with `Class=user` (greeters excluded). If any is active, only active ones are judged. `true` when all
/// judged sessions have `LockedHint=yes`; `false` if any has `no`. No graphical session →
/// `notApplicable`. If loginctl cannot be used, X11 (`/tmp/.X11-unix/X*`) and Wayland
/// (`/run/user/*/wayland-*`) sockets decide between `notApplicable` (none) and `unknown`.
/// `LockedHint` is set by desktops that report locking to logind (GNOME, KDE, and others via
/// `loginctl lock-session`); a locker that does not report it reads as unlocked.
public struct ScreenLockProbe: Sendable {
    public var root: PostureRoot
    public var runner: CommandRunner

    public init(root: PostureRoot, runner: CommandRunner) {
        self.root = root
        self.runner = runner
    }

    /// One logind session's relevant properties.
    public struct Session: Sendable, Hashable {
        public var id: String
        public var properties: [String: String]

        public init(id: String, properties: [String: String]) {
            self.id = id
            self.properties = properties
        }

        var isGraphical: Bool {
            ["x11", "wayland", "mir"].contains(properties["Type"] ?? "") && (properties["Class"] ?? "user") == "user"
        }
    }

    public func observe() -> PostureObservation {
        let list = PostureCommand("loginctl", ["list-sessions", "--no-legend"])
        let ids: [String]
        switch runner.run(list) {
        case .exited(0, let stdout, _):
            ids = stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        case .exited(let status, _, let stderr):
            return withoutLogind("\(list) exited \(status): \(stderr.split(separator: "\n").first ?? "")")
        case .unavailable(let reason):
            return withoutLogind(reason)
        }
        var sessions: [Session] = []
        var evidence = [PostureEvidence(source: list.description, detail: "sessions: \(ids.isEmpty ? "none" : ids.joined(separator: ", "))")]
        for id in ids {
            let show = PostureCommand("loginctl", ["show-session", id, "-p", "Type", "-p", "Class", "-p", "Active", "-p", "LockedHint"])
            guard case .exited(0, let stdout, _) = runner.run(show) else {
                return PostureObservation(.unknown(reason: "\(show) failed"), evidence: evidence)
            }
            let session = Session(id: id, properties: Self.parseProperties(stdout))
            evidence.append(
                .init(
                    source: show.description,
                    detail: session.properties.sorted { $0.key < $1.key }
                        .map { "\($0.key)=\($0.value)" }.joined(separator: " ")))
            sessions.append(session)
        }
        return PostureObservation(Self.evaluate(sessions), evidence: evidence)
    }

    /// The fact for a set of logind sessions.
    public static func evaluate(_ sessions: [Session]) -> PostureFact {
        let graphical = sessions.filter(\.isGraphical)
        guard !graphical.isEmpty else {
            return .notApplicable(reason: "no graphical session among \(sessions.count) logind sessions")
        }
        let active = graphical.filter { $0.properties["Active"] == "yes" }
        var locked = true
        for session in active.isEmpty ? graphical : active {
            switch session.properties["LockedHint"] {
            case "yes": continue
            case "no": locked = false
            case let other: return .unknown(reason: "session \(session.id) LockedHint=\(other ?? "missing")")
            }
        }
        return .bool(locked)
    }

    /// `Key=value` lines from `loginctl show-session`.
    public static func parseProperties(_ text: String) -> [String: String] {
        var properties: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            properties[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return properties
    }

    private func withoutLogind(_ reason: String) -> PostureObservation {
        let x11 = ((try? root.list("/tmp/.X11-unix")) ?? []).filter { $0.hasPrefix("X") }.map { "/tmp/.X11-unix/" + $0 }
        let wayland = ((try? root.list("/run/user")) ?? []).flatMap { uid in
            ((try? root.list("/run/user/" + uid)) ?? []).filter { $0.hasPrefix("wayland-") && !$0.hasSuffix(".lock") }
                .map { "/run/user/\(uid)/\($0)" }
        }
        let sockets = x11 + wayland
        let evidence = [
            PostureEvidence(source: "loginctl", detail: reason),
            PostureEvidence(
                source: "/tmp/.X11-unix, /run/user/*/wayland-*", detail: sockets.isEmpty ? "no display sockets" : sockets.joined(separator: ", ")),
        ]
        guard sockets.isEmpty else {
            return PostureObservation(.unknown(reason: "display sockets present but logind unavailable: \(reason)"), evidence: evidence)
        }
        return PostureObservation(
            .notApplicable(reason: "no desktop session: logind unavailable (\(reason)) and no X11/Wayland sockets"), evidence: evidence)
    }
}
