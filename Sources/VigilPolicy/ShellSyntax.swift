// SPDX-License-Identifier: Apache-2.0
// What the shell parser produces: every simple command a Bash tool call could run, nested ones included.

/// One shell word after quote removal, with where it came from.
struct ShellWord: Sendable, Hashable {
    /// The value after quote removal and escape processing. Expansions are left as written.
    var text: String
    /// Byte range of the word in its part's source, quotes included.
    var raw: Range<Int>
    /// The runtime value isn't known statically: `$VAR`, `$(…)`, backticks, unquoted globs or braces.
    var dynamic: Bool
}

/// A redirection: `> out`, `< in`, `<<EOF`, `<<< text`.
struct ShellRedirect: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case read
        case write
        /// `<<` / `<<<`: the text is fed to the command's stdin.
        case hereText
        /// `>&2`, `<&-`: fd plumbing, no file.
        case duplicate
    }

    var kind: Kind
    var target: ShellWord?
    /// Heredoc body or here-string text.
    var text: String?
    /// Ties a heredoc to its body, which the parser reads after the end of the line.
    var heredocID: Int?
}

/// One simple command: the unit a `Bash(…)` rule is matched against.
struct ShellPart: Sendable, Hashable {
    var words: [ShellWord] = []
    var redirects: [ShellRedirect] = []
    /// Contains `$(…)`, backticks or `<(…)`: Claude Code asks for these ("can't be checked before it runs").
    var hasSubstitution = false
    /// Came from inside `$(…)`, backticks, `bash -c`, `eval`, … rather than the top level.
    var nested = false
    /// Reads stdin from a pipe (`… | this`).
    var pipedInput = false
    /// The text the part's words were cut from.
    var source: [UInt8] = []
}

/// A whole Bash command, split into simple commands.
struct ParsedShell: Sendable, Hashable {
    var parts: [ShellPart]
    /// Unbalanced quotes or parentheses: nothing about the command can be trusted.
    var malformed: Bool
}
