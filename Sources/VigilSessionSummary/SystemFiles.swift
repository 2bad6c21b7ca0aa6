// SPDX-License-Identifier: Apache-2.0
// The files every program opens whatever it does — the loader and its libraries, locale data, the
// terminal database, /proc — folded into one counted line per category, so that what a command
// chose to open stands out. Only reads that were allowed fold: a write to /usr/lib, or any open a
// rule refused, is always shown on its own.

/// A category of the system's own files.
public enum SystemFileCategory: String, Codable, Sendable, Hashable, CaseIterable {
    /// `libraries`: the loader, its cache and shared objects (and interpreters' modules under /usr/lib);
    /// `locale`: locale data and gconv; `nameService`: nsswitch, passwd, group, hosts, resolv.conf (and
    /// connects to the nscd socket).
    /// `searched`: system paths a loader or interpreter looked for and did not find (`pyvenv.cfg`…).
    case libraries, locale, terminfo, processInfo, devices, timeZone, nameService, certificates, shellStartup, toolShell, sharedData, searched

    /// How the category reads in the text form.
    public var label: String {
        switch self {
        case .libraries: "libraries"
        case .locale: "locale"
        case .terminfo: "terminfo"
        case .processInfo: "/proc and /sys"
        case .devices: "devices"
        case .timeZone: "time zone"
        case .nameService: "name service"
        case .certificates: "CA certificates"
        case .shellStartup: "shell startup"
        case .toolShell: "Claude Code's shell snapshot"
        case .sharedData: "/usr/share"
        case .searched: "not found in system paths"
        }
    }

    /// The category of an allowed open of `path`, or nil when the path is the command's own business.
    /// `write`: only Claude Code's own cwd file and the terminal-like devices fold as writes.
    /// `notFound`: the open failed with ENOENT.
    static func of(path: String, write: Bool, notFound: Bool = false) -> SystemFileCategory? {
        if path.contains("/shell-snapshots/snapshot-") || (path.hasPrefix("/tmp/claude-") && path.hasSuffix("-cwd")) {
            return .toolShell
        }
        func under(_ prefixes: String...) -> Bool { prefixes.contains { path.hasPrefix($0) } }
        if ["/dev/null", "/dev/tty", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full"].contains(path) || under("/dev/pts/", "/dev/fd/") {
            return .devices
        }
        guard !write else { return nil }
        // A search by the loader or an interpreter (`/usr/bin/pyvenv.cfg`, a library path): not a choice.
        if notFound && under("/usr/", "/lib/", "/lib64/", "/lib32/") { return .searched }
        if under("/usr/lib/locale/", "/usr/share/locale/", "/usr/share/i18n/", "/usr/lib/locale") || path.contains("/gconv/")
            || path == "/etc/locale.alias" || path == "/etc/default/locale"
        {
            return .locale
        }
        if path.contains("/terminfo/") { return .terminfo }
        if under("/etc/ld.so.", "/lib/", "/lib64/", "/lib32/", "/usr/lib/", "/usr/lib64/", "/usr/lib32/", "/usr/libexec/", "/usr/local/lib/")
            || path.hasSuffix(".so") || path.contains(".so.")
        {
            return .libraries
        }
        if under("/proc/", "/sys/") || path == "/proc" { return .processInfo }
        if path == "/etc/localtime" || path == "/etc/timezone" || under("/usr/share/zoneinfo/") { return .timeZone }
        let nameService = [
            "/etc/nsswitch.conf", "/etc/host.conf", "/etc/resolv.conf", "/etc/hosts", "/etc/gai.conf", "/etc/services",
            "/etc/protocols", "/etc/passwd", "/etc/group", "/etc/networks",
        ]
        if nameService.contains(path) { return .nameService }
        if under("/etc/ssl/", "/etc/pki/", "/usr/share/ca-certificates/") { return .certificates }
        // The shell's own start-up reads, the user's rc files among them (bash reads ~/.bashrc itself).
        let rcFiles = ["/.bashrc", "/.bash_profile", "/.bash_login", "/.profile"]
        if ["/etc/profile", "/etc/bash.bashrc", "/etc/bashrc", "/etc/inputrc", "/etc/environment", "/etc/bash_completion"].contains(path)
            || under("/etc/profile.d/", "/usr/share/bash-completion/", "/etc/bash_completion.d/") || rcFiles.contains(where: path.hasSuffix)
        {
            return .shellStartup
        }
        if under("/usr/share/") { return .sharedData }
        return nil
    }
}
