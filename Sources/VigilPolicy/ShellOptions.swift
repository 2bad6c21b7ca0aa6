// SPDX-License-Identifier: Apache-2.0
// Option skipping for the wrappers a command can hide behind (`timeout 5`, `env -u X`, `sudo -u root`, …).

/// How one wrapper's options look: which take an argument, and how many operands precede the command.
struct WrapperSyntax: Sendable {
    /// Short options (single letters) that take an argument.
    var shortWithArgument: Set<UInt8> = []
    /// Long options (without `--`) that take an argument when not written `--opt=value`.
    var longWithArgument: Set<String> = []
    /// Operands before the wrapped command (`timeout DURATION`, `taskset MASK`, `flock FILE`).
    var operands = 0

    init(short: String = "", long: [String] = [], operands: Int = 0) {
        shortWithArgument = Set(short.utf8)
        longWithArgument = Set(long)
        self.operands = operands
    }

    /// The index of the wrapped command's first word, or nil if there is none.
    func commandStart(in words: [ShellWord], after start: Int) -> Int? {
        var index = start
        while index < words.count {
            let text = words[index].text
            if text == "--" {
                index += 1
                break
            }
            guard text.hasPrefix("-"), text.count > 1 else { break }
            if text.hasPrefix("--") {
                let name = text.dropFirst(2)
                index += (!name.contains("=") && longWithArgument.contains(String(name))) ? 2 : 1
                continue
            }
            // A short-option cluster: the first letter that takes an argument consumes the rest or the next word.
            let letters = Array(text.utf8.dropFirst())
            var consumesNext = false
            for (offset, letter) in letters.enumerated() where shortWithArgument.contains(letter) {
                consumesNext = offset == letters.count - 1
                break
            }
            index += consumesNext ? 2 : 1
        }
        index += operands
        return index < words.count ? index : nil
    }
}

/// The wrappers that run their operand as a command, with their option syntax.
enum Wrappers {
    static let table: [String: WrapperSyntax] = [
        "timeout": WrapperSyntax(short: "sk", long: ["signal", "kill-after"], operands: 1),
        "nohup": WrapperSyntax(),
        "nice": WrapperSyntax(short: "n", long: ["adjustment"]),
        "time": WrapperSyntax(short: "fo", long: ["format", "output"]),
        "command": WrapperSyntax(),
        "builtin": WrapperSyntax(),
        "exec": WrapperSyntax(short: "a"),
        "env": WrapperSyntax(short: "uCS", long: ["unset", "chdir", "split-string"]),
        "sudo": WrapperSyntax(
            short: "ugCDhprtUT",
            long: [
                "user", "group", "close-from", "chdir", "host", "prompt",
                "role", "type", "other-user", "command-timeout",
            ]),
        "doas": WrapperSyntax(short: "uC"),
        "setsid": WrapperSyntax(),
        "stdbuf": WrapperSyntax(short: "ioe", long: ["input", "output", "error"]),
        "ionice": WrapperSyntax(short: "cnp", long: ["class", "classdata", "pid"]),
        "chrt": WrapperSyntax(operands: 1),
        "taskset": WrapperSyntax(operands: 1),
        "flock": WrapperSyntax(short: "wEc", long: ["timeout", "conflict-exit-code", "command"], operands: 1),
        "unbuffer": WrapperSyntax(),
        "xargs": WrapperSyntax(
            short: "adEeIiLlnPs",
            long: [
                "arg-file", "delimiter", "eof", "replace", "max-lines",
                "max-args", "max-procs", "max-chars", "process-slot-var",
            ]),
        "strace": WrapperSyntax(short: "abeEoOpPsSuX", long: ["output", "attach", "user"]),
        "ltrace": WrapperSyntax(short: "aeEnopsuxA", long: ["output"]),
        "nsenter": WrapperSyntax(short: "tSGw", long: ["target", "setuid", "setgid", "wd"]),
        "unshare": WrapperSyntax(),
        "npx": WrapperSyntax(short: "pc", long: ["package", "call"]),
        "bunx": WrapperSyntax(short: "p", long: ["package"]),
        "pnpx": WrapperSyntax(),
        "busybox": WrapperSyntax(),
        "caffeinate": WrapperSyntax(short: "tw"),
        "firejail": WrapperSyntax(),
    ]

    /// Runners spelled as two words: `npm exec X`, `uv run X`.
    static let twoWord: [String: Set<String>] = [
        "npm": ["exec", "x"], "pnpm": ["exec", "dlx"], "yarn": ["exec", "dlx"], "uv": ["run"],
        "poetry": ["run"], "pipx": ["run"], "bundle": ["exec"], "cargo": [],
    ]

    /// Claude Code's own allow matching strips only these (reference §2.3); Vigil's allow does the same.
    static let allowStripped: Set<String> = ["timeout", "nohup", "nice", "time", "command"]

    /// Variables whose prefix (`NODE_ENV=test cmd`) Claude Code still allow-matches through.
    static let safeVariables: Set<String> = [
        "NODE_ENV", "RAILS_ENV", "RACK_ENV", "RUST_BACKTRACE", "RUST_LOG", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE",
        "CI", "TZ", "LANG", "LC_ALL", "NO_COLOR", "FORCE_COLOR", "TERM", "DEBUG", "GOOS", "GOARCH", "CGO_ENABLED",
    ]

    static let shells: Set<String> = ["bash", "sh", "zsh", "dash", "ksh", "mksh", "ash", "fish", "yash", "rbash"]
    /// Interpreters whose code comes from `-c` / `-e`: opaque to shell parsing, so scanned for command names.
    static let interpreters: [String: Set<String>] = [
        "python": ["-c"], "python2": ["-c"], "python3": ["-c"], "pypy": ["-c"], "pypy3": ["-c"],
        "perl": ["-e", "-E"], "ruby": ["-e"], "node": ["-e", "--eval", "-p", "--print"], "nodejs": ["-e", "--eval"],
        "deno": ["eval"], "bun": ["-e", "--eval"], "php": ["-r"], "lua": ["-e"], "osascript": ["-e"],
        "awk": [], "gawk": [], "mawk": [], "nawk": [], "tclsh": [], "Rscript": ["-e"], "julia": ["-e"],
    ]
    /// What a command word is to the analysis: one lookup per view on the hot path.
    enum Kind: Sendable {
        case wrapper(WrapperSyntax)
        case twoWord(Set<String>)
        case shell
        case eval
        case remote
        case interpreter(Set<String>)
        case find
        case command
    }

    /// `kinds` as a byte table over `kindList`, for the hot path.
    static let kindList: [Kind] = kinds.keys.sorted().map { kinds[$0]! }
    static let kindTable = ByteTable(Dictionary(uniqueKeysWithValues: kinds.keys.sorted().enumerated().map { ($1, [$0]) }))

    /// What the analysis makes of a command word (nil: an ordinary command).
    @inline(__always)
    static func kind(of name: String) -> Kind? {
        let found = kindTable.firstValue(name)
        if found >= 0 { return kindList[found] }
        return found == -1 ? nil : kinds[name]
    }

    /// Membership in the small name sets the hot path asks about, one byte lookup per word.
    struct Traits: OptionSet {
        let rawValue: Int
        static let writes = Traits(rawValue: 1)
        static let neutral = Traits(rawValue: 2)
        static let allowStripped = Traits(rawValue: 4)
        static let safeVariable = Traits(rawValue: 8)
    }

    static let traitTable: ByteTable = {
        var traits: [String: Int] = [:]
        for name in BashCall.writeCommands { traits[name, default: 0] |= Traits.writes.rawValue }
        for name in BashCall.neutralCommands { traits[name, default: 0] |= Traits.neutral.rawValue }
        for name in allowStripped { traits[name, default: 0] |= Traits.allowStripped.rawValue }
        for name in safeVariables { traits[name, default: 0] |= Traits.safeVariable.rawValue }
        return ByteTable(traits.mapValues { [$0] })
    }()

    /// Whether `name` is in the set `trait` stands for (`set` itself answers for non-ASCII names).
    @inline(__always)
    static func has(_ trait: Traits, _ name: String, set: Set<String>) -> Bool {
        has(trait, traits: traits(name), name, set: set)
    }

    /// `name`'s trait bits from the table: ≥ 0 the bits, -1 in no set, -2 the table can't say (ask the set).
    @inline(__always)
    static func traits(_ name: String) -> Int {
        traitTable.firstValue(name)
    }

    /// `has`, with `found` the `traits(name)` already looked up.
    @inline(__always)
    static func has(_ trait: Traits, traits found: Int, _ name: String, set: Set<String>) -> Bool {
        if found >= 0 { return found & trait.rawValue != 0 }
        return found == -1 ? false : set.contains(name)
    }

    static let kinds: [String: Kind] = {
        var kinds: [String: Kind] = [:]
        for (name, syntax) in table { kinds[name] = .wrapper(syntax) }
        for (name, runners) in twoWord { kinds[name] = .twoWord(runners) }
        for name in shells { kinds[name] = .shell }
        for name in remoteShells { kinds[name] = .remote }
        for (name, flags) in interpreters { kinds[name] = .interpreter(flags) }
        for name in ["find", "fd", "fdfind"] { kinds[name] = .find }
        kinds["eval"] = .eval
        kinds["command"] = .command
        return kinds
    }()

    /// `find`/`fd` actions whose arguments are a command.
    static let findExec: Set<String> = ["-exec", "-execdir", "-ok", "-okdir", "-x", "--exec", "-X", "--exec-batch"]
    /// Run a command string on a shell elsewhere (`su -c`, `ssh host cmd`, `watch cmd`).
    static let remoteShells: Set<String> = ["su", "runuser", "ssh", "watch", "script"]
}
