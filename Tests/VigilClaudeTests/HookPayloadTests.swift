// SPDX-License-Identifier: Apache-2.0
// Hook payload codecs against the payloads captured from Claude Code 2.1.330 (reference, Appendix A),
// and the validation a decision needs.
import Foundation
import Testing
import VigilClaude
import VigilJSON
import VigilPolicy

enum Fixtures {
    static let session = "23bea483-2a03-4dc4-b3fc-9c1a5688e419"
    static let transcript = "/home/dev/work/home/.claude/projects/-home-dev-work-wcap/23bea483-2a03-4dc4-b3fc-9c1a5688e419.jsonl"

    static let sessionStart = """
        {"session_id":"\(session)","transcript_path":"\(transcript)","cwd":"/home/dev/work/wcap","hook_event_name":"SessionStart","source":"startup"}
        """
    static let userPromptSubmit = """
        {"session_id":"\(session)","transcript_path":"\(transcript)","cwd":"/home/dev/work/wcap","prompt_id":"bd8dc3b6-4ad1-4c01-8234-184779abf7d0","permission_mode":"default","hook_event_name":"UserPromptSubmit","prompt":"go STEPS:[[{\\"name\\": \\"Bash\\"}]]"}
        """
    static let preToolUseBash = """
        {"session_id":"\(session)","transcript_path":"\(transcript)","cwd":"/home/dev/work/wcap","prompt_id":"bd8dc3b6-4ad1-4c01-8234-184779abf7d0","permission_mode":"default","effort":{"level":"medium"},"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"echo hi","description":"say hi"},"tool_use_id":"toolu_00_0"}
        """
    static let postToolUseBash = """
        {"session_id":"\(session)","transcript_path":"\(transcript)","cwd":"/home/dev/work/wcap","prompt_id":"bd8dc3b6-4ad1-4c01-8234-184779abf7d0","permission_mode":"default","effort":{"level":"medium"},"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"echo hi","description":"say hi"},"tool_response":{"stdout":"hi","stderr":"","interrupted":false,"isImage":false,"noOutputExpected":false},"tool_use_id":"toolu_00_0","duration_ms":30}
        """
    static let postToolUseFailure = """
        {"session_id":"\(session)","transcript_path":"\(transcript)","cwd":"/home/dev/work/wcap","prompt_id":"bd8dc3b6-4ad1-4c01-8234-184779abf7d0","permission_mode":"default","effort":{"level":"medium"},"hook_event_name":"PostToolUseFailure","tool_name":"Bash","tool_input":{"command":"false","description":"fail"},"tool_use_id":"toolu_03_0","error":"Exit code 1","is_interrupt":false,"duration_ms":21}
        """
    static let preToolUseMCP = """
        {"session_id":"\(session)","transcript_path":"\(transcript)","cwd":"/home/dev/work/wcap","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"mcp__sec__echo","tool_input":{"text":"hello"},"tool_use_id":"toolu_04_0","mcp_server":{"name":"sec","source":"dynamic"}}
        """
    static let preToolUseSubagent = """
        {"session_id":"\(session)","transcript_path":"\(transcript)","cwd":"/home/dev/work/wcap","permission_mode":"default","agent_id":"a4f6f76b6568c42a3","agent_type":"general-purpose","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"echo from-subagent","description":"s"},"tool_use_id":"toolu_00_0"}
        """
    static let stop = """
        {"session_id":"\(session)","transcript_path":"\(transcript)","cwd":"/home/dev/work/wcap","prompt_id":"bd8dc3b6-4ad1-4c01-8234-184779abf7d0","permission_mode":"default","effort":{"level":"medium"},"hook_event_name":"Stop","stop_hook_active":false,"last_assistant_message":"done","background_tasks":[{"id":"a4f6f76b6568c42a3","type":"subagent","status":"running","description":"sub task","agent_type":"general-purpose"}],"session_crons":[]}
        """
    static let sessionEnd = """
        {"session_id":"\(session)","transcript_path":"\(transcript)","cwd":"/home/dev/work/wcap","prompt_id":"53e1752a-b51c-416d-a8e0-37085d838567","hook_event_name":"SessionEnd","reason":"other"}
        """
    static let postToolBatch = """
        {"session_id":"\(session)","transcript_path":"\(transcript)","cwd":"/home/dev/work/wcap","hook_event_name":"PostToolBatch","tool_calls":[]}
        """

    static func payload(_ text: String) throws -> HookPayload { try HookPayload(json: Array(text.utf8)) }

    /// A PreToolUse object with one field replaced (nil removes it).
    static func preToolUse(_ field: String, _ value: JSONValue?) -> [UInt8] {
        var object = try! JSONDecoder().decode([String: JSONValue].self, from: Data(preToolUseBash.utf8))
        object[field] = value
        return Array(try! JSONEncoder().encode(object))
    }
}

struct HookPayloadTests {
    @Test func preToolUseBash() throws {
        let payload = try Fixtures.payload(Fixtures.preToolUseBash)
        #expect(payload.event == .preToolUse)
        #expect(payload.sessionID == Fixtures.session)
        #expect(payload.cwd == "/home/dev/work/wcap")
        #expect(payload.transcriptPath == Fixtures.transcript)
        #expect(payload.promptID == "bd8dc3b6-4ad1-4c01-8234-184779abf7d0")
        #expect(payload.permissionMode == "default")
        guard case .preToolUse(let tool) = payload.detail else {
            Issue.record("not a PreToolUse: \(payload.detail)")
            return
        }
        #expect(tool.name == "Bash")
        #expect(tool.id == "toolu_00_0")
        #expect(tool.input["command"] == .string("echo hi"))
        #expect(tool.input["description"] == .string("say hi"))
        // Fields not modelled are kept.
        #expect(payload.fields["effort"] == .object(["level": .string("medium")]))
    }

    @Test func everyInstalledEventDecodes() throws {
        let post = try Fixtures.payload(Fixtures.postToolUseBash)
        guard case .postToolUse(let tool, let response, let duration) = post.detail else {
            Issue.record("\(post.detail)")
            return
        }
        #expect(tool.name == "Bash" && tool.id == "toolu_00_0")
        #expect(duration == 30)
        guard case .object(let output)? = response else {
            Issue.record("tool_response: \(String(describing: response))")
            return
        }
        #expect(output["stdout"] == .string("hi"))

        let failure = try Fixtures.payload(Fixtures.postToolUseFailure)
        #expect(
            failure.detail
                == .postToolUseFailure(
                    ToolUse(name: "Bash", input: ["command": .string("false"), "description": .string("fail")], id: "toolu_03_0"),
                    error: "Exit code 1", isInterrupt: false, durationMs: 21))

        let prompt = try Fixtures.payload(Fixtures.userPromptSubmit)
        #expect(prompt.detail == .userPromptSubmit(prompt: #"go STEPS:[[{"name": "Bash"}]]"#))

        #expect(try Fixtures.payload(Fixtures.sessionStart).detail == .sessionStart(source: "startup"))
        #expect(try Fixtures.payload(Fixtures.sessionEnd).detail == .sessionEnd(reason: "other"))
        #expect(try Fixtures.payload(Fixtures.stop).detail == .stop(stopHookActive: false, lastAssistantMessage: "done"))

        let other = try Fixtures.payload(Fixtures.postToolBatch)
        #expect(other.event == .other("PostToolBatch"))
        #expect(other.detail == .other)
    }

    @Test func mcpAndSubagentContext() throws {
        let mcp = try Fixtures.payload(Fixtures.preToolUseMCP)
        #expect(mcp.toolUse?.name == "mcp__sec__echo")
        #expect(mcp.fields["mcp_server"] == .object(["name": .string("sec"), "source": .string("dynamic")]))
        let sub = try Fixtures.payload(Fixtures.preToolUseSubagent)
        #expect(sub.agentID == "a4f6f76b6568c42a3")
        #expect(sub.agentType == "general-purpose")
    }

    @Test(arguments: ["hook_event_name", "session_id", "tool_name", "tool_input", "cwd", "tool_use_id"])
    func preToolUseRequiresWhatADecisionNeeds(_ field: String) {
        #expect {
            try HookPayload(json: Fixtures.preToolUse(field, nil))
        } throws: { error in
            guard let error = error as? HookPayloadError else { return false }
            return error.field == field && error.reason == "missing"
                && (field == "hook_event_name" ? error.event == nil : error.event == .preToolUse)
        }
    }

    @Test func wrongTypesAndValuesAreNamed() {
        func failure(_ bytes: [UInt8]) -> HookPayloadError? {
            do {
                _ = try HookPayload(json: bytes)
                return nil
            } catch {
                return error
            }
        }
        let notObject = failure(Fixtures.preToolUse("tool_input", .string("echo hi")))
        #expect(notObject?.field == "tool_input")
        #expect(notObject?.description == "malformed hook payload (PreToolUse): field 'tool_input': expected an object, got a string")
        #expect(failure(Fixtures.preToolUse("tool_name", .number(3)))?.reason == "expected a string, got a number")
        #expect(failure(Fixtures.preToolUse("tool_use_id", .string("")))?.reason == "empty")
        #expect(failure(Fixtures.preToolUse("cwd", .string("relative/dir")))?.reason == "'relative/dir' is not an absolute path")
        #expect(failure(Array("".utf8))?.reason == "stdin was empty (expected one JSON object)")
        #expect(failure(Array("  \n".utf8))?.reason == "stdin was empty (expected one JSON object)")
        #expect(failure(Array("{not json".utf8))?.reason.hasPrefix("not valid JSON") == true)
        #expect(failure(Array("[1,2]".utf8))?.reason == "expected a JSON object, got an array")
        #expect(HookPayload.eventName(inMalformed: Fixtures.preToolUse("cwd", nil)) == .preToolUse)
        #expect(HookPayload.eventName(inMalformed: Array("{not json".utf8)) == nil)
    }

    @Test func optionalFieldsAreLenient() throws {
        // Post events need no tool_use_id or cwd; optional fields of the wrong type read as absent.
        let text =
            #"{"hook_event_name":"PostToolUse","session_id":"s","tool_name":"Read","tool_input":{},"duration_ms":"slow","prompt_id":7,"extra":[1]}"#
        let payload = try Fixtures.payload(text)
        #expect(payload.toolUse == ToolUse(name: "Read", input: [:], id: nil))
        #expect(payload.promptID == nil)
        #expect(payload.cwd == nil)
        guard case .postToolUse(_, _, let duration) = payload.detail else {
            Issue.record("\(payload.detail)")
            return
        }
        #expect(duration == nil)
        // A SessionStart with only what is required.
        #expect(try Fixtures.payload(#"{"hook_event_name":"SessionStart","session_id":"s"}"#).detail == .sessionStart(source: nil))
    }
}

struct HookResponseTests {
    @Test func preToolUseOutputIsExactlyTheVerifiedForm() {
        let deny = HookResponse.preToolUse(.deny, reason: "Denied by Vigil rule 'no-curl': x [policy v+1]")
        #expect(
            deny.stdout
                == #"{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","permissionDecisionReason":"Denied by Vigil rule 'no-curl': x [policy v+1]"}}"#
        )
        #expect(deny.exitCode == 0)
        #expect(HookResponse.preToolUse(.allow, reason: "ok").stdout.contains(#""permissionDecision":"allow""#))
        #expect(HookResponse.preToolUse(.ask, reason: "sure?").stdout.contains(#""permissionDecision":"ask""#))
        // Quotes, newlines and slashes survive as JSON.
        let tricky = HookResponse.preToolUse(.deny, reason: "a \"b\"\n/c")
        let decoded = try? JSONSerialization.jsonObject(with: Data(tricky.stdout.utf8)) as? [String: [String: String]]
        #expect(decoded?["hookSpecificOutput"]?["permissionDecisionReason"] == "a \"b\"\n/c")
    }

    @Test func otherAnswers() {
        #expect(HookResponse.blockPrompt(reason: "no").stdout == #"{"decision":"block","reason":"no"}"#)
        #expect(HookResponse.blockingError("bad").exitCode == 2)
        #expect(HookResponse.silent == HookResponse(stdout: "", stderr: "", exitCode: 0))
    }

    @Test func reasonsNameTheRuleAndPolicy() {
        let deny = Decision(action: .deny, winningRuleID: "no-curl", reason: "Use the proxy.", policyVersion: "v1+abc")
        #expect(HookReason.text(for: deny, tool: "Bash") == "Denied by Vigil rule 'no-curl': Use the proxy. [policy v1+abc]")
        let ask = Decision(action: .ask, winningRuleID: "push", reason: "Pushes need a human.", policyVersion: "v1+abc")
        #expect(
            HookReason.text(for: ask, tool: "Bash") == "Vigil rule 'push' requires approval for this Bash call: Pushes need a human. [policy v1+abc]")
        let byDefault = Decision(action: .deny, reason: "No Vigil policy rule allows `ls`", policyVersion: "v1+abc")
        #expect(HookReason.text(for: byDefault, tool: "Bash").hasPrefix("Denied by Vigil (no rule applies, the policy default is deny)"))
    }
}
