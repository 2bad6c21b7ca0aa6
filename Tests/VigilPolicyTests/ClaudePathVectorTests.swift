// SPDX-License-Identifier: Apache-2.0
// Appendix C, Read/Edit/Write path rules (cwd /home/dev/work/w6, HOME /home/dev/work/home6).
// `unruled`: Claude Code's mode decided (allowed inside the working dirs, asked outside); Vigil's default.
import Testing
@testable import VigilPolicy

private let w6 = "/home/dev/work/w6/"
private let outside = "/home/dev/work/outside/"

@Test(arguments: [
    Vector(Rules(deny: ["Read(./.env)"]), "Read", w6 + ".env", .deny),
    Vector(Rules(deny: ["Read(./.env)"]), "Read", w6 + "sub/.env", .deny),
    Vector(Rules(deny: ["Read(.env)"]), "Read", w6 + ".env", .deny),
    Vector(Rules(deny: ["Read(.env)"]), "Read", w6 + "sub/.env", .deny),
    Vector(Rules(deny: ["Read(.env)"]), "Read", outside + ".env", .deny),
    Vector(Rules(deny: ["Read(.env)"]), "Write", w6 + ".env", .deny),
    Vector(Rules(deny: ["Read(.env)"]), "Edit", w6 + ".env", .deny),
    Vector(Rules(deny: ["Read(.env)"]), "Bash", "cat .env", .deny),
    Vector(Rules(deny: ["Read(.env)"]), "Bash", "python3 -c 'print(open(\".env\").read())'", .unruled),
    Vector(Rules(deny: ["Read(//home/dev/work/outside/**)"]), "Read", outside + "file.txt", .deny),
    Vector(Rules(deny: ["Read(//home/dev/work/outside/**)"]), "Read", w6 + "src/app.ts", .unruled),
    Vector(Rules(deny: ["Read(~/doc.txt)"]), "Read", "/home/dev/work/home6/doc.txt", .deny),
    Vector(Rules(deny: ["Read(/home/dev/work/outside/file.txt)"]), "Read", outside + "file.txt", .unruled),
    // `/secrets/**` in project settings is anchored at the project root (the w6/s.json vectors).
    Vector(Rules(deny: ["Read(/secrets/**)"]), "Read", w6 + "secrets/key", .deny),
    Vector(Rules(deny: ["Read(/secrets/**)"]), "Read", w6 + "a/secrets/key", .unruled),
    Vector(Rules(deny: ["Read(secrets/**)"]), "Read", w6 + "secrets/key", .deny),
    Vector(Rules(deny: ["Read(secrets/**)"]), "Read", w6 + "a/secrets/key", .deny),
    Vector(Rules(deny: ["Read(*.ts)"]), "Read", w6 + "src/app.ts", .deny),
    Vector(Rules(deny: ["Read(*.ts)"]), "Read", w6 + "vendor/pkg/src/lib.js", .unruled),
    Vector(Rules(deny: ["Read(.env)"]), "Read", "sub/../.env", .deny),
])
func readDenyRules(_ vector: Vector) throws { try check(vector) }

@Test(arguments: [
    Vector(Rules(allow: ["Edit(src/**)"]), "Write", w6 + "src/new.ts", .allow),
    Vector(Rules(allow: ["Edit(src/**)"]), "Write", w6 + "vendor/pkg/src/new.js", .unruled),
    Vector(Rules(allow: ["Edit(src/**)"]), "Write", w6 + "other.txt", .unruled),
    Vector(Rules(allow: ["Edit(src/**)"]), "Edit", w6 + "src/app.ts", .allow),
    Vector(Rules(allow: ["Edit(**/src/**)"]), "Write", w6 + "vendor/pkg/src/new2.js", .allow),
    Vector(Rules(allow: ["Edit(**/src/**)"]), "Write", w6 + "src/new3.ts", .allow),
    Vector(Rules(deny: ["Edit(src/**)"]), "Write", w6 + "src/new4.ts", .deny),
    Vector(Rules(deny: ["Edit(src/**)"]), "Write", w6 + "vendor/pkg/src/new5.js", .deny),
    Vector(Rules(deny: ["Edit(src/**)"]), "Write", w6 + "ok.txt", .unruled),
    Vector(Rules(allow: ["Write(src/**)"]), "Write", w6 + "src/new6.ts", .unruled),
    Vector(Rules(allow: ["Edit(//home/dev/work/outside/**)"]), "Write", outside + "new.txt", .allow),
    Vector(Rules(allow: ["Edit(//home/dev/work/outside/**)"]), "Read", outside + "file.txt", .allow),
    Vector(Rules(allow: ["Edit(*.md)"]), "Write", w6 + "docs/a.md", .allow),
    Vector(Rules(allow: ["Edit(*.md)"]), "Write", w6 + "b.md", .allow),
    Vector(Rules(allow: ["Edit(*.md)"]), "Write", w6 + "b.txt", .unruled),
    Vector(Rules(allow: ["Write"]), "Write", w6 + "any2.txt", .allow),
    Vector(Rules(allow: ["Write"]), "Edit", w6 + "src/app.ts", .unruled),
    Vector(Rules(allow: ["Write"]), "Write", outside + "any3.txt", .allow),
    Vector(Rules(allow: ["Edit"]), "Write", w6 + "any.txt", .unruled),
    Vector(Rules(allow: ["Edit"]), "Edit", w6 + "src/app.ts", .allow),
    // Vigil is stricter than Claude Code here: a Write(path) deny is enforced, not ignored.
    Vector(Rules(deny: ["Write(src/**)"]), "Write", w6 + "src/x.ts", .deny),
])
func editAndWriteRules(_ vector: Vector) throws { try check(vector) }
