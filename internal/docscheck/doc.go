// Package docscheck holds the tests that keep README.md and docs/*.md true:
// their Go code samples compile against this checkout (and so does the Go
// code in the doc comments of the public packages), every sessgc and
// sessbench flag they name exists, every `go run ./PATH` command they and
// the Go comments give names a command of the checkout and only flags it
// has (the examples' included), their relative links and #anchors
// resolve, every section named by its title in the docs or in Go files
// (docs/design.md, "Locking protocol") exists, and the README's quick start
// works when followed in a new module outside the repository, every
// public package has a runnable Example, scripts/bench-tables.py
// passes its self-test against docs/benchmarks.md's generated blocks,
// scripts/delete-aside-model.py its check of the design's lost-lock
// Delete, and
// every SESSFS_REQUIRE_* variable the tests read is named in
// docs/testing.md and set by CI, and every test they cite, and every name
// of a public package and every repository path they write in a code span,
// exists. Code,
// comments, docs and scripts carry no tracker numbers or build-machine
// paths that readers cannot follow.
//
// Conventions for Markdown authors:
//
//   - A ```go block that starts with a package clause is a complete file and
//     is compiled as it stands, in a package of its own.
//   - Any other ```go block is a snippet: its top-level declarations (lines
//     starting with func, type, var, const at column 0) are kept, and its
//     other lines become the body of a function returning error. It may use
//     the names declared in the prelude of docs_test.go (ctx, st, id,
//     updated, mux, hashKey, sessionManager, ...) and, when it has no
//     import block, any package of the prelude's imports without importing
//     it. A snippet with an import block gets those imports alone, as a
//     reader who copies it does: it must list every package it names.
//     Unused variables and imports, and a missing final
//     return, are not errors in a snippet.
//   - A block preceded by the line <!-- docs-check: illustrative ... -->
//     (an HTML comment, invisible on GitHub and pkg.go.dev) is not compiled:
//     use it for code that names packages sessfs does not depend on, or
//     internal packages, and say why in the comment.
//   - Go code in a doc comment of a public package (lines indented by a
//     tab, as pkg.go.dev shows them) is a snippet too, in a function
//     without results, with its own package and the frameworks its
//     package is for (godocImports) imported. A code block that does not
//     name its package and does not parse as Go (a table, a file layout,
//     JSON) is not compiled.
//   - In code (fenced blocks and inline code spans), every flag after
//     "sessgc [subcommand]" or "sessbench [subcommand]" must be a flag of
//     that command.
package docscheck
