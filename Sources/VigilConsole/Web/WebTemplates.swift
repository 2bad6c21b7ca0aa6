// SPDX-License-Identifier: Apache-2.0
// The web console's pages, as mustache templates (swift-mustache) compiled into the binary, so an
// installed console needs no files beside it. `{{x}}` escapes HTML; nothing here uses `{{{x}}}`.
// Every page extends `layout` (mustache template inheritance). Pages work without JavaScript.
import VigilAudit
import HTTPTypes
import Mustache

enum WebTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in templates {
            do {
                try library.register(text, named: name)
            } catch {
                fatalError("web template \(name) does not parse: \(error)")  // a build defect: a test renders every page
            }
        }
        return library
    }()

    static let templates: [String: String] = [
        "layout": """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{$title}}Vigil{{/title}} · Vigil console</title>
        <link rel="stylesheet" href="/static/console.css">
        <script src="/static/console.js" defer></script>
        </head>
        <body>
        <header>
          <a class="brand" href="/">Vigil</a>
          {{#identity}}
          <nav>
            <a href="/" {{#navDashboard}}aria-current="page"{{/navDashboard}}>Dashboard</a>
            <a href="/devices" {{#navDevices}}aria-current="page"{{/navDevices}}>Devices</a>
            <a href="/policy" {{#navPolicy}}aria-current="page"{{/navPolicy}}>Policy</a>
            <a href="/tokens" {{#navTokens}}aria-current="page"{{/navTokens}}>Tokens</a>
            <a href="/people" {{#navPeople}}aria-current="page"{{/navPeople}}>People</a>
            <a href="/admins" {{#navAdmins}}aria-current="page"{{/navAdmins}}>Admins</a>
            <a href="/audit" {{#navAudit}}aria-current="page"{{/navAudit}}>Audit log</a>
          </nav>
          <div class="who">
            <a href="/account">{{name}}</a> <span class="role">{{role}}</span>
            <form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button class="link">Log out</button></form>
          </div>
          {{/identity}}
        </header>
        <main {{#live}}data-live="{{live}}"{{/live}}>
        {{#flash}}<p class="flash {{kind}}" role="status">{{text}}</p>{{/flash}}
        {{$body}}{{/body}}
        </main>
        </body>
        </html>
        """,

        "login": """
        {{<layout}}{{$title}}Log in{{/title}}{{$body}}
        <section class="narrow">
          <h1>Log in</h1>
          <form method="post" action="/login" class="stack">
            <input type="hidden" name="login" value="{{loginToken}}">
            <input type="hidden" name="next" value="{{next}}">
            <label>Name <input name="name" autocomplete="username" required autofocus></label>
            <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
            <label>Code <span class="hint">(if TOTP is on for the account)</span> <input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*"></label>
            <button>Log in</button>
          </form>
        </section>
        {{/body}}{{/layout}}
        """,

        "password": """
        {{<layout}}{{$title}}Password{{/title}}{{$body}}
        <section class="narrow">
          <h1>Set your password</h1>
          {{#temporary}}<p>Your account has a one-time password. Choose your own to go on.</p>{{/temporary}}
          <form method="post" action="/account/password" class="stack">
            <input type="hidden" name="csrf" value="{{identity.csrf}}">
            <label>Current password <input name="current" type="password" autocomplete="current-password" required></label>
            <label>New password <span class="hint">(12 to 72 characters)</span> <input name="new" type="password" autocomplete="new-password" minlength="12" maxlength="72" required></label>
            <label>New password again <input name="again" type="password" autocomplete="new-password" required></label>
            <button>Set password</button>
          </form>
        </section>
        {{/body}}{{/layout}}
        """,

        "account": """
        {{<layout}}{{$title}}Account{{/title}}{{$body}}
        <h1>{{identity.name}}</h1>
        <p>Role: <strong>{{identity.role}}</strong>. <a href="/account/password">Change password</a></p>
        <h2>Two-factor login (TOTP)</h2>
        {{#totpOn}}<p>TOTP is on: every login asks for a code from your authenticator. An admin can reset it.</p>{{/totpOn}}
        {{^totpOn}}
        <p>Add this secret to an authenticator app (RFC 6238, 6 digits, 30 s), then enter the code it shows.</p>
        <p><code class="secret" id="totp-secret">{{secret}}</code></p>
        <p class="hint"><code>{{otpauth}}</code></p>
        <form method="post" action="/account/totp" class="stack narrow">
          <input type="hidden" name="csrf" value="{{identity.csrf}}">
          <input type="hidden" name="secret" value="{{secret}}">
          <label>Code <input name="code" inputmode="numeric" autocomplete="one-time-code" required></label>
          <button>Turn TOTP on</button>
        </form>
        {{/totpOn}}
        {{/body}}{{/layout}}
        """,

        "dashboard": """
        {{<layout}}{{$title}}Dashboard{{/title}}{{$body}}
        <h1>Dashboard</h1>
        <div class="cards">
          <div class="card"><span class="n" id="enrolled">{{o.enrolled}}</span> devices enrolled</div>
          <div class="card"><span class="n" id="reporting">{{o.reporting}}</span> reporting</div>
          <div class="card"><span class="n" id="sessions-count">{{sessionCount}}</span> agent sessions</div>
          <div class="card {{#hasOutside}}warn{{/hasOutside}}"><span class="n">{{outsideCount}}</span> agents outside Vigil</div>
          <div class="card"><span class="n">{{o.latestPolicy}}</span> policy, on {{o.onLatestPolicy}} devices</div>
          <div class="card {{#hasGaps}}warn{{/hasGaps}}"><span class="n" id="gap-count">{{gapCount}}</span> adoption gaps</div>
        </div>
        <h2>Adoption gaps</h2>
        {{#hasGaps}}
        <table id="gaps"><thead><tr><th>Device</th><th>Gap</th><th>Detail</th></tr></thead><tbody>
        {{#o.gaps}}<tr><td><a href="/devices/{{device}}">{{hostname}}</a></td><td><span class="tag {{kind}}">{{kind}}</span></td><td>{{detail}}</td></tr>{{/o.gaps}}
        </tbody></table>
        {{/hasGaps}}
        {{^hasGaps}}<p class="ok">None: every device reports, has its hooks and runs the current policy.</p>{{/hasGaps}}
        <h2>Active agent sessions</h2>
        {{#hasSessions}}
        <table id="sessions"><thead><tr><th>Device</th><th>Agent</th><th>User</th><th>Started</th><th>Tool calls</th><th>Denied</th></tr></thead><tbody>
        {{#o.sessions}}<tr><td><a href="/devices/{{device}}">{{hostname}}</a></td><td>{{session.agent}}</td><td>{{session.user}}</td><td>{{started}}</td><td>{{session.toolCalls}}</td><td>{{session.denied}}</td></tr>{{/o.sessions}}
        </tbody></table>
        {{/hasSessions}}
        {{^hasSessions}}<p>No agent session runs right now.</p>{{/hasSessions}}
        <h2>Agents running outside Vigil</h2>
        {{#hasOutside}}
        <table id="outside"><thead><tr><th>Device</th><th>Agent</th><th>PID</th><th>User</th><th>Binary</th></tr></thead><tbody>
        {{#o.outsideAgents}}<tr><td><a href="/devices/{{device}}">{{hostname}}</a></td><td>{{agent.agent}}</td><td>{{agent.pid}}</td><td>{{agent.user}}</td><td><code>{{agent.exe}}</code></td></tr>{{/o.outsideAgents}}
        </tbody></table>
        {{/hasOutside}}
        {{^hasOutside}}<p>None seen.</p>{{/hasOutside}}
        <h2>Drops and errors, fleet-wide</h2>
        {{#hasCounters}}<table class="compact" id="counters"><tbody>{{#counters}}<tr><td>{{name}}</td><td class="num">{{value}}</td></tr>{{/counters}}</tbody></table>{{/hasCounters}}
        {{^hasCounters}}<p>No device has reported yet.</p>{{/hasCounters}}
        {{/body}}{{/layout}}
        """,

        "devices": """
        {{<layout}}{{$title}}Devices{{/title}}{{$body}}
        <h1>Devices</h1>
        <table id="devices"><thead><tr><th>Hostname</th><th>Team</th><th>OS</th><th>Vigil</th><th>Mode</th><th>Policy</th><th>Last seen</th><th>Posture</th><th>Drops / errors</th><th>State</th></tr></thead><tbody>
        {{#devices}}<tr class="{{#revoked}}revoked{{/revoked}}">
          <td><a href="/devices/{{id}}">{{hostname}}</a></td><td>{{team}}</td><td>{{os}}</td><td>{{vigil}}</td><td>{{mode}}</td>
          <td>{{policy}}</td><td>{{lastSeen}}</td><td class="posture">{{posture}}</td><td class="num">{{drops}} / {{errors}}</td><td>{{state}}</td></tr>{{/devices}}
        </tbody></table>
        {{^devices}}<p>No device is enrolled yet. Issue a token on the <a href="/tokens">Tokens</a> page and run <code>sudo vigil enroll TOKEN</code> on a device.</p>{{/devices}}
        {{/body}}{{/layout}}
        """,

        "device": """
        {{<layout}}{{$title}}{{hostname}}{{/title}}{{$body}}
        <h1>{{hostname}} <span class="tag">{{state}}</span></h1>
        <dl class="facts">
          <dt>Device</dt><dd><code>{{d.device.id}}</code></dd>
          <dt>Key</dt><dd><code>{{d.device.keyID}}</code></dd>
          <dt>Key kind</dt><dd><code>{{d.device.keyKind}}</code>, {{d.device.keyHolder}}</dd>
          <dt>Team</dt><dd>{{d.device.team}}</dd>
          <dt>OS / kernel</dt><dd>{{d.device.facts.os}} / {{d.device.facts.kernel}}</dd>
          <dt>Vigil</dt><dd>{{d.device.facts.vigilVersion}}, {{d.device.facts.enforcementMode}}</dd>
          <dt>Policy in force</dt><dd>{{policy}}</dd>
          <dt>Enrolled</dt><dd>{{enrolled}}</dd>
          <dt>Last seen</dt><dd>{{lastSeen}}</dd>
          <dt>Hooks drop-in</dt><dd>{{hooks}}</dd>
          {{#d.revokedReason}}<dt>Revoked because</dt><dd>{{d.revokedReason}}</dd>{{/d.revokedReason}}
        </dl>
        {{#mayRevoke}}
        <form method="post" action="/devices/{{d.device.id}}/revoke" class="inline danger">
          <input type="hidden" name="csrf" value="{{identity.csrf}}">
          <label>Reason <input name="reason" required></label> <button class="danger" id="revoke">Revoke device</button>
        </form>
        {{/mayRevoke}}
        <h2>Agent sessions</h2>
        <table><thead><tr><th>Session</th><th>Agent</th><th>User</th><th>Started</th><th>Tool calls</th><th>Denied</th></tr></thead><tbody>
        {{#d.activity.sessions}}<tr><td><code>{{id}}</code></td><td>{{agent}}</td><td>{{user}}</td><td>{{startedAt}}</td><td>{{toolCalls}}</td><td>{{denied}}</td></tr>{{/d.activity.sessions}}
        </tbody></table>
        <h2>Counters</h2>
        <table class="compact"><tbody>{{#counters}}<tr><td>{{name}}</td><td class="num">{{value}}</td></tr>{{/counters}}</tbody></table>
        <h2>Posture history</h2>
        <table id="posture-history"><thead><tr><th>Reported</th><th>Policy</th><th>Mode</th><th>Posture</th></tr></thead><tbody>
        {{#history}}<tr class="{{#changed}}changed{{/changed}}"><td>{{at}}</td><td>{{policy}}</td><td>{{mode}}</td><td class="posture">{{posture}}</td></tr>{{/history}}
        </tbody></table>
        {{/body}}{{/layout}}
        """,

        "policy": """
        {{<layout}}{{$title}}Policy{{/title}}{{$body}}
        <h1>Policy {{#latest}}v{{version}}{{/latest}}</h1>
        {{#latest}}<p class="hint">By {{author}}, {{created}}{{#comment}}: “{{comment}}”{{/comment}}</p>{{/latest}}
        {{#rowsError}}<p class="flash error">{{rowsError}}</p>{{/rowsError}}
        <h2>Rules</h2>
        <p class="hint">In order; the most specific matching rule decides, deny over ask over allow unless a rule overrides another. A tool call no rule matches: <strong>{{defaultTool}}</strong>.</p>
        <table id="rows"><thead><tr><th>Id</th><th>Match</th><th>Action</th><th>Scope</th><th>Posture</th><th>Overrides</th><th>Reason</th>{{#mayEdit}}<th></th>{{/mayEdit}}</tr></thead><tbody>
        {{#rows}}<tr><td><code>{{id}}</code></td><td><code>{{match}}</code></td><td><span class="tag action-{{action}}">{{action}}</span></td><td>{{scope}}</td><td class="posture">{{when}}</td><td>{{overrides}}</td><td>{{reason}}</td>
        {{#mayEdit}}<td><form method="post" action="/policy/rows/{{id}}/delete" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="base" value="{{base}}"><button class="link">delete</button></form></td>{{/mayEdit}}</tr>{{/rows}}
        </tbody></table>
        {{#mayEdit}}
        <h2>Add a rule</h2>
        <form method="post" action="/policy/rows" class="inline" id="add-rule">
          <input type="hidden" name="csrf" value="{{identity.csrf}}">
          <input type="hidden" name="base" value="{{base}}">
          <label>Match <input name="match" placeholder="Bash(terraform *)" required size="28"></label>
          <label>Action <select name="action"><option value="deny">deny</option><option value="ask">ask</option><option value="allow">allow</option></select></label>
          <label>Scope <select name="scope_kind"><option value="everyone">everyone</option><option value="team">team</option><option value="role">role</option><option value="user">user</option><option value="device">device</option><option value="identity">identity (verified, unverified)</option></select></label>
          <label>Who <input name="scope_value" placeholder="infra, web" size="12"></label>
          <label>Posture <input name="when" placeholder="disk_encrypted == false" size="22"></label>
          <label>Overrides <input name="overrides" placeholder="rule ids" size="12"></label>
          <label>Reason <input name="reason" size="30"></label>
          <label>Id <input name="id" placeholder="(from the match)" size="14"></label>
          <button>Add and publish</button>
        </form>
        <h2>Import from settings.json</h2>
        <form method="post" action="/policy/import" class="stack" id="import">
          <input type="hidden" name="csrf" value="{{identity.csrf}}">
          <input type="hidden" name="base" value="{{base}}">
          <textarea name="settings" rows="6" spellcheck="false" placeholder='{"permissions": {"deny": ["Bash(curl *)"], "allow": ["Bash(npm *)"]}}'></textarea>
          <div class="inline">
            <label>Layer <select name="layer"><option value="managed">managed</option><option value="user">user</option><option value="project">project</option><option value="local">local</option></select></label>
            <label>An id already taken <select name="on_clash"><option value="refuse">refuse the import</option><option value="rename">rename the imported rule</option><option value="replace">replace the rule</option></select></label>
            <button>Import and publish</button>
          </div>
        </form>
        {{/mayEdit}}
        <h2>Versions</h2>
        <table id="versions"><thead><tr><th>Version</th><th>Author</th><th>When</th><th>Comment</th><th></th></tr></thead><tbody>
        {{#versions}}<tr><td><a href="/policy/versions/{{version}}">v{{version}}</a></td><td>{{author}}</td><td>{{created}}</td><td>{{comment}}</td><td>{{#previous}}<a href="/policy/diff?from={{previous}}&amp;to={{version}}">diff</a>{{/previous}}</td></tr>{{/versions}}
        </tbody></table>
        {{#mayEdit}}
        <h2>Edit the document</h2>
        <form method="post" action="/policy" class="stack" id="edit-document">
          <input type="hidden" name="csrf" value="{{identity.csrf}}">
          <input type="hidden" name="base" value="{{base}}">
          <textarea name="document" rows="24" spellcheck="false" id="document">{{document}}</textarea>
          <label>Comment <input name="comment"></label>
          <button>Publish a new version</button>
        </form>
        {{/mayEdit}}
        {{^mayEdit}}<h2>Document</h2><pre class="document">{{document}}</pre>{{/mayEdit}}
        {{/body}}{{/layout}}
        """,

        "policyVersion": """
        {{<layout}}{{$title}}Policy v{{bundle.version}}{{/title}}{{$body}}
        <h1>Policy v{{bundle.version}}</h1>
        <p class="hint">By {{bundle.author}}, {{created}}{{#bundle.comment}}: “{{bundle.comment}}”{{/bundle.comment}}</p>
        <pre class="document">{{bundle.document}}</pre>
        {{/body}}{{/layout}}
        """,

        "policyDiff": """
        {{<layout}}{{$title}}Diff v{{from}} → v{{to}}{{/title}}{{$body}}
        <h1>v{{from}} → v{{to}}</h1>
        <pre class="diff">{{#lines}}<span class="{{kind}}">{{text}}</span>
        {{/lines}}</pre>
        {{/body}}{{/layout}}
        """,

        "tokens": """
        {{<layout}}{{$title}}Enrolment tokens{{/title}}{{$body}}
        <h1>Enrolment tokens</h1>
        {{#issued}}
        <div class="issued" id="issued-token">
          <p>Token <code>{{id}}</code> — shown once. On each device, as root:</p>
          <pre class="token">sudo vigil enroll {{token}}</pre>
        </div>
        {{/issued}}
        {{#mayAdminister}}
        <form method="post" action="/tokens" class="inline">
          <input type="hidden" name="csrf" value="{{identity.csrf}}">
          <label>Team <input name="team" placeholder="(none)"></label>
          <label>Expires in days <input name="days" type="number" min="1" max="365" value="7"></label>
          <label>Uses <input name="uses" type="number" min="1" max="100000" value="1"></label>
          <label><input name="require_tpm" type="checkbox" value="1"> Only TPM-held device keys</label>
          <button>Issue token</button>
        </form>
        {{/mayAdminister}}
        <table id="tokens"><thead><tr><th>Token</th><th>Team</th><th>Issued by</th><th>Created</th><th>Expires</th><th>Uses left</th><th>Device keys</th><th>State</th><th></th></tr></thead><tbody>
        {{#tokens}}<tr><td><code>{{id}}</code></td><td>{{team}}</td><td>{{issuedBy}}</td><td>{{created}}</td><td>{{expires}}</td><td class="num">{{usesLeft}}</td><td>{{keys}}</td><td>{{state}}</td>
        <td>{{#revocable}}<form method="post" action="/tokens/{{id}}/revoke" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button class="link">revoke</button></form>{{/revocable}}</td></tr>{{/tokens}}
        </tbody></table>
        {{/body}}{{/layout}}
        """,

        "people": """
        {{<layout}}{{$title}}People{{/title}}{{$body}}
        <h1>People</h1>
        <p>The people OS accounts of devices are bound to: a developer runs <code>vigil login EMAIL</code> on their device,
        an admin who knows it is them reads out the login's code below, they enter it, and policy scopes decide their
        calls by the teams and roles here.</p>
        {{#mayAdminister}}
        <h2>Logins waiting for their code</h2>
        <table id="logins"><thead><tr><th>Code</th><th>Email</th><th>Device</th><th>Account</th><th>Expires</th><th>Attempts left</th></tr></thead><tbody>
        {{#logins}}<tr><td><code class="code">{{code}}</code></td><td>{{email}}</td><td><a href="/devices/{{device}}">{{device}}</a></td><td>{{account}}</td><td>{{expires}}</td><td class="num">{{attemptsLeft}}</td></tr>{{/logins}}
        </tbody></table>
        <form method="post" action="/people" class="inline">
          <input type="hidden" name="csrf" value="{{identity.csrf}}">
          <label>Email <input name="email" type="email" required></label>
          <label>Teams <input name="teams" placeholder="infra, sre"></label>
          <label>Roles <input name="roles" placeholder="engineer"></label>
          <button>Add or change</button>
        </form>
        {{/mayAdminister}}
        <table id="people"><thead><tr><th>Email</th><th>Teams</th><th>Roles</th><th>Set by</th></tr></thead><tbody>
        {{#people}}<tr><td>{{email}}</td><td>{{teams}}</td><td>{{roles}}</td><td>{{setBy}}</td></tr>{{/people}}
        </tbody></table>
        <h2>Bindings</h2>
        <table id="bindings"><thead><tr><th>Device</th><th>Account</th><th>Person</th><th>Verified</th><th>Expires</th><th>State</th></tr></thead><tbody>
        {{#bindings}}<tr><td><a href="/devices/{{device}}">{{device}}</a></td><td>{{account}}</td><td>{{email}}</td><td>{{verified}}</td><td>{{expires}}</td><td>{{state}}</td></tr>{{/bindings}}
        </tbody></table>
        {{/body}}{{/layout}}
        """,

        "admins": """
        {{<layout}}{{$title}}Admins{{/title}}{{$body}}
        <h1>Admins</h1>
        {{#added}}
        <div class="issued" id="added-admin"><p>Account <strong>{{name}}</strong> ({{role}}) made. Its one-time password, shown once:</p><pre class="token">{{password}}</pre></div>
        {{/added}}
        {{#mayAdminister}}
        <form method="post" action="/admins" class="inline">
          <input type="hidden" name="csrf" value="{{identity.csrf}}">
          <label>Name <input name="name" required></label>
          <label>Role <select name="role"><option value="auditor">auditor (read-only)</option><option value="policy-editor">policy editor</option><option value="admin">admin</option></select></label>
          <button>Add admin</button>
        </form>
        {{/mayAdminister}}
        <table id="admins"><thead><tr><th>Name</th><th>Role</th><th>TOTP</th><th>Created</th><th>By</th><th>State</th><th></th></tr></thead><tbody>
        {{#admins}}<tr><td>{{name}}</td><td>{{role}}</td><td>{{totp}}</td><td>{{created}}</td><td>{{createdBy}}</td><td>{{state}}</td>
        <td>{{#manage}}<form method="post" action="/admins/{{name}}" class="inline"><input type="hidden" name="csrf" value="{{csrf}}">
          <select name="role"><option value="">role…</option><option value="auditor">auditor</option><option value="policy-editor">policy editor</option><option value="admin">admin</option></select>
          <select name="disabled"><option value="">state…</option><option value="true">disable</option><option value="false">enable</option></select>
          <label class="check"><input type="checkbox" name="resetTOTP" value="true"> reset TOTP</label>
          <button class="link">apply</button></form>{{/manage}}</td></tr>{{/admins}}
        </tbody></table>
        {{/body}}{{/layout}}
        """,

        "audit": """
        {{<layout}}{{$title}}Audit log{{/title}}{{$body}}
        <h1>Console audit log</h1>
        <p class="hint">The console's own signed log ({{origin}}), newest first; verify it offline with <code>vigil audit verify {{directory}}</code>.</p>
        <table id="audit"><thead><tr><th>#</th><th>When</th><th>Action</th><th>Actor</th><th>Target</th><th>Decision</th><th>Reason</th></tr></thead><tbody>
        {{#entries}}<tr class="{{decision}}"><td class="num">{{seq}}</td><td>{{at}}</td><td>{{action}}</td><td>{{actor}}</td><td>{{target}}</td><td>{{decision}}</td><td>{{reason}}</td></tr>{{/entries}}
        </tbody></table>
        {{/body}}{{/layout}}
        """,

        "error": """
        {{<layout}}{{$title}}{{status}}{{/title}}{{$body}}
        <h1>{{status}}</h1>
        <p class="flash error" role="alert">{{reason}}</p>
        <p><a href="{{back}}">Back</a></p>
        {{/body}}{{/layout}}
        """,
    ]
}
