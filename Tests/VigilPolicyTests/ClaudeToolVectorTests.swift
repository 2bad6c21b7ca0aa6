// SPDX-License-Identifier: Apache-2.0
// Appendix C: WebFetch domains, MCP server/tool names, Agent/Task.
import Testing
@testable import VigilPolicy

private let echo = #"{"text": "hi"}"#
private let danger = #"{"target": "x"}"#

@Test(arguments: [
    Vector(Rules(allow: ["WebFetch(domain:example.com)"]), "WebFetch", "https://example.com/x", .allow),
    Vector(Rules(allow: ["WebFetch(domain:example.com)"]), "WebFetch", "https://api.example.com/x", .unruled),
    Vector(Rules(allow: ["WebFetch(domain:example.com)"]), "WebFetch", "https://EXAMPLE.com./x", .allow),
    Vector(Rules(allow: ["WebFetch(domain:example.com)"]), "WebFetch", "https://example.com.evil.net/x", .unruled),
    Vector(Rules(allow: ["WebFetch(domain:*.example.com)"]), "WebFetch", "https://api.example.com/x", .allow),
    Vector(Rules(allow: ["WebFetch(domain:*.example.com)"]), "WebFetch", "https://a.b.example.com/x", .allow),
    Vector(Rules(allow: ["WebFetch(domain:*.example.com)"]), "WebFetch", "https://example.com/x", .unruled),
    Vector(Rules(allow: ["WebFetch(domain:example.*)"]), "WebFetch", "https://example.org/x", .allow),
    Vector(Rules(allow: ["WebFetch(domain:example.*)"]), "WebFetch", "https://example.evil.com/x", .unruled),
    Vector(Rules(allow: ["WebFetch"], deny: ["WebFetch(domain:evil.com)"]), "WebFetch", "https://evil.com/a", .deny),
    Vector(Rules(allow: ["WebFetch"], deny: ["WebFetch(domain:evil.com)"]), "WebFetch", "https://good.com/a", .allow),
    Vector(Rules(allow: ["WebFetch"], deny: ["WebFetch(domain:evil.com)"]), "WebFetch", "https://user@EVIL.com:8443/", .deny),
    Vector(Rules(allow: ["WebFetch"], deny: ["WebFetch(domain:evil.com)"]), "WebFetch", "not a url", .deny),
])
func webFetchDomains(_ vector: Vector) throws { try check(vector) }

@Test(arguments: [
    Vector(Rules(), "mcp__sec__echo", echo, .unruled),
    Vector(Rules(allow: ["mcp__sec"]), "mcp__sec__echo", echo, .allow),
    Vector(Rules(allow: ["mcp__sec"]), "mcp__sec__danger", danger, .allow),
    Vector(Rules(allow: ["mcp__sec"]), "mcp__second__echo", echo, .unruled),
    Vector(Rules(allow: ["mcp__sec__*"]), "mcp__sec__echo", echo, .allow),
    Vector(Rules(allow: ["mcp__sec__echo"]), "mcp__sec__echo", echo, .allow),
    Vector(Rules(allow: ["mcp__sec__echo"]), "mcp__sec__danger", danger, .unruled),
    Vector(Rules(allow: ["mcp__sec"], deny: ["mcp__sec__danger"]), "mcp__sec__echo", echo, .allow),
    Vector(Rules(allow: ["mcp__sec"], deny: ["mcp__sec__danger"]), "mcp__sec__danger", danger, .deny),
    Vector(Rules(allow: ["mcp__*"]), "mcp__sec__echo", echo, .unruled),
    Vector(Rules(deny: ["mcp__*"]), "mcp__sec__echo", echo, .deny),
    Vector(Rules(allow: ["mcp__sec__ec*"]), "mcp__sec__echo", echo, .allow),
    Vector(Rules(allow: ["mcp__sec__ec*"]), "mcp__sec__danger", danger, .unruled),
    // Claude Code ignored this param deny and ran the call; Vigil enforces it.
    Vector(
        Rules(allow: ["mcp__sec"], deny: ["mcp__sec__danger(target:prod)"]), "mcp__sec__danger",
        #"{"target": "prod"}"#, .deny),
    Vector(
        Rules(allow: ["mcp__sec"], deny: ["mcp__sec__danger(target:prod)"]), "mcp__sec__danger",
        #"{"target": "dev"}"#, .allow),
])
func mcpNames(_ vector: Vector) throws { try check(vector) }

private let explore = #"{"subagent_type": "Explore", "description": "d", "prompt": "say done"}"#
private let general = #"{"subagent_type": "general-purpose", "description": "d", "prompt": "say done"}"#

@Test(arguments: [
    Vector(Rules(deny: ["Agent(Explore)"]), "Agent", explore, .deny),
    Vector(Rules(deny: ["Agent(Explore)"]), "Agent", general, .unruled),
    Vector(Rules(allow: ["Agent(Explore)"]), "Agent", explore, .allow),
    Vector(Rules(allow: ["Agent(Explore)"]), "Agent", general, .unruled),
    Vector(Rules(deny: ["Task(Explore)"]), "Agent", explore, .deny),
    Vector(Rules(deny: ["Agent(Explore)"]), "Task", explore, .deny),
    Vector(
        Rules(deny: ["Agent(model:opus)"]), "Agent",
        #"{"subagent_type": "general-purpose", "prompt": "x", "model": "opus"}"#, .deny),
    Vector(Rules(deny: ["WebSearch"]), "WebSearch", #"{"query": "x"}"#, .deny),
    Vector(Rules(allow: ["WebSearch"]), "WebFetch", "https://example.com", .unruled),
])
func agentAndBareTools(_ vector: Vector) throws { try check(vector) }
