// SPDX-License-Identifier: Apache-2.0
import Testing
@testable import VigilEnforcement
import VigilPolicy

/// A filesystem as a table: path → kind; directories list what the table holds below them.
struct FakeFileSystem: MarkFileSystem {
    var entries: [String: FileKind]

    init(_ entries: [String: FileKind]) {
        var all = entries
        // Every ancestor is a directory.
        for path in entries.keys {
            var parent = MarkPlanner.parentDirectory(path)
            while parent != "/" {
                all[parent] = .directory
                parent = MarkPlanner.parentDirectory(parent)
            }
        }
        all["/"] = .directory
        self.entries = all
    }

    func kind(of path: String) -> FileKind? { entries[path] }

    func names(in directory: String) -> [String]? {
        guard entries[directory] == .directory else { return nil }
        return entries.keys.filter { $0 != "/" && MarkPlanner.parentDirectory($0) == directory }
            .map { String($0.split(separator: "/").last!) }
    }

    func subdirectories(of directory: String) -> [String]? {
        names(in: directory)?.filter { entries[MarkPlanner.join(directory, $0)] == .directory }
    }
}

let fs = FakeFileSystem([
    "/home/u/.aws/credentials": .file,
    "/home/u/.aws/sso/cache/t.json": .file,
    "/home/u/.ssh/id_ed25519": .file,
    "/home/u/.ssh/id_old/key": .file,
    "/home/u/.ssh/known_hosts": .file,
    "/etc/shadow": .file,
    "/usr/bin/curl": .executable,
    "/usr/local/bin/curl": .executable,
    "/usr/bin/nc": .executable,
    "/usr/bin/nc.openbsd": .executable,
    "/usr/bin/ncal.txt": .file,
    "/usr/bin/git": .executable,
    "/opt/tools/bin/curl": .executable,
    "/srv/data/x": .file,
    "/tmp/x": .file,
])

@Suite struct MarkPlanTests {
    struct Row: Sendable, CustomStringConvertible {
        var rule: String
        var targets: [MarkTarget]
        var notEnforceable: String?  // a fragment of the reason
        var note: String? = nil
        var description: String { rule }
    }

    static let home = "/home/u"

    static let rows: [Row] = [
        Row(rule: "Open(~/.aws/**)", targets: [MarkTarget("/home/u/.aws", .tree, exec: false)]),
        Row(rule: "Open(~/.aws)", targets: [MarkTarget("/home/u/.aws", .tree, exec: false)]),
        Row(rule: "Open(/etc/shadow)", targets: [MarkTarget("/etc/shadow", .file, exec: false)]),
        Row(rule: "Open(//etc/shadow, read)", targets: [MarkTarget("/etc/shadow", .file, exec: false)]),
        Row(rule: "Open(/srv/**, write)", targets: [MarkTarget("/srv", .tree, exec: false)]),
        Row(
            rule: "Open(~/.ssh/id_*)",
            targets: [
                MarkTarget("/home/u/.ssh", .children, exec: false), MarkTarget("/home/u/.ssh/id_old", .tree, exec: false),
            ]),
        Row(rule: "Open(/srv/new.txt)", targets: [MarkTarget("/srv", .children, exec: false)], note: "does not exist yet"),
        Row(rule: "Open(/srv/*/x)", targets: [MarkTarget("/srv", .tree, exec: false)]),
        Row(rule: "Open(**/*.pem)", targets: [], notEnforceable: "no fixed directory"),
        Row(rule: "Open(.env)", targets: [], notEnforceable: "no fixed directory"),
        Row(rule: "Open(/*/secret)", targets: [], notEnforceable: "no fixed directory prefix"),
        Row(rule: "Open(/**)", targets: [], notEnforceable: "no fixed directory prefix"),
        Row(rule: "Open(/nope/deeper/file)", targets: [], notEnforceable: "nothing to mark"),
        Row(rule: "Open(/nope/**)", targets: [], notEnforceable: "not an existing directory"),
        Row(
            rule: "Exec(curl)",
            targets: [
                MarkTarget("/usr/local/bin/curl", .file, exec: true), MarkTarget("/usr/bin/curl", .file, exec: true),
                MarkTarget("/opt/tools/bin/curl", .file, exec: true),
            ]),
        Row(
            rule: "Exec(nc*)",
            targets: [
                MarkTarget("/usr/bin/nc", .file, exec: true), MarkTarget("/usr/bin/nc.openbsd", .file, exec: true),
            ]),
        Row(
            rule: "Exec(/usr/bin/nc*)",
            targets: [
                MarkTarget("/usr/bin/nc", .file, exec: true), MarkTarget("/usr/bin/nc.openbsd", .file, exec: true),
            ], note: "not marked until re-marking"),
        Row(rule: "Exec(/usr/bin/git)", targets: [MarkTarget("/usr/bin/git", .file, exec: true)]),
        Row(rule: "Exec(git push *)", targets: [MarkTarget("/usr/bin/git", .file, exec: true)], note: "argv"),
        Row(rule: "Exec(git *)", targets: [MarkTarget("/usr/bin/git", .file, exec: true)]),
        Row(rule: "Exec(/tmp/**)", targets: [MarkTarget("/tmp", .tree, exec: true)]),
        Row(rule: "Exec(wget)", targets: [], notEnforceable: "no executable named 'wget'"),
        Row(rule: "Exec(/usr/bin/zz*)", targets: [], notEnforceable: "matches 'zz*' now"),
        Row(rule: "Connect(evil.com)", targets: [], notEnforceable: "opens and execs only"),
        Row(rule: "Bash(curl *)", targets: [], notEnforceable: "opens and execs only"),
        Row(rule: "garbage", targets: [], notEnforceable: "not a kernel rule"),
    ]

    @Test(arguments: rows) func ruleBecomesMarks(_ row: Row) {
        let plan = MarkPlanner.plan(
            rules: [row.rule], home: Self.home, path: "/opt/tools/bin:relative/bin:/usr/bin",
            fileSystem: fs)
        let result = plan.rules[0]
        #expect(result.targets == row.targets)
        if let fragment = row.notEnforceable {
            #expect(result.notEnforceable?.contains(fragment) == true, "\(result.notEnforceable ?? "nil")")
            #expect(plan.notEnforceable.map(\.rule) == [row.rule])
        } else {
            #expect(result.notEnforceable == nil, "\(result.notEnforceable ?? "")")
            #expect(plan.notEnforceable.isEmpty)
        }
        if let note = row.note {
            #expect(result.note?.contains(note) == true, "\(result.note ?? "nil")")
        }
    }

    @Test func homeRulesNeedAHome() {
        let plan = MarkPlanner.plan(rules: ["Open(~/.aws/**)", "Open(/etc/shadow)"], home: nil, fileSystem: fs)
        #expect(plan.notEnforceable.map(\.rule) == ["Open(~/.aws/**)"])
        #expect(plan.targets == [MarkTarget("/etc/shadow", .file, exec: false)])
    }

    @Test func targetsAreDeduplicatedAcrossRules() {
        let plan = MarkPlanner.plan(
            rules: ["Exec(curl)", "Exec(/usr/bin/curl)", "Open(/etc/shadow)", "Open(/etc/shadow, read)"],
            home: nil, fileSystem: fs)
        #expect(
            plan.targets == [
                MarkTarget("/etc/shadow", .file, exec: false),
                MarkTarget("/usr/bin/curl", .file, exec: true),
                MarkTarget("/usr/local/bin/curl", .file, exec: true),
            ])
    }

    @Test func treeWalkIsBoundedAndCountsWhatItSkips() {
        let tree = FakeFileSystem([
            "/r/a/a1/f": .file, "/r/a/a2/f": .file, "/r/b/b1/deep/f": .file, "/r/c": .file,
        ])
        let all = MarkPlanner.expand(tree: "/r", fileSystem: tree, maxDepth: 10, maxDirectories: 100)
        #expect(all.directories == ["/r", "/r/a", "/r/b", "/r/a/a1", "/r/a/a2", "/r/b/b1", "/r/b/b1/deep"])
        #expect(all.skipped == 0)

        let shallow = MarkPlanner.expand(tree: "/r", fileSystem: tree, maxDepth: 1, maxDirectories: 100)
        #expect(shallow.directories == ["/r", "/r/a", "/r/b"])
        #expect(shallow.skipped == 3)  // a1, a2, b1 (deep is below b1, never seen)

        let few = MarkPlanner.expand(tree: "/r", fileSystem: tree, maxDepth: 10, maxDirectories: 4)
        #expect(few.directories == ["/r", "/r/a", "/r/b", "/r/a/a1"])
        #expect(few.skipped == 2)  // a2, b1
    }
}

@Suite struct BlockedCallTests {
    static func memory(_ table: [UInt64: [UInt8]]) -> (UInt64, Int) -> [UInt8]? {
        { address, count in
            for (start, bytes) in table where address >= start && address < start + UInt64(bytes.count) {
                let from = Int(address - start)
                return Array(bytes[from..<min(bytes.count, from + count)])
            }
            return nil
        }
    }

    @Test(arguments: [
        ("257 0xffffff9c 0x7ffd1000 0x0 0x0 0x0 0x0 0x7ffd 0x7f00", OpenAccess.read),
        ("257 0xffffff9c 0x7ffd1000 0x80000 0x0 0x0 0x0 0x7ffd 0x7f00", .read),  // O_CLOEXEC
        ("257 0xffffff9c 0x7ffd1000 0x241 0x1b6 0x0 0x0 0x7ffd 0x7f00", .write),  // O_WRONLY|O_CREAT|O_TRUNC
        ("257 0xffffff9c 0x7ffd1000 0x402 0x0 0x0 0x0 0x7ffd 0x7f00", .write),  // O_RDWR|O_APPEND
        ("2 0x7ffd1000 0x0 0x0 0x0 0x0 0x0 0x7ffd 0x7f00", .read),  // open
        ("2 0x7ffd1000 0x200 0x0 0x0 0x0 0x0 0x7ffd 0x7f00", .write),  // open O_TRUNC
        ("85 0x7ffd1000 0x1a4 0x0 0x0 0x0 0x0 0x7ffd 0x7f00", .write),  // creat
        ("295 0xffffff9c 0xffd000 0x1 0x0 0x0 0x0 0xffd 0x8000", .write),  // i386 openat O_WRONLY
        ("426 0x3 0x0 0x0 0x0 0x0 0x0 0x7ffd 0x7f00", .unknown),  // io_uring_enter
        ("running", .unknown),
        ("-1 0x7ffd 0x7f00", .unknown),
    ])
    func accessFromTheSyscallLine(_ line: String, _ access: OpenAccess) {
        #expect(BlockedCall.parse(syscallLine: line, memory: { _, _ in nil }).access == access)
    }

    @Test func openat2ReadsTheFlagsFromMemory() {
        var how = [UInt8](repeating: 0, count: 24)
        how[0] = 0x01  // O_WRONLY
        let call = BlockedCall.parse(
            syscallLine: "437 0xffffff9c 0x1000 0x2000 0x18 0x0 0x0 0x0 0x0",
            memory: Self.memory([0x2000: how]))
        #expect(call.access == .write)
        #expect(
            BlockedCall.parse(
                syscallLine: "437 0xffffff9c 0x1000 0x2000 0x18 0x0 0x0 0x0 0x0",
                memory: { _, _ in nil }
            ).access == .unknown)
    }

    @Test func execveArgvIsReadFromTheCallersMemory() {
        func le64(_ values: [UInt64]) -> [UInt8] { values.flatMap { v in (0..<8).map { UInt8((v >> (8 * $0)) & 0xff) } } }
        func le32(_ values: [UInt32]) -> [UInt8] { values.flatMap { v in (0..<4).map { UInt8((v >> (8 * $0)) & 0xff) } } }
        let strings: [UInt64: [UInt8]] = [
            0x1000: Array("/usr/bin/nc\0".utf8), 0x1100: Array("nc\0".utf8), 0x1200: Array("-l\0".utf8),
        ]
        var table = strings
        table[0x3000] = le64([0x1100, 0x1200, 0])
        let call = BlockedCall.parse(syscallLine: "59 0x1000 0x3000 0x4000 0x0 0x0 0x0 0x0 0x0", memory: Self.memory(table))
        #expect(call.execPath == "/usr/bin/nc")
        #expect(call.argv == ["nc", "-l"])
        #expect(call.access == .read)

        let at = BlockedCall.parse(syscallLine: "322 0x5 0x1000 0x3000 0x4000 0x0 0x0 0x0 0x0", memory: Self.memory(table))
        #expect(at.execPath == "/usr/bin/nc" && at.argv == ["nc", "-l"])

        var compat = strings
        compat[0x3000] = le32([0x1100, 0])
        let i386 = BlockedCall.parse(syscallLine: "11 0x1000 0x3000 0x4000 0x0 0x0 0x0 0x0 0x0", memory: Self.memory(compat))
        #expect(i386.argv == ["nc"])

        let unreadable = BlockedCall.parse(
            syscallLine: "59 0x1000 0x3000 0x4000 0x0 0x0 0x0 0x0 0x0",
            memory: { _, _ in nil })
        #expect(unreadable.argv == nil && unreadable.execPath == nil)
    }
}

/// The planner as the runtime calls it: with the policy's own wildcard semantics.
extension MarkPlanner {
    static func plan(
        rules: [String], home: String?, path: String? = nil, fileSystem: some MarkFileSystem = LiveFileSystem()
    ) -> MarkPlan {
        plan(rules: rules, home: home, path: path, fileSystem: fileSystem, matching: Policy.segmentMatches)
    }
}
