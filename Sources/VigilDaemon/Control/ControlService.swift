// SPDX-License-Identifier: Apache-2.0
// The local API on the Unix socket (mode 0666: every user may connect). The kernel says who is
// calling (SO_PEERCRED); each user sees and starts only their own sessions, root sees everything
// and alone may reload the policy.
//
//   GET  /v1/status              DaemonStatus
//   POST /v1/sessions            start a session for the calling process (`vigil claude`)
//   GET  /v1/sessions            the caller's sessions (live and recent)
//   GET  /v1/sessions/ID         one session: record and timeline
//   POST /v1/policy/reload       root only
//   POST /v1/login               start binding the caller's OS account to a person (`vigil login`)
//   POST /v1/login/ID            complete it with the person's one-time code
import Foundation
import Glibc
import ServiceLifecycle
import Synchronization
import VigilAPI
import VigilAudit
import VigilClaude
import VigilCore
import VigilEnforcement
import VigilFleet
import VigilHost
import VigilPolicy
import VigilPosture
import VigilRuntime
import VigilSensor
import VigilTransport

final class ControlService: Service, Sendable {
    let socketPath: String
    private let sessions: SessionRegistry
    private let policy: PolicyService
    private let journal: DaemonJournal
    private let status: StatusReport
    private let server = Mutex<HTTPServer?>(nil)

    init(socketPath: String, sessions: SessionRegistry, policy: PolicyService, journal: DaemonJournal, status: StatusReport) {
        self.socketPath = socketPath
        self.sessions = sessions
        self.policy = policy
        self.journal = journal
        self.status = status
    }

    /// Starts listening on the socket (before the group runs).
    func listen() throws(DaemonError) {
        let socketDirectory = (socketPath as NSString).deletingLastPathComponent
        try DaemonFiles.makeDirectory(socketDirectory, mode: 0o755)
        do {
            let control = try HTTPServer(listener: .unix(path: socketPath, mode: 0o666)) { [self] request, connection in
                handle(request, credentials: connection.peerCredentials)
            }
            server.withLock { $0 = control }
        } catch {
            throw DaemonError("vigild: the API socket cannot listen: \(error)")
        }
    }

    /// Stops the listener (also when the start fails half-way).
    func stop() { server.withLock { $0 }?.stop() }

    func run() async throws {
        try? await gracefulShutdown()
        stop()
    }

    func handle(_ request: HTTPRequest, credentials: PeerCredentials?) -> HTTPResponse {
        guard let caller = credentials else {
            return .text(status: 403, "vigild: the caller's credentials are unknown\n")
        }
        let path = request.path.split(separator: "?").first.map(String.init) ?? request.path
        switch (request.method, path) {
        case ("GET", "/v1/status"):
            return Self.json(status.status(for: caller.uid))
        case ("POST", "/v1/sessions"):
            let body: SessionRequest
            do {
                body = try JSONDecoder().decode(SessionRequest.self, from: Data(request.body))
            } catch {
                return .text(status: 400, "vigild: a session request is {\"cwd\":…,\"argv\":[…]}: \(error)\n")
            }
            // One user cannot fill the machine with sessions (each holds a cgroup and kernel map entries).
            let live = sessions.liveCount(uid: caller.uid)
            guard caller.uid == 0 || live < Self.maximumSessionsPerUser else {
                return .text(
                    status: 429, "vigild: uid \(caller.uid) already has \(live) live sessions (the limit is \(Self.maximumSessionsPerUser))\n")
            }
            do {
                let record = try sessions.startSession(root: caller.pid, uid: caller.uid, origin: .wrapped, cwd: body.cwd)
                return Self.json(SessionGrant(session: record.id, cgroup: record.cgroup))
            } catch {
                journal.noteError(
                    "session for pid \(caller.pid) (uid \(caller.uid)) not started: \(error)",
                    metadata: ["process.pid": "\(caller.pid)", "user.id": "\(caller.uid)"])
                return .text(status: error.kind == .refused ? 403 : 500, "vigild: \(error)\n")
            }
        case ("GET", "/v1/sessions"):
            return Self.json(sessions.records(visibleTo: caller.uid))
        case ("GET", _) where path.hasPrefix("/v1/sessions/"):
            let id = String(path.dropFirst("/v1/sessions/".count))
            guard id.count == 16, id.allSatisfy(\.isHexDigit) else {
                return .text(status: 400, "vigild: a session id is 16 hex digits, got '\(id)'\n")
            }
            guard let record = sessions.record(id: id) else { return .text(status: 404, "vigild: no session \(id)\n") }
            guard caller.uid == 0 || record.uid == caller.uid else {
                return .text(status: 403, "vigild: session \(id) belongs to another user\n")
            }
            sessions.flushTimelines()
            let timeline = sessions.store.timeline(id)
            return Self.json(
                SessionDetail(
                    record: record, timeline: timeline.records, unreadableTimelineLines: timeline.unreadable,
                    conversation: sessions.store.conversation(id)))
        case ("POST", "/v1/login"),
            ("POST", _) where path.hasPrefix("/v1/login/"):
            return login(request, path: path, caller: caller)
        case ("POST", "/v1/policy/reload"):
            guard caller.uid == 0 else { return .text(status: 403, "vigild: only root may reload the policy\n") }
            switch policy.reload(trigger: "vigil policy reload (pid \(caller.pid))") {
            case .success(let version): return .text(status: 200, "policy \(version) in force\n")
            case .failure(let error): return .text(status: 422, "\(error)\n(the previous policy stays in force)\n")
            }
        default:
            return .text(status: 404, "vigild: no such endpoint \(request.method) \(path)\n")
        }
    }

    static let maximumSessionsPerUser = 64

    /// `vigil login`: the console does the binding; vigild speaks for the caller's uid (the kernel's
    /// word), never for one the body names. Root is refused: a person is bound to their own account.
    private func login(_ request: HTTPRequest, path: String, caller: PeerCredentials) -> HTTPResponse {
        guard caller.uid != 0 else {
            return .text(status: 403, "vigild: run vigil login as the developer whose account it binds, not as root\n")
        }
        guard let client = sessions.bindings.client else {
            return .text(status: 409, "vigild: this device is not enrolled to a console (vigil enroll), so there is no one to log in to\n")
        }
        let account = Accounts.lookup(uid: caller.uid)
        let bindings = sessions.bindings
        if path == "/v1/login" {
            guard let ask = try? JSONDecoder().decode(LocalLoginRequest.self, from: Data(request.body)) else {
                return .text(status: 400, "vigild: a login request is {\"email\":…}\n")
            }
            let start = LoginStartRequest(uid: caller.uid, user: account.name, email: ask.email)
            return Self.answer(HumanBindings.blocking(.seconds(15)) { () async throws(FleetError) in try await client.startLogin(start) })
        }
        let id = String(path.dropFirst("/v1/login/".count))
        guard let ask = try? JSONDecoder().decode(LocalLoginCode.self, from: Data(request.body)) else {
            return .text(status: 400, "vigild: a login's completion is {\"code\":…}\n")
        }
        let outcome = HumanBindings.blocking(.seconds(15)) { () async throws(FleetError) in
            try await client.completeLogin(id: id, uid: caller.uid, code: ask.code)
        }
        if case .success(let binding) = outcome { bindings.remember(binding) }
        return Self.answer(outcome)
    }

    /// The console's answer, or its refusal with its status and reason.
    private static func answer(_ outcome: Result<some Encodable, FleetError>) -> HTTPResponse {
        switch outcome {
        case .success(let value): return json(value)
        case .failure(let error): return .text(status: error.status ?? 502, "vigild: \(error)\n")
        }
    }

    static func json(_ value: some Encodable) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return .text(status: 500, "vigild: cannot encode the answer\n") }
        return .json(status: 200, Array(data))
    }
}
