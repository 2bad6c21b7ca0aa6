// SPDX-License-Identifier: Apache-2.0
// `vigil-console policy rules | add-rule | remove-rule | import | diff`: the policy editor's admin API
// from the shell. Each edit names the version it was made against (--base, default the newest).
import ArgumentParser
import Foundation
import VigilAPI
import VigilConsole
import VigilPolicy

struct EditOptions: ParsableArguments {
    @Option(name: .long, help: "The version the edit is made against (default: the newest); refused if the policy moved on.")
    var base: Int?
    @Option(name: .long, help: "Why (kept with the version and in the audit log).") var comment: String?

    /// The given base, or the newest version now.
    func resolvedBase(_ client: AdminClient) throws -> Int {
        if let base { return base }
        return try VigilConsoleCommand.PolicyCommand.Rules.fetch(client, version: nil).version
    }
}

extension VigilConsoleCommand.PolicyCommand {
    struct Rules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The rules of the newest version (or --version N), in order.")
        @OptionGroup var state: StateOptions
        @Option(name: .long, help: "A version number.") var version: Int?
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let client = AdminClient(socket: state.socketPath)
            if json {
                print(String(decoding: try client.call("GET", Self.path(version), expect: 200), as: UTF8.self))
                return
            }
            let view = try Self.fetch(client, version: version)
            let defaults = view.rows.defaults
            print(
                "v\(view.version) (version \(view.rows.label)): default \(defaults.tool.rawValue), kernel \(defaults.kernel.rawValue), derive_kernel \(defaults.deriveKernel), unknown_posture \(defaults.unknownPosture.rawValue)"
            )
            print("#\tID\tACTION\tMATCH\tSCOPE\tWHEN\tOVERRIDES")
            for (index, row) in view.rows.rows.enumerated() {
                let when = row.when.isEmpty ? "-" : row.when.joined(separator: " && ")
                let overrides = row.overrides.isEmpty ? "-" : row.overrides.joined(separator: ",")
                print("\(index)\t\(row.id)\t\(row.action.rawValue)\t\(row.match)\t\(row.scope.description)\t\(when)\t\(overrides)")
            }
        }

        static func path(_ version: Int?) -> String { "/admin/v1/policy/rows" + (version.map { "?version=\($0)" } ?? "") }

        static func fetch(_ client: AdminClient, version: Int?) throws -> PolicyRowsView {
            try JSONDecoder().decode(PolicyRowsView.self, from: Data(try client.call("GET", path(version), expect: 200)))
        }
    }

    struct AddRule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a rule as a new version; refused with the rule's line and reason if the policy would not compile.")
        @OptionGroup var state: StateOptions
        @OptionGroup var edit: EditOptions
        @Option(name: .long, help: "The rule's id.") var id: String
        @Option(name: .long, help: "Tool(pattern) in Claude Code syntax, or Exec(…)/Open(…)/Connect(…)/Peer(…).") var match: String
        @Option(name: .long, help: "allow, ask or deny.") var action: String
        @Option(name: .long, help: "Only for this user (repeatable).") var user: [String] = []
        @Option(name: .long, help: "Only for this team (repeatable).") var team: [String] = []
        @Option(name: .long, help: "Only for this role (repeatable).") var role: [String] = []
        @Option(name: .long, help: "Only on this device (repeatable).") var device: [String] = []
        @Option(name: .long, help: "Only for OS accounts bound to a person (verified) or to no one (unverified).") var identity: [String] = []
        @Option(name: .long, help: "A posture condition, e.g. 'disk_encrypted == false' (repeatable; all must hold).") var when: [String] = []
        @Option(name: .long, help: "A stricter rule this one is an exception to (repeatable).") var overrides: [String] = []
        @Option(name: .long, help: "Deny rules: none, flag, deny or kill in the kernel.") var kernel: String?
        @Option(name: .long, help: "fail_closed, match or no_match.") var onUnknown: String?
        @Option(name: .long, help: "Shown to the model when this rule decides.") var reason: String?
        @Option(name: .long, help: "Insert before the rule at this index (default: at the end).") var position: Int?

        func run() async throws {
            guard let action = PolicyAction(rawValue: action) else { throw ValidationError("--action must be allow, ask or deny") }
            let kernel = try kernel.map { text in
                guard let value = KernelEnforcement(rawValue: text) else { throw ValidationError("--kernel must be none, flag, deny or kill") }
                return value
            }
            let onUnknown = try onUnknown.map { text in
                guard let value = UnknownPosture(rawValue: text) else { throw ValidationError("--on-unknown must be fail_closed, match or no_match") }
                return value
            }
            let scope = Scope(
                users: user.isEmpty ? nil : user, teams: team.isEmpty ? nil : team, roles: role.isEmpty ? nil : role,
                devices: device.isEmpty ? nil : device, identities: identity.isEmpty ? nil : identity)
            let row = PolicyRow(
                id: id, match: match, action: action, scope: scope, when: when, overrides: overrides, kernel: kernel, onUnknown: onUnknown,
                reason: reason)
            let client = AdminClient(socket: state.socketPath)
            let ask = AddPolicyRowRequest(
                base: try edit.resolvedBase(client), row: row, position: position, actor: AdminClient.actor, comment: edit.comment)
            try report(try client.call("POST", "/admin/v1/policy/rows", body: Array(try JSONEncoder().encode(ask)), expect: 201))
        }
    }

    struct RemoveRule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a rule as a new version.")
        @OptionGroup var state: StateOptions
        @OptionGroup var edit: EditOptions
        @Argument(help: "The rule's id.") var id: String

        func run() async throws {
            let client = AdminClient(socket: state.socketPath)
            let ask = DeletePolicyRowRequest(base: try edit.resolvedBase(client), actor: AdminClient.actor, comment: edit.comment)
            let path = "/admin/v1/policy/rows/" + (id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)
            try report(try client.call("DELETE", path, body: Array(try JSONEncoder().encode(ask)), expect: 200))
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge a Claude Code settings.json into the rules as a new version (as `vigil policy import` reads it).",
            discussion: """
                A rule the policy has already is skipped. An imported id taken by a different rule refuses the import \
                unless --on-clash says rename (next free id) or replace (the imported rule takes its place).
                """)
        @OptionGroup var state: StateOptions
        @OptionGroup var edit: EditOptions
        @Argument(help: "The settings.json file ('-': standard input).") var file: String
        @Option(name: .long, help: "Its layer: managed, user, project or local.") var layer: String
        @Option(name: .long, help: "Where the file lives on devices (anchors managed /path rules).") var path: String?
        @Option(name: .long, help: "refuse (default), rename or replace.") var onClash = "refuse"

        func run() async throws {
            guard let source = ClaudeSettingsLayer.Source(rawValue: layer) else {
                throw ValidationError("--layer must be managed, user, project or local")
            }
            guard let clash = ImportClash(rawValue: onClash) else { throw ValidationError("--on-clash must be refuse, rename or replace") }
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
            guard let data else { throw CommandFailure("cannot read \(file)") }
            let client = AdminClient(socket: state.socketPath)
            let ask = ImportSettingsRequest(
                base: try edit.resolvedBase(client), settings: String(decoding: data, as: UTF8.self), layer: source, path: path, onClash: clash,
                actor: AdminClient.actor, comment: edit.comment)
            try report(try client.call("POST", "/admin/v1/policy/import", body: Array(try JSONEncoder().encode(ask)), expect: 201))
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The unified diff of two versions' documents (0: the empty policy).")
        @OptionGroup var state: StateOptions
        @Argument(help: "The older version.") var from: Int
        @Argument(help: "The newer version.") var to: Int

        func run() async throws {
            let answer = try AdminClient(socket: state.socketPath).call("GET", "/admin/v1/policy/diff?from=\(from)&to=\(to)", expect: 200)
            let diff = try JSONDecoder().decode(PolicyVersionDiff.self, from: Data(answer))
            print(diff.unified.isEmpty ? "v\(from) and v\(to) are the same" : diff.unified, terminator: diff.unified.isEmpty ? "\n" : "")
        }
    }
}

/// The new version, and what the edit did beyond the obvious.
private func report(_ answer: [UInt8]) throws {
    let result = try JSONDecoder().decode(PolicyEditResult.self, from: Data(answer))
    for note in result.notes { print("note: \(note)") }
    for warning in result.warnings { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
    print("policy v\(result.bundle.version) is current (\(result.rows.rows.count) rules); enrolled devices apply it now")
}
