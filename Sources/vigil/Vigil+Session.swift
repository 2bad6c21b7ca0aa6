// SPDX-License-Identifier: Apache-2.0
// `vigil session list|show`: a session as it reads — prompt → tool call (decision) → what actually
// ran, opened and connected → result — from vigild (users see their own sessions, root all). `show`
// prints the summary (commands as a tree, the system's own files counted); `--all` every event.
import ArgumentParser
import Foundation
import VigilAPI
import VigilClaude
import VigilSessionSummary
import VigilTransport
import VigilTransportClient

extension Vigil {
    struct Session: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sessions recorded by vigild: list them, or show one as prompt → tool call → what ran → result.",
            subcommands: [List.self, Show.self])

        struct Connection: ParsableArguments {
            @Option(help: "vigild's API socket.")
            var socket = ProcessInfo.processInfo.environment["VIGIL_SOCKET"] ?? "/run/vigil/vigild.sock"

            func get(_ path: String) throws -> [UInt8] {
                let client = HTTPClient(.unix(path: socket), timeout: .seconds(10))
                defer { client.close() }
                let response: HTTPResponse
                do {
                    response = try client.request("GET", path)
                } catch {
                    throw ValidationError("vigild is not reachable: \(error)")
                }
                guard response.status == 200 else {
                    throw ValidationError(response.bodyText.trimmingCharacters(in: .whitespacesAndNewlines))
                }
                return response.body
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Your sessions (root: everyone's), live and recent.")
            @OptionGroup var connection: Connection

            func run() async throws {
                let records = try JSONDecoder().decode([SessionRecord].self, from: Data(connection.get("/v1/sessions")))
                for r in records.sorted(by: { $0.startedAt < $1.startedAt }) {
                    print(
                        "\(r.id)  \(r.isLive ? "live " : "ended")  \(r.origin.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0))  "
                            + "\(r.user)  \(r.toolCalls) calls (\(r.deniedToolCalls) denied)  \(r.kernelEvents) kernel events  \(r.cwd ?? "")")
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "One session, prompt → tool call → what ran → result.")
            @OptionGroup var connection: Connection
            @Argument(help: "The session id (16 hex digits, from 'vigil session list' or 'vigil status').") var id: String
            @Flag(help: "Every kernel event, one line each (default: the summary).") var all = false
            @Flag(help: "Print JSON: the summary; with --all, the record, the timeline and the conversation as stored.") var json = false

            func run() async throws {
                let bytes = try connection.get("/v1/sessions/\(id)")
                if json && all {
                    print(String(decoding: bytes, as: UTF8.self))
                    return
                }
                let detail = try JSONDecoder().decode(SessionDetail.self, from: Data(bytes))
                if all {
                    print(Self.render(detail))
                } else if json {
                    print(try SessionSummary(detail).json())
                } else {
                    print(SessionSummary(detail).text(), terminator: "")
                }
            }

            /// `--all`: the transcript's conversation with each call's every kernel event; without a
            /// transcript, the daemon's own timeline.
            static func render(_ detail: SessionDetail) -> String {
                let r = detail.record
                var head = "session \(r.id) (\(r.origin.rawValue)) of \(r.user), pid \(r.rootPID), \(r.cwd ?? "")\n"
                head += "claude sessions: \(r.claudeSessionIDs.joined(separator: ", "))\n"
                for problem in r.problems { head += "! \(problem)\n" }
                var activity: [String: [KernelActivity]] = [:]
                var decisions: [String: ToolCallDecision] = [:]
                for line in detail.timeline {
                    guard let call = line.toolUseID else { continue }
                    if line.kind == .kernel, let kind = KernelActivity.Kind(rawValue: line.event ?? ""),
                        let decision = KernelActivity.Decision(rawValue: line.decision ?? "allow")
                    {
                        activity[call, default: []].append(
                            KernelActivity(
                                kind: kind, pid: line.pid ?? 0, detail: line.text ?? "",
                                decision: decision, ruleID: line.rule,
                                mechanism: line.mechanism))
                    } else if line.kind == .toolCall, let verdict = ToolCallDecision.Verdict(rawValue: line.decision ?? "") {
                        decisions[call] = ToolCallDecision(verdict: verdict, ruleID: line.rule, reason: line.reason)
                    }
                }
                if !detail.conversation.isEmpty {
                    return head + SessionTimeline(items: detail.conversation, activity: activity, decisions: decisions).text()
                }
                return head
                    + detail.timeline.filter { $0.kind != .kernel || $0.toolUseID != nil }.map { line in
                        "\(line.kind.rawValue)\(line.toolUseID.map { " [\($0)]" } ?? "")\(line.decision.map { " \($0)" } ?? "")"
                            + "\(line.rule.map { " rule \($0)" } ?? "")\(line.mechanism.map { " by \($0)" } ?? ""): \(line.text ?? "")"
                    }.joined(separator: "\n")
            }
        }
    }
}
