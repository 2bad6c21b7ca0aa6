// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// os_release, kernel_version and os_patch_age_days.

import Foundation

/// Decides `os_release`, `kernel_version` and `os_patch_age_days`.
///
/// - `os_release`: `PRETTY_NAME` (else `NAME VERSION_ID`) from `/etc/os-release`, else `/usr/lib/os-release`.
/// - `kernel_version`: `/proc/sys/kernel/osrelease`, else the third word of `/proc/version`.
/// - `os_patch_age_days`: whole days from the newest package-manager timestamp to now. Timestamps
///   considered (newest wins): the last `status installed` / `install` / `upgrade` line of
///   `/var/log/dpkg.log` (local time, read as UTC: up to a day off), and the modification times of
///   the dpkg status file, the RPM database, the pacman local database and the apk database. With no
///   package database at all, the running kernel's build date from `/proc/version` is used instead
///   (a reproducible-build date before 2000 is rejected). A newest timestamp more than a day in the
///   future → `unknown` (clock skew).
public struct SystemReleaseProbe: Sendable {
    public static let packageDatabases = [
        "/var/lib/dpkg/status", "/var/lib/rpm/rpmdb.sqlite", "/var/lib/rpm/Packages",
        "/usr/lib/sysimage/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/Packages", "/var/lib/pacman/local",
        "/lib/apk/db/installed",
    ]

    public var root: PostureRoot
    public var now: Date

    public init(root: PostureRoot, now: Date) {
        self.root = root
        self.now = now
    }

    public func observe() -> [PostureKey: PostureObservation] {
        [.osRelease: osRelease(), .kernelVersion: kernelVersion(), .osPatchAgeDays: patchAge()]
    }

    private func osRelease() -> PostureObservation {
        var errors: [String] = []
        for path in ["/etc/os-release", "/usr/lib/os-release"] {
            do throws(PostureReadError) {
                let fields = Self.parseOSRelease(try root.readText(path))
                let name = fields["PRETTY_NAME"] ?? [fields["NAME"], fields["VERSION_ID"]].compactMap { $0 }.joined(separator: " ")
                guard !name.isEmpty else {
                    errors.append("\(path): no PRETTY_NAME or NAME")
                    continue
                }
                let detail = ["ID", "VERSION_ID", "VERSION_CODENAME"].compactMap { key in fields[key].map { "\(key)=\($0)" } }
                return PostureObservation(.string(name), evidence: [.init(source: path, detail: detail.joined(separator: " "))])
            } catch {
                errors.append("\(error)")
            }
        }
        return PostureObservation(.unknown(reason: errors.joined(separator: "; ")))
    }

    private func kernelVersion() -> PostureObservation {
        let version = try? root.readText("/proc/version")
        let stamp = version?.split(separator: "#", maxSplits: 1).last.map { "#" + $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        let built =
            version.flatMap(Self.kernelBuildDate).map { "built \(PostureTimestamp.format($0))" }
            ?? "no plausible build date in \"\(stamp)\""
        let failure: String
        do throws(PostureReadError) {
            let release = try root.readLine("/proc/sys/kernel/osrelease")
            if !release.isEmpty {
                return PostureObservation(
                    .string(release),
                    evidence: [
                        .init(source: "/proc/sys/kernel/osrelease", detail: release),
                        .init(source: "/proc/version", detail: version == nil ? "unreadable" : built),
                    ])
            }
            failure = "/proc/sys/kernel/osrelease: empty"
        } catch {
            failure = "\(error)"
        }
        let words = version?.split(separator: " ") ?? []
        guard words.count >= 3, words[0] == "Linux", words[1] == "version" else {
            return PostureObservation(.unknown(reason: "\(failure); /proc/version unreadable or not \"Linux version …\""))
        }
        return PostureObservation(
            .string(String(words[2])),
            evidence: [
                .init(source: "/proc/sys/kernel/osrelease", detail: failure),
                .init(source: "/proc/version", detail: "\(words[2]), \(built)"),
            ])
    }

    private func patchAge() -> PostureObservation {
        var stamps: [(date: Date, source: String, detail: String)] = []
        if let log = try? root.readText("/var/log/dpkg.log"), let last = Self.lastDpkgInstall(log) {
            stamps.append((last.date, "/var/log/dpkg.log", "last install/upgrade \(last.line)"))
        }
        for path in Self.packageDatabases {
            if let date = try? root.modificationDate(path) {
                stamps.append((date, path, "modified \(PostureTimestamp.format(date))"))
            }
        }
        if stamps.isEmpty, let version = try? root.readText("/proc/version"), let built = Self.kernelBuildDate(version) {
            stamps.append((built, "/proc/version", "no package database; kernel built \(PostureTimestamp.format(built))"))
        }
        guard let newest = stamps.max(by: { $0.date < $1.date }) else {
            return PostureObservation(
                .unknown(
                    reason: "no package database (dpkg, rpm, pacman, apk) and no parseable kernel build date in /proc/version"))
        }
        let evidence =
            stamps.map { PostureEvidence(source: $0.source, detail: $0.detail) }
            + [.init(source: newest.source, detail: "newest → age computed from \(PostureTimestamp.format(newest.date))")]
        let seconds = now.timeIntervalSince(newest.date)
        guard seconds > -86_400 else {
            return PostureObservation(.unknown(reason: "newest package timestamp is in the future (clock skew?)"), evidence: evidence)
        }
        return PostureObservation(.int(max(0, Int(seconds / 86_400))), evidence: evidence)
    }
}

extension SystemReleaseProbe {
    /// `KEY=value` pairs from os-release text; quotes removed and `\` escapes resolved.
    public static func parseOSRelease(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            var value = Substring(line[line.index(after: equals)...])
            if let quote = value.first, quote == "\"" || quote == "'", value.count >= 2, value.last == quote {
                value = value.dropFirst().dropLast()
            }
            var unescaped = ""
            var escaping = false
            for character in value {
                if escaping || character != "\\" { unescaped.append(character) }
                escaping = !escaping && character == "\\"
            }
            fields[String(line[..<equals])] = unescaped
        }
        return fields
    }

    /// The last dpkg.log line recording an install or upgrade, and its time (read as UTC).
    public static func lastDpkgInstall(_ log: String) -> (date: Date, line: String)? {
        for raw in log.split(separator: "\n").reversed() {
            let words = raw.split(separator: " ", maxSplits: 3)
            guard words.count >= 3,
                words[2] == "upgrade" || words[2] == "install"
                    || (words[2] == "status" && words.count == 4 && words[3].hasPrefix("installed "))
            else { continue }
            let day = words[0].split(separator: "-").compactMap { Int($0) }
            let time = words[1].split(separator: ":").compactMap { Int($0) }
            guard day.count == 3, time.count == 3,
                let seconds = PostureTimestamp.epochSeconds(
                    year: day[0], month: day[1], day: day[2], hour: time[0], minute: time[1], second: time[2])
            else { continue }
            return (Date(timeIntervalSince1970: Double(seconds)), String(raw))
        }
        return nil
    }

    /// The build time in `/proc/version`: a Debian-style `(YYYY-MM-DD)`, a trailing
    /// `Www Mmm D HH:MM:SS [TZ] YYYY` (zone ignored, read as UTC), or `@epoch`. Dates before 2000 → `nil`.
    public static func kernelBuildDate(_ version: String) -> Date? {
        let words = version.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        var seconds: Int?
        if let last = words.last, last.hasPrefix("("), last.hasSuffix(")") {
            let parts = last.dropFirst().dropLast().split(separator: "-").compactMap { Int($0) }
            if parts.count == 3 { seconds = PostureTimestamp.epochSeconds(year: parts[0], month: parts[1], day: parts[2]) }
        }
        if seconds == nil, let last = words.last, last.hasPrefix("@") { seconds = Int(last.dropFirst()) }
        if seconds == nil, words.count >= 5, let year = Int(words[words.count - 1]) {
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            for offset in [3, 4] where words.count > offset {
                let base = words.count - 1 - offset
                guard let month = months.firstIndex(of: words[base]), let day = Int(words[base + 1]) else { continue }
                let time = words[base + 2].split(separator: ":").compactMap { Int($0) }
                guard time.count == 3 else { continue }
                seconds = PostureTimestamp.epochSeconds(
                    year: year, month: month + 1, day: day, hour: time[0], minute: time[1], second: time[2])
                break
            }
        }
        guard let seconds, seconds >= 946_684_800 else { return nil }
        return Date(timeIntervalSince1970: Double(seconds))
    }
}
