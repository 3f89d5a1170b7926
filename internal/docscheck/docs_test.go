package docscheck

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// mdFiles returns README.md and docs/*.md of the checkout.
func mdFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{filepath.Join(root, "README.md")}, files...)
}

// goFiles calls fn with the content of each file of the checkout whose
// name ends in suffix (".go", "_test.go"), outside hidden directories and
// testdata, which hold no code of the module's.
func goFiles(t *testing.T, root, suffix string, fn func(b []byte)) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, suffix) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fn(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// block is a fenced code block of a Markdown file.
type block struct {
	file         string // relative to the repository
	line         int    // line of the first code line, 1-based
	lang         string
	code         []string
	illustrative bool
	// void: a snippet's statements are the body of a function without
	// results (a handler's), where a bare return is right.
	void bool
	// markdown: a block of README.md or docs/, which a reader copies with
	// its import block, where a doc comment's code has its package's.
	markdown bool
}

var illustrativeMark = regexp.MustCompile(`^\s*<!--\s*docs-check:\s*illustrative\b`)

// parseMarkdown returns the fenced blocks of a file and its inline code
// spans (with their lines).
func parseMarkdown(t *testing.T, root, path string) (blocks []block, spans []span) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(root, path)
	lines := strings.Split(string(b), "\n")
	var cur *block
	var fence string
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if cur != nil {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, "`~") == "" {
				blocks = append(blocks, *cur)
				cur = nil
				continue
			}
			// Fences inside list items are indented; drop that indent.
			cur.code = append(cur.code, strings.TrimPrefix(l, cur.indent()))
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			lang, _, _ := strings.Cut(strings.TrimLeft(trimmed, "`~"), " ")
			cur = &block{file: rel, line: i + 2, lang: lang, markdown: true}
			cur.code = nil
			indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
			cur.code = append(cur.code, indent) // placeholder: the indent, removed below
			cur.illustrative = i > 0 && illustrativeMark.MatchString(lines[i-1])
			continue
		}
		for _, m := range inlineCode.FindAllStringSubmatch(l, -1) {
			spans = append(spans, span{file: rel, line: i + 1, text: m[1]})
		}
	}
	for i := range blocks {
		blocks[i].code = blocks[i].code[1:]
	}
	return blocks, spans
}

// indent is the fence's indentation, kept as the first code line until the
// block ends.
func (b *block) indent() string { return b.code[0] }

type span struct {
	file string
	line int
	text string
}

var inlineCode = regexp.MustCompile("`([^`]+)`")

// prelude is what a snippet may use without declaring it.
const prelude = `
var (
	ctx            context.Context
	st             *fsstore.Store
	id             string
	updated        []byte
	mux            *http.ServeMux
	w              http.ResponseWriter
	r              *http.Request
	hashKey        []byte
	encryptionKey  []byte
	sessionManager *scs.SessionManager
	sm             *scs.SessionManager // docs/migrating.md's name for it
	pool           *redis.Pool         // redisstore's, in docs/migrating.md
	reportHandler  http.Handler
	logger         *slog.Logger
	dir            string
)
`

var preludeImports = []string{
	"context", "errors", "fmt", "log", "log/slog", "net/http", "os", "time",
	"github.com/alexedwards/scs/redisstore",
	"github.com/alexedwards/scs/v2",
	"github.com/gomodule/redigo/redis",
	"github.com/gorilla/sessions",
	"github.com/sessfs/sessfs/adapters/gorillastore",
	"github.com/sessfs/sessfs/adapters/scsstore",
	"github.com/sessfs/sessfs/fsstore",
	"github.com/sessfs/sessfs/httpsession",
	"github.com/sessfs/sessfs/metrics/prom",
}

// preludeTypeImports are the packages of the prelude's variables' types,
// and preludeQualifiers names them as imported for a snippet that lists its
// own imports.
var (
	preludeTypeImports = []string{"context", "log/slog", "net/http", "github.com/alexedwards/scs/v2", "github.com/gomodule/redigo/redis", "github.com/sessfs/sessfs/fsstore"}
	preludeQualifiers  = strings.NewReplacer("context.", "preludecontext.", "slog.", "preludeslog.", "http.", "preludehttp.", "scs.", "preludescs.", "redis.", "preluderedis.", "fsstore.", "preludefsstore.")
)

// genFile is a generated Go file and, for each of its lines, the Markdown
// line it came from (0: generated).
type genFile struct {
	src   []byte
	lines []int
}

func (g *genFile) add(docLine int, format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	for _, l := range strings.Split(s, "\n") {
		g.src = append(append(g.src, l...), '\n')
		g.lines = append(g.lines, docLine)
	}
}

var declStart = regexp.MustCompile(`^(func|type|var|const|import)\b`)

// snippetFile wraps a snippet per the package's conventions.
func snippetFile(b block) genFile {
	var g genFile
	// The snippet's own imports, by the name they bind; they replace a
	// prelude import of the same name (gin-contrib's sessions for
	// gorilla's).
	imports := map[string]string{}
	var body []int // indices of code lines that are not imports
	for i := 0; i < len(b.code); i++ {
		l := b.code[i]
		switch {
		case strings.HasPrefix(l, "import ("):
			for i++; i < len(b.code) && strings.TrimSpace(b.code[i]) != ")"; i++ {
				if f := strings.Fields(b.code[i]); len(f) > 0 {
					spec := strings.Join(f, " ")
					imports[importName(spec)] = spec
				}
			}
		case strings.HasPrefix(l, "import "):
			spec := strings.TrimSpace(strings.TrimPrefix(l, "import "))
			imports[importName(spec)] = spec
		default:
			body = append(body, i)
		}
	}
	pre := prelude
	if len(imports) == 0 || !b.markdown {
		for _, p := range preludeImports {
			spec := strconv.Quote(p)
			if _, ok := imports[importName(spec)]; !ok {
				imports[importName(spec)] = spec
			}
		}
	} else {
		// A snippet that lists its imports is copied with them: it gets
		// none of the prelude's, which it could use unseen (net/http left
		// out of a block that imports gin). The prelude's variables keep
		// their types through imports under names no snippet uses.
		pre = preludeQualifiers.Replace(prelude)
		for _, p := range preludeTypeImports {
			spec := "prelude" + importName(strconv.Quote(p)) + " " + strconv.Quote(p)
			imports[spec] = spec
		}
	}
	var specs []string
	for _, s := range imports {
		specs = append(specs, s)
	}
	sort.Strings(specs)
	g.add(0, "package snippet\n\nimport (\n\t%s\n)\n%s", strings.Join(specs, "\n\t"), pre)
	inFunc, inDecl := false, false
	for _, i := range body {
		l, docLine := b.code[i], b.line+i
		switch {
		case inDecl:
			g.add(docLine, "%s", l)
			if l == "}" || l == ")" {
				inDecl = false
			}
		case declStart.MatchString(l):
			if inFunc {
				g.add(0, "}")
				inFunc = false
			}
			g.add(docLine, "%s", l)
			inDecl = strings.HasSuffix(l, "{") || strings.HasSuffix(l, "(")
		default:
			if !inFunc {
				if b.void {
					g.add(0, "func _() {")
				} else {
					g.add(0, "func _() error {")
				}
				inFunc = true
			}
			g.add(docLine, "%s", l)
		}
	}
	if inFunc {
		g.add(0, "}")
	}
	return g
}

// importName is the name an import spec (`"path"` or `name "path"`)
// binds: its explicit name, or the last element of its path that is not a
// major version (echo/v4 is echo). A blank or dot import binds none; it
// is keyed by its whole spec.
func importName(spec string) string {
	if f := strings.Fields(spec); len(f) == 2 {
		if f[0] == "_" || f[0] == "." {
			return spec
		}
		return f[0]
	}
	p, err := strconv.Unquote(spec)
	if err != nil {
		return spec
	}
	elems := strings.Split(p, "/")
	name := elems[len(elems)-1]
	if len(elems) > 1 && regexp.MustCompile(`^v[0-9]+$`).MatchString(name) {
		name = elems[len(elems)-2]
	}
	return name
}

// snippetLeniency are compiler errors that a snippet may have.
var snippetLeniency = regexp.MustCompile(`declared and not used|imported and not used|"[^"]+" imported as \w+ and not used|missing return`)

var compileErr = regexp.MustCompile(`^(?:\./)?(b\d+)/(\w+\.go):(\d+):(?:\d+:)? (.*)$`)

// TestDocsGoBlocksCompile compiles every Go block of README.md and
// docs/*.md, and the Go code in the doc comments of the public packages
// (what pkg.go.dev shows first), in a module outside the repository that
// requires sessfs with a replace directive to this checkout.
func TestDocsGoBlocksCompile(t *testing.T) {
	root := consumertest.RepoRoot(t)
	files := map[string]string{}
	type genInfo struct {
		b       block
		g       genFile
		snippet bool
	}
	gens := map[string]genInfo{}
	n := 0
	for _, md := range mdFiles(t, root) {
		blocks, _ := parseMarkdown(t, root, md)
		for _, b := range blocks {
			if b.lang != "go" || b.illustrative {
				continue
			}
			n++
			dir := fmt.Sprintf("b%02d", n)
			info := genInfo{b: b}
			if first := firstCodeLine(b.code); strings.HasPrefix(first, "package ") {
				var g genFile
				for i, l := range b.code {
					g.add(b.line+i, "%s", l)
				}
				info.g = g
			} else {
				info.g, info.snippet = snippetFile(b), true
			}
			files[dir+"/main.go"] = string(info.g.src)
			gens[dir] = info
		}
	}
	if n == 0 {
		t.Fatal("no Go blocks found in README.md and docs/*.md")
	}
	godoc := godocBlocks(t, root)
	if len(godoc) == 0 {
		t.Fatal("no Go code found in the doc comments of the public packages: the extraction is broken")
	}
	for _, b := range godoc {
		n++
		dir := fmt.Sprintf("b%02d", n)
		info := genInfo{b: b, g: snippetFile(b), snippet: true}
		files[dir+"/main.go"] = string(info.g.src)
		gens[dir] = info
	}
	t.Logf("%d Go blocks compiled, %d of them from doc comments", n, len(godoc))
	dir := consumertest.NewModule(t, files)
	out, err := goCmd(t, dir, "build", "-gcflags=-e", "./...")
	if err == nil {
		return
	}
	failed := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := compileErr.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		info := gens[m[1]]
		if info.snippet && snippetLeniency.MatchString(m[4]) {
			continue
		}
		genLine, _ := strconv.Atoi(m[3])
		where := fmt.Sprintf("%s (block at line %d)", info.b.file, info.b.line)
		if genLine >= 1 && genLine <= len(info.g.lines) && info.g.lines[genLine-1] > 0 {
			where = fmt.Sprintf("%s:%d", info.b.file, info.g.lines[genLine-1])
		}
		t.Errorf("%s: %s", where, m[4])
		failed = true
	}
	if !failed && !bytes.Contains(out, []byte("declared and not used")) && !bytes.Contains(out, []byte("imported and not used")) && !bytes.Contains(out, []byte("missing return")) {
		t.Fatalf("go build of the docs' Go blocks failed: %v\n%s", err, out)
	}
}

func firstCodeLine(code []string) string {
	for _, l := range code {
		if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "//") {
			return s
		}
	}
	return ""
}

// goCmd runs the go command offline in a consumer module, like
// consumertest.Go, but returns a failure's output to the caller.
func goCmd(t *testing.T, dir string, args ...string) ([]byte, error) {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.Skip(t, testenv.GoModules, "no go command: %v", err)
	}
	cmd := exec.Command(gobin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil && consumertest.MissingModules(string(out)) {
		consumertest.SkipMissingModules(t, args, string(out))
	}
	return out, err
}
