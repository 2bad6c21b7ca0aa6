// SPDX-License-Identifier: Apache-2.0
// `vigil policy check|import|explain`: thin glue over VigilPolicy (parsing, merging and rendering live there).
import ArgumentParser
import Foundation
import VigilJSON
import VigilPolicy

extension Vigil {
    struct PolicyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy",
            abstract: "Check, import and explain Vigil policies.",
            subcommands: [Check.self, Import.self, Explain.self]
        )
    }
}

private func readText(_ path: String) throws -> String {
    do {
        return try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        throw ValidationError("cannot read \(path): \(error.localizedDescription)")
    }
}

private func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

extension Vigil.PolicyCommand {
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile policy files; report errors as file:line:column with the rule, and warnings.")

        @Argument(help: "Policy YAML files.")
        var files: [String]

        func run() async throws {
            var failed = false
            for file in files {
                do {
                    let policy = try Policy(yaml: try readText(file), file: file)
                    for warning in policy.warnings { printError(warning.description) }
                    for derivation in policy.derivations { print("\(file): \(derivation.ruleID): \(derivation.note)") }
                    print("\(file): ok, \(policy.document.rules.count) rules (\(policy.compiledRuleCount) compiled), version \(policy.version)")
                } catch let error as PolicyError {
                    printError(error.description)
                    failed = true
                }
            }
            if failed { throw ExitCode.failure }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge Claude Code settings files into one equivalent Vigil policy (YAML on stdout).",
            discussion: """
                Each FILE may be prefixed with its layer (managed:, local:, project:, user:); otherwise the layer \
                is guessed from the path. Permission lists merge across layers and deny > ask > allow decides, \
                as in Claude Code.
                """)

        @Argument(help: "settings.json files, optionally as LAYER:PATH.")
        var files: [String]

        @Option(help: "The home directory that identifies user settings.")
        var home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"

        @Option(help: "The version label of the generated policy.")
        var version = "imported"

        func run() async throws {
            var layers: [ClaudeSettingsLayer] = []
            for argument in files {
                var path = argument
                var source: ClaudeSettingsLayer.Source?
                if let colon = argument.firstIndex(of: ":"),
                    let named = ClaudeSettingsLayer.Source(rawValue: String(argument[..<colon]))
                {
                    source = named
                    path = String(argument[argument.index(after: colon)...])
                }
                let layer = source ?? ClaudeSettingsLayer.source(forPath: path, home: home)
                layers.append(ClaudeSettingsLayer(source: layer, path: path, text: try readText(path)))
            }
            do {
                print(try ClaudeSettingsImport.yaml(from: layers, version: version), terminator: "")
            } catch {
                printError(error.description)
                throw ExitCode.failure
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decide one tool call and print the decision and the winning rule.")

        @Option(help: "The policy YAML file.")
        var policy: String

        @Option(help: "The tool name (Bash, Read, WebFetch, mcp__server__tool, …).")
        var tool: String

        @Option(help: "The tool input as a JSON object, or a bare string for the tool's main field.")
        var input: String

        @Option(help: "User name.") var user = "unknown"
        @Option(help: "Team (repeatable).") var team: [String] = []
        @Option(help: "Role.") var role: String?
        @Option(help: "Device id.") var device: String?
        @Option(help: "Posture fact key=value (repeatable); value true/false, an integer, unknown, or text.")
        var posture: [String] = []
        @Option(help: "Working directory of the call.") var cwd = FileManager.default.currentDirectoryPath
        @Option(help: "Home directory for ~/ rules.") var home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        @Flag(help: "Print the decision as JSON.") var json = false

        func run() async throws {
            let compiled: Policy
            do {
                compiled = try Policy(yaml: try readText(policy), file: policy)
            } catch let error as PolicyError {
                printError(error.description)
                throw ExitCode.failure
            }
            let fields: [String: JSONValue]
            do {
                fields = try JSONValue.object(parsing: input, mainField: JSONValue.mainField(forTool: tool))
            } catch {
                // A bare command or path needs no JSON quoting.
                guard let field = JSONValue.mainField(forTool: tool) else { throw ValidationError("--input must be a JSON object") }
                fields = [field: .string(input)]
            }
            var facts: [String: PostureFact] = [:]
            for item in posture {
                guard let equals = item.firstIndex(of: "=") else { throw ValidationError("--posture wants key=value, got '\(item)'") }
                facts[String(item[..<equals])] = PostureFact(parsing: String(item[item.index(after: equals)...]))
            }
            let call = ToolCall(name: tool, input: fields, cwd: cwd, home: home)
            let identity = Identity(user: user, teams: team, role: role, device: device)
            let decision = compiled.decide(call, identity: identity, posture: facts)
            print(json ? decision.json : compiled.explanation(of: decision))
        }
    }
}
