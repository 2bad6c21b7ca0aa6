// SPDX-License-Identifier: Apache-2.0
// One meaning per rule: for random Open rules over a random filesystem, the fanotify marks the planner
// places, the names the kernel matches by itself and `Policy.decide` agree on every file: a file a mark
// covers for a rule is denied by that rule, a file the rule denies is covered by its marks (when the rule
// is markable), and a rule the kernel matches by name denies exactly the files of that name.
import Foundation
import Testing
import VigilEnforcement
import VigilPolicy
import VigilRuntime
import VigilTestSupport

/// A filesystem held in a table: directories and files by absolute path.
private struct TableFileSystem: MarkFileSystem {
    var directories: Set<String>
    var files: Set<String>

    func kind(of path: String) -> FileKind? {
        directories.contains(path) ? .directory : files.contains(path) ? .file : nil
    }

    func names(in directory: String) -> [String]? {
        guard directories.contains(directory) else { return nil }
        return (directories.union(files)).compactMap { child(of: directory, $0) }
    }

    func subdirectories(of directory: String) -> [String]? {
        guard directories.contains(directory) else { return nil }
        return directories.compactMap { child(of: directory, $0) }
    }

    private func child(of directory: String, _ path: String) -> String? {
        let prefix = directory == "/" ? "/" : directory + "/"
        guard path.hasPrefix(prefix), path != directory else { return nil }
        let rest = path.dropFirst(prefix.count)
        return rest.contains("/") ? nil : String(rest)
    }
}

private let names = ["a.txt", "b.txt", "id_rsa", "id_ed25519", ".env", "x1.log", "x2.log", "notes", "[q].txt", "k?y"]
private let dirs = ["/srv", "/srv/app", "/srv/app/cfg", "/home/u", "/home/u/.aws", "/home/u/.aws/sso", "/tmp"]

private func randomRule(_ g: inout SeededGenerator) -> String {
    let dir = dirs.randomElement(using: &g)!
    let name = names.randomElement(using: &g)!
    switch Int.random(in: 0..<7, using: &g) {
    case 0: return "Open(\(dir)/**)"
    case 1: return "Open(\(dir)/*.txt)"
    case 2: return "Open(**/\(name))"
    case 3: return "Open(\(dir)/id_*)"
    case 4: return "Open(\(dir)/x?.log)"
    case 5: return "Open(\(dir)/[ab].txt)"
    default: return "Open(\(dir)/\(name))"
    }
}

private func covers(_ target: MarkTarget, _ file: String) -> Bool {
    let parent = String(file[..<file.lastIndex(of: "/")!])
    switch target.scope {
    case .file: return target.path == file
    case .children: return parent == target.path
    case .tree: return file.hasPrefix(target.path + "/")
    }
}

@Test func marksInKernelNamesAndDecisionsAgreeOnEveryFile() throws {
    var g = SeededGenerator(seed: 0x5EED_0012)
    for round in 0..<300 {
        var fs = TableFileSystem(directories: ["/", "/home"], files: [])
        for dir in dirs where Bool.random(using: &g) || dir == "/srv" { fs.directories.insert(dir) }
        // Parents exist for every directory kept.
        for dir in fs.directories {
            var p = dir; while let slash = p.lastIndex(of: "/"), slash != p.startIndex { p = String(p[..<slash]); fs.directories.insert(p) }
        }
        for dir in fs.directories {
            for name in names where Int.random(in: 0..<3, using: &g) == 0 { fs.files.insert((dir == "/" ? "" : dir) + "/" + name) }
        }
        let rule = randomRule(&g)
        let yaml = "vigil: 1\nrules:\n  - {id: r, match: '\(rule.replacingOccurrences(of: "'", with: "''"))', action: deny}\n"
        let policy = try Policy(yaml: yaml, file: "p.yaml")
        let plan = policy.kernelPlan(identity: Identity(user: "u"))
        let marks = MarkPlanner.plan(rules: plan.paths.map(\.rule), home: "/home/u", fileSystem: fs, matching: Policy.segmentMatches)
        let context = KernelContext(home: "/home/u")
        let inKernel = KernelDecider.openNames(plan)
        for file in fs.files.sorted() {
            let denied = policy.decide(.open(path: file, write: false), identity: Identity(user: "u"), context: context).action == .deny
            let marked = marks.targets.contains { covers($0, file) }
            let context = "round \(round): \(rule) on \(file); marks \(marks.targets), \(marks.notEnforceable)"
            // A mark covers only what the rule denies (a tree or a directory may hold files the rule does
            // not name: those are marked but decided, and allowed, by the policy).
            if marked, case .file = marks.targets.first(where: { covers($0, file) })!.scope { #expect(denied, "\(context)") }
            // What the rule denies is marked, unless the rule is reported as not markable.
            if denied, marks.notEnforceable.isEmpty { #expect(marked, "\(context)") }
            // The kernel's name check decides exactly what the policy decides for name rules.
            if !inKernel.isEmpty {
                let base = String(file[file.index(after: file.lastIndex(of: "/")!)...])
                #expect(inKernel.contains(base) == denied, "\(context); in kernel \(inKernel)")
            }
        }
    }
}
