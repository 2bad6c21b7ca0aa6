// SPDX-License-Identifier: Apache-2.0
// Appendix C, Bash: each vector's result as observed on Claude Code 2.1.330. Where Claude Code ran a
// command despite a deny (bash -c, eval, xargs -n1, find -exec), Vigil denies: see BypassTests.
import Testing
@testable import VigilPolicy

private let legacy = Rules(allow: ["Bash(npm run test:*)"])
private let spaced = Rules(allow: ["Bash(npm run test *)"])
private let npm = Rules(allow: ["Bash(npm *)"])
private let npmNoSpace = Rules(allow: ["Bash(npm*)"])
private let safe = Rules(allow: ["Bash(safe-cmd *)"])
private let middle = Rules(allow: ["Bash(mytool * main)", "Bash(deploy prod)"])
private let denyMytool = Rules(allow: ["Bash"], deny: ["Bash(mytool *)"])
private let denyNoSpace = Rules(allow: ["Bash"], deny: ["Bash(mytool*)"])
private let askDeploy = Rules(allow: ["Bash"], ask: ["Bash(deploy *)"])

@Test(arguments: [
    Vector(legacy, "Bash", "npm run test:unit", .unruled),
    Vector(legacy, "Bash", "npm run test", .allow),
    Vector(legacy, "Bash", "npm run test --watch", .allow),
    Vector(legacy, "Bash", "npm run testx", .unruled),
    Vector(legacy, "Bash", "npm run build", .unruled),
    Vector(spaced, "Bash", "npm run test:unit", .unruled),
    Vector(spaced, "Bash", "npm run test", .allow),
    Vector(spaced, "Bash", "npm run test --watch", .allow),
    Vector(spaced, "Bash", "npm run testx", .unruled),
    Vector(npmNoSpace, "Bash", "npmx install", .allow),
    Vector(npmNoSpace, "Bash", "npm install", .allow),
    Vector(middle, "Bash", "mytool push origin main", .allow),
    Vector(middle, "Bash", "mytool merge main", .allow),
    Vector(middle, "Bash", "mytool push origin main --force", .unruled),
    Vector(middle, "Bash", "deploy prod", .allow),
    Vector(middle, "Bash", "deploy prod --now", .unruled),
    Vector(middle, "Bash", "deploy  prod", .unruled),
])
func allowPatternForms(_ vector: Vector) throws { try check(vector) }

@Test(arguments: [
    Vector(npm, "Bash", "npm install", .allow),
    Vector(npm, "Bash", "npm", .allow),
    Vector(npm, "Bash", "npmx install", .unruled),
    Vector(npm, "Bash", "npm install && mytool x", .unruled),
    Vector(npm, "Bash", "npm test; npm run build", .allow),
    Vector(npm, "Bash", "npm test | mytool", .unruled),
    Vector(npm, "Bash", "npm test || mytool x", .unruled),
    Vector(npm, "Bash", "npm test & mytool x", .unruled),
    Vector(npm, "Bash", "npm test\nmytool x", .unruled),
    Vector(npm, "Bash", "npm $(mytool x)", .unruled),
    Vector(npm, "Bash", "npm `mytool x`", .unruled),
    Vector(npm, "Bash", "npm test > out.txt", .unruled),
])
func compoundCommandsNeedEveryPartAllowed(_ vector: Vector) throws { try check(vector) }

@Test(arguments: [
    Vector(safe, "Bash", "timeout 5 safe-cmd a", .allow),
    Vector(safe, "Bash", "nohup safe-cmd a", .allow),
    Vector(safe, "Bash", "nice safe-cmd a", .allow),
    Vector(safe, "Bash", "time safe-cmd a", .allow),
    Vector(safe, "Bash", "command safe-cmd a", .allow),
    Vector(safe, "Bash", "env safe-cmd a", .unruled),
    Vector(safe, "Bash", "bash -c 'safe-cmd a'", .unruled),
    Vector(safe, "Bash", "sh -c 'safe-cmd a'", .unruled),
    Vector(safe, "Bash", "xargs safe-cmd < /dev/null", .allow),
    Vector(safe, "Bash", "FOO=bar safe-cmd a", .unruled),
    Vector(safe, "Bash", "NODE_ENV=test safe-cmd a", .allow),
    Vector(safe, "Bash", "/home/dev/work/fakebin/safe-cmd a", .unruled),
    Vector(safe, "Bash", "safe-cmd a; safe-cmd b", .allow),
    Vector(safe, "Bash", "safe-cmd a && other-cmd b", .unruled),
    Vector(safe, "Bash", "cd /home/dev/work/w6 && safe-cmd a", .allow),
])
func allowSeesThroughOnlyClaudeCodesWrappers(_ vector: Vector) throws { try check(vector) }

@Test(arguments: [
    Vector(denyMytool, "Bash", "mytool x", .deny),
    Vector(denyMytool, "Bash", "mytool", .deny),
    Vector(denyMytool, "Bash", "mytoolx y", .allow),
    Vector(denyMytool, "Bash", "FOO=bar mytool x", .deny),
    Vector(denyMytool, "Bash", "echo hi && mytool x", .deny),
    Vector(denyMytool, "Bash", "echo $(mytool x)", .deny),
    Vector(denyMytool, "Bash", "echo `mytool x`", .deny),
    Vector(denyMytool, "Bash", "timeout 3 mytool x", .deny),
    Vector(denyMytool, "Bash", "/home/dev/work/fakebin/mytool x", .deny),
    Vector(denyMytool, "Bash", "\\mytool x", .deny),
    Vector(denyMytool, "Bash", "command mytool x", .deny),
    Vector(denyMytool, "Bash", "m=mytool; $m x", .deny),
    Vector(denyMytool, "Bash", "xargs mytool < /dev/null", .deny),
    Vector(denyMytool, "Bash", "env mytool x", .deny),
    Vector(denyMytool, "Bash", "nohup mytool x", .deny),
    Vector(denyMytool, "Bash", "'mytool' x", .deny),
    Vector(denyMytool, "Bash", "mytool\tx", .deny),
    Vector(denyMytool, "Bash", "(mytool x)", .deny),
    Vector(denyMytool, "Bash", "{ mytool x; }", .deny),
    Vector(denyMytool, "Bash", "if true; then mytool x; fi", .deny),
    Vector(denyMytool, "Bash", "echo x | mytool", .deny),
    Vector(denyNoSpace, "Bash", "mytoolx y", .deny),
    Vector(denyNoSpace, "Bash", "mytool y", .deny),
    Vector(askDeploy, "Bash", "deploy prod", .ask),
    Vector(askDeploy, "Bash", "echo hi; deploy x", .ask),
    Vector(askDeploy, "Bash", "mytool x", .allow),
])
func denyAndAskHoldForEveryPart(_ vector: Vector) throws { try check(vector) }

@Test(arguments: [
    Vector(Rules(allow: ["Bash"]), "Bash", "mytool x", .allow),
    Vector(Rules(allow: ["Bash"]), "Bash", "bash -c 'mytool x'", .allow),
    Vector(Rules(allow: ["Bash"]), "Bash", "rm -rf /home/dev/work/w6/nonexist", .allow),
    Vector(Rules(allow: ["Bash"]), "Bash", "echo $(mytool)", .allow),
    Vector(Rules(deny: ["Bash"]), "Bash", "echo hi", .deny),
    Vector(Rules(allow: ["Bash(*)"]), "Bash", "mytool x", .allow),
    Vector(
        Rules(allow: ["Bash"], deny: ["Bash(run_in_background:true)"]), "Bash",
        #"{"command": "mytool bg", "run_in_background": true}"#, .deny),
    Vector(Rules(allow: ["Bash"], deny: ["Bash(run_in_background:true)"]), "Bash", "mytool fg", .allow),
])
func bareToolAndParameterRules(_ vector: Vector) throws { try check(vector) }
