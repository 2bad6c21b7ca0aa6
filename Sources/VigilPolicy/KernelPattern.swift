// SPDX-License-Identifier: Apache-2.0
// Kernel rule specifiers for what no tool call names: `Exec(…)`, `Open(…)`, `Connect(…)`.

/// `Exec(curl)`, `Exec(/usr/bin/*)`, `Exec(git push *)`: a binary name or path glob, then optionally
/// an arguments pattern in `Bash(…)` syntax matched against argv[1…].
struct ExecPattern: Sendable, Hashable {
    let source: String
    /// Glob on the full path when it contains `/`, else on the basename of the path and of argv[0].
    let binary: Glob
    let matchesPath: Bool
    let arguments: CommandPattern?

    init(_ specifier: String) throws(PatternError) {
        let trimmed = specifier.trimmingSpaces
        guard !trimmed.isEmpty else { throw PatternError("empty Exec pattern") }
        source = specifier
        let first = trimmed.prefix { $0 != " " }
        let rest = trimmed.dropFirst(first.count).trimmingSpaces
        matchesPath = first.contains("/")
        binary = Glob(matchesPath ? String(first).normalisedAbsolute : String(first))
        arguments = rest.isEmpty || rest == "*" ? nil : try CommandPattern(String(rest))
    }

    /// The literal basename, for the index.
    var nameKey: String? {
        guard let literal = binary.literal else { return nil }
        return basename(String(decoding: literal, as: UTF8.self))
    }

    func matches(path: String, argv: [String]) -> Bool {
        let binaryMatches =
            matchesPath
            ? binary.matches(path)
            : binary.matches(basename(path)) || (argv.first.map { binary.matches(basename($0)) } ?? false)
        guard binaryMatches else { return false }
        guard let arguments else { return true }
        return arguments.matches(argv.dropFirst().joined(separator: " "))
    }
}

/// `Open(~/.aws/**)`, `Open(/etc/shadow, read)`, `Open(**/.env, write)`. Paths are absolute here
/// (`/x` is the root, not the project); relative patterns match at any depth.
struct OpenPattern: Sendable, Hashable {
    enum Mode: String, Sendable, Hashable {
        case any
        case read
        case write
    }

    let path: PathPattern
    let mode: Mode

    init(_ specifier: String) throws(PatternError) {
        var text = specifier.trimmingSpaces
        var mode = Mode.any
        if let comma = text.lastIndex(of: ",") {
            let word = text[text.index(after: comma)...].trimmingSpaces
            guard let parsed = Mode(rawValue: String(word)) else {
                throw PatternError("Open mode must be read, write or any, not '\(word)'")
            }
            mode = parsed
            text = text[..<comma].trimmingSpaces
        }
        self.mode = mode
        path = try PathPattern(String(text), relative: .anywhere, singleSlashIsAbsolute: true)
    }

    func modeMatches(write: Bool) -> Bool {
        switch mode {
        case .any: true
        case .read: !write
        case .write: write
        }
    }
}

/// `Connect(10.0.0.0/8)`, `Connect(1.2.3.4:443)`, `Connect([::1]:22)`, `Connect(*:25)`,
/// `Connect(*.evil.com)`, `Connect(evil.com:443)`, `Connect(unix:/run/docker.sock)`.
struct ConnectPattern: Sendable, Hashable {
    enum Target: Sendable, Hashable {
        case anyAddress
        case network(CIDR)
        case host(DomainPattern)
        case unixPath(PathPattern)
    }

    let source: String
    let target: Target
    let ports: ClosedRange<UInt16>?

    init(_ specifier: String) throws(PatternError) {
        let text = specifier.trimmingSpaces
        source = specifier
        if text.hasPrefix("unix:") {
            target = .unixPath(try PathPattern(String(text.dropFirst(5)), relative: .anywhere, singleSlashIsAbsolute: true))
            ports = nil
            return
        }
        var host = Substring(text)
        var portText: Substring?
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[...close]
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw PatternError("unexpected '\(after)' after '\(host)'")
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        if let portText { ports = try ConnectPattern.parsePorts(portText) } else { ports = nil }
        if host == "*" {
            target = .anyAddress
        } else if let cidr = CIDR(host) {
            target = .network(cidr)
        } else if ConnectPattern.looksLikeHost(host) {
            target = .host(try DomainPattern(String(host)))
        } else {
            throw PatternError("'\(host)' is neither an IP address, a CIDR block nor a host name")
        }
    }

    private static func parsePorts(_ text: Substring) throws(PatternError) -> ClosedRange<UInt16>? {
        if text == "*" { return nil }
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(bounds.count), let low = UInt16(bounds[0]), let high = UInt16(bounds.last!), low <= high
        else { throw PatternError("'\(text)' is not a port or port range") }
        return low...high
    }

    /// Letters or a wildcard: a host name pattern rather than a malformed address.
    private static func looksLikeHost(_ text: Substring) -> Bool {
        let hasLetter = text.contains { character in character.isLetter }
        let hasStar = text.contains("*")
        return hasLetter || hasStar
    }

    func portMatches(_ port: UInt16) -> Bool {
        ports?.contains(port) ?? true
    }
}

/// `Peer(*)`, `Peer(localhost:5432)`, `Peer(localhost:8000-8999)`, `Peer(localhost:*)`: a process
/// outside the session that a session process reaches on this host — a TCP listener or a UDP socket
/// bound to a loopback address (or to every address) on those ports. Crossing the session boundary
/// hands work to a process Vigil does not watch (a proxy, a forwarder, a job runner, a database), so
/// the starter policy denies `Peer(*)` and lists the peers a developer uses as exceptions. A listener
/// the session started itself is the session's own: never a peer.
///
/// `Peer(model-api)`: the model API as configured for the session's Claude Code — the loopback port of
/// the `ANTHROPIC_BASE_URL` in the session root's environment when the session started (a local model
/// gateway); it matches nothing when that is not a loopback URL.
///
/// `Peer(unix:/run/postgresql/*)`, `Peer(unix:@name*)`: an AF_UNIX listener (a path, or `@` and an
/// abstract name) whose owner is outside the session. Recorded at connect with the owner's pid and
/// decided in user space: the connect has happened by then, so a deny kills the connecting process
/// (a session root is flagged).
struct PeerPattern: Sendable, Hashable {
    let source: String
    /// nil: every port.
    let ports: ClosedRange<UInt16>?
    let modelAPI: Bool
    /// `unix:…`: AF_UNIX peers whose socket name matches (ports is nil).
    let unixPath: PathPattern?
    /// `fifo:…`: opens of FIFOs (named pipes) whose path matches.
    let fifoPath: PathPattern?

    init(_ specifier: String) throws(PatternError) {
        let text = specifier.trimmingSpaces
        source = specifier
        modelAPI = text == "model-api"
        if text.hasPrefix("fifo:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/") || path.hasPrefix("~/") else {
                throw PatternError("Peer(fifo:…) takes an absolute path, not '\(path)'")
            }
            fifoPath = try PathPattern(path, relative: .anywhere, singleSlashIsAbsolute: true)
            unixPath = nil
            ports = nil
            return
        }
        fifoPath = nil
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard path.hasPrefix("/") || path.hasPrefix("@") else {
                throw PatternError("Peer(unix:…) takes an absolute path or @abstract name, not '\(path)'")
            }
            unixPath = try PathPattern(path, relative: .anywhere, singleSlashIsAbsolute: true)
            ports = nil
            return
        }
        unixPath = nil
        if text == "*" || modelAPI {
            ports = nil
            return
        }
        guard text.hasPrefix("localhost:") else {
            throw PatternError("Peer takes '*', 'model-api' or 'localhost:PORT' (a port, a range LOW-HIGH or *), not '\(text)'")
        }
        let portText = text.dropFirst("localhost:".count)
        if portText == "*" {
            ports = nil
            return
        }
        let bounds = portText.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(bounds.count), let low = UInt16(bounds[0]), let high = UInt16(bounds.last!), low <= high else {
            throw PatternError("'\(portText)' is not a port or port range")
        }
        ports = low...high
    }

    /// Whether this pattern covers IP peers (loopback TCP/UDP), which the kernel holds by port.
    var coversIP: Bool { unixPath == nil && fifoPath == nil }

    func matches(port: UInt16, modelAPIPort: UInt16?) -> Bool {
        if !coversIP { return false }
        if modelAPI { return modelAPIPort == port }
        return ports?.contains(port) ?? true
    }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        let sub = self[...]
        let start = sub.firstIndex { $0 != " " && $0 != "\t" } ?? sub.endIndex
        let end = sub.lastIndex { $0 != " " && $0 != "\t" }.map { sub.index(after: $0) } ?? start
        return Substring(sub[start..<end])
    }
}

extension String {
    /// `//x` is accepted for Claude Code habits; kernel paths are absolute either way.
    var normalisedAbsolute: String {
        hasPrefix("//") ? "/" + drop { $0 == "/" } : self
    }
}
