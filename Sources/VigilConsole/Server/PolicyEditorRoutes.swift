// SPDX-License-Identifier: Apache-2.0
// The policy editor on the admin API's doors (the socket and HTTPS): the rows, edits of one row, a
// settings.json import, and the diff of two versions. Thin: every decision is PolicyEditor's; this
// asks the door who the caller is and maps the editor's refusals to statuses.
import Foundation
import Hummingbird
import HTTPTypes
import VigilPolicy

struct PolicyEditorRoutes: Sendable {
    let editor: PolicyEditor
    let door: AdminDoor

    func add(to admin: RouterGroup<ConsoleRequestContext>) {
        admin.get("policy/rows") { request, context in
            _ = try door.authorize(nil, context, .read)
            let version = try Self.intQuery(request, "version")
            return try await answer { try JSONResponse.make(try await editor.rows(version: version)) }
        }
        admin.post("policy/rows") { request, context in
            let ask = try await Self.body(AddPolicyRowRequest.self, request, "the new rule")
            let who = try door.authorize(ask.actor, context, .editPolicy)
            return try await edited(.created) {
                try await editor.addRow(ask.row, at: ask.position, base: ask.base, author: who, comment: ask.comment)
            }
        }
        // `**`: rule ids may contain `/`.
        admin.put("policy/rows/**") { request, context in
            let id = try Self.rowID(context)
            let ask = try await Self.body(UpdatePolicyRowRequest.self, request, "the changed rule")
            let who = try door.authorize(ask.actor, context, .editPolicy)
            return try await edited { try await editor.updateRow(id: id, to: ask.row, base: ask.base, author: who, comment: ask.comment) }
        }
        admin.delete("policy/rows/**") { request, context in
            let id = try Self.rowID(context)
            let ask = try await Self.body(DeletePolicyRowRequest.self, request, "the removal")
            let who = try door.authorize(ask.actor, context, .editPolicy)
            return try await edited { try await editor.deleteRow(id: id, base: ask.base, author: who, comment: ask.comment) }
        }
        admin.put("policy/defaults") { request, context in
            let ask = try await Self.body(PolicyDefaultsRequest.self, request, "the defaults")
            let who = try door.authorize(ask.actor, context, .editPolicy)
            return try await edited {
                try await editor.setDefaults(ask.defaults, label: ask.label, base: ask.base, author: who, comment: ask.comment)
            }
        }
        admin.post("policy/import") { request, context in
            let ask = try await Self.body(ImportSettingsRequest.self, request, "the import")
            let who = try door.authorize(ask.actor, context, .editPolicy)
            return try await edited(.created) {
                try await editor.importSettings(
                    ask.settings, layer: ask.layer, path: ask.path, onClash: ask.onClash ?? .refuse, base: ask.base, author: who, comment: ask.comment
                )
            }
        }
        admin.get("policy/diff") { request, context in
            _ = try door.authorize(nil, context, .read)
            guard let from = try Self.intQuery(request, "from"), let to = try Self.intQuery(request, "to") else {
                throw Refusal(.badRequest, "malformed_query", "the diff needs ?from=A&to=B (version numbers; 0 is the empty policy)")
            }
            return try await answer { try JSONResponse.make(try await editor.diff(from: from, to: to)) }
        }
    }

    private func edited(_ status: HTTPResponse.Status = .ok, _ edit: () async throws -> PolicyEditResult) async throws -> Response {
        try await answer { try JSONResponse.make(try await edit(), status: status) }
    }

    /// The editor's refusals as the admin API's: what was refused, with the status that says why.
    private func answer(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as PolicyEditError {
            throw Self.refusal(error)
        }
    }

    static func refusal(_ error: PolicyEditError) -> Refusal {
        let reason = error.description
        switch error {
        case .refused: return Refusal(.badRequest, "policy_invalid", reason)
        case .staleBase: return Refusal(.conflict, "stale_base", reason)
        case .noSuchRow: return Refusal(.notFound, "unknown_row", reason)
        case .rowExists: return Refusal(.conflict, "row_exists", reason)
        case .noSuchPosition: return Refusal(.badRequest, "bad_position", reason)
        case .noSuchVersion: return Refusal(.notFound, "unknown_version", reason)
        case .unchanged: return Refusal(.badRequest, "no_change", reason)
        case .settingsInvalid: return Refusal(.badRequest, "settings_invalid", reason)
        case .importClash: return Refusal(.conflict, "id_clash", reason)
        case .unreadable: return Refusal(.conflict, "unreadable_version", reason)
        }
    }

    private static func body<T: Decodable>(_ type: T.Type, _ request: Request, _ what: String) async throws -> T {
        try JSONResponse.decode(type, from: try await request.body.collect(upTo: 1 << 20), what: what)
    }

    private static func rowID(_ context: ConsoleRequestContext) throws -> String {
        let id = context.parameters.getCatchAll().joined(separator: "/")
        guard let decoded = id.removingPercentEncoding, !decoded.isEmpty else {
            throw Refusal(.badRequest, "malformed_path", "the path names no rule id")
        }
        return decoded
    }

    private static func intQuery(_ request: Request, _ name: String) throws -> Int? {
        guard let text = request.uri.queryParameters[name[...]] else { return nil }
        guard let value = Int(text), value >= 0 else { throw Refusal(.badRequest, "malformed_query", "\(name)=\(text) is not a version number") }
        return value
    }
}
