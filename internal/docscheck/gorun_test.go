package docscheck

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// goRun finds a `go run ./PATH ARGS` command: the package path and its
// arguments, up to a shell operator or a comment.
var goRun = regexp.MustCompile(`\bgo run (\./[A-Za-z0-9_./-]+)((?:[ \t]+[^\s|;&<>#` + "`" + `]+)*)`)

// stdFlag is a flag's line in the usage the flag package prints for -h.
var stdFlag = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9_.-]*)`)

// goRunMention is one `go run` command in the docs or in a doc comment.
type goRunMention struct {
	where string // file:line
	pkg   string // ./examples/app
	args  []string
}

// TestDocsGoRunCommands checks the `go run ./PATH ...` commands that
// README.md, docs/*.md and the module's Go comments (the examples' package
// documentation: "go run ./examples/app -dir /tmp/sessions
// -insecure-cookie") tell a reader to type: PATH is a command of this
// checkout, and every flag given to one that parses its command line with
// the flag package is one of its flags. (The cobra commands, sessgc and
// sessbench, are TestDocsFlagsExist's.)
func TestDocsGoRunCommands(t *testing.T) {
	root := consumertest.RepoRoot(t)
	var mentions []goRunMention
	find := func(where, text string) {
		for _, m := range goRun.FindAllStringSubmatch(text, -1) {
			mentions = append(mentions, goRunMention{where: where, pkg: strings.TrimSuffix(m[1], "/"), args: strings.Fields(m[2])})
		}
	}
	for _, md := range mdFiles(t, root) {
		blocks, spans := parseMarkdown(t, root, md)
		for _, b := range blocks {
			if b.lang == "go" {
				continue
			}
			for i, l := range b.code {
				find(b.file+":"+strconv.Itoa(b.line+i), l)
			}
		}
		for _, s := range spans {
			find(s.file+":"+strconv.Itoa(s.line), s.text)
		}
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// This package's own comments name the form, not a command.
			if path == filepath.Join(root, "internal", "docscheck") {
				return filepath.SkipDir
			}
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "//") {
				find(filepath.ToSlash(rel)+":"+strconv.Itoa(n), l)
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(mentions) == 0 {
		t.Fatal("no go run command found in the docs: the extraction is broken")
	}

	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.Skip(t, testenv.GoModules, "no go command: %v", err)
	}
	// Every command named, built by one go build, which links them in
	// parallel (go build names each binary after its directory).
	bin := t.TempDir()
	exes := map[string]string{} // package -> its binary; "": none
	var pkgs []string
	for _, m := range mentions {
		if _, ok := exes[m.pkg]; ok {
			continue
		}
		exes[m.pkg] = ""
		if st, err := os.Stat(filepath.Join(root, filepath.FromSlash(m.pkg))); err != nil || !st.IsDir() {
			t.Errorf("%s: go run %s: no such directory in the repository", m.where, m.pkg)
			continue
		}
		pkgs = append(pkgs, m.pkg)
		exes[m.pkg] = filepath.Join(bin, filepath.Base(m.pkg))
	}
	args := append([]string{"build", "-o", bin + string(filepath.Separator)}, pkgs...)
	build := exec.Command(gobin, args...)
	build.Dir = root
	build.Env = append(os.Environ(), "GOPROXY=off") // offline, as TestDocsFlagsExist builds
	if out, err := build.CombinedOutput(); err != nil {
		if consumertest.MissingModules(string(out)) {
			consumertest.SkipMissingModules(t, args, string(out))
		}
		t.Fatalf("go %s: the commands the docs run do not build: %v\n%s", strings.Join(args, " "), err, out)
	}
	flags := map[string]map[string]bool{} // package -> its flags; nil: not the flag package's
	for pkg, exe := range exes {
		if exe == "" {
			continue
		}
		// -h makes the flag package print the usage and stop; the exit
		// code is the command's affair.
		out, _ := exec.Command(exe, "-h").CombinedOutput()
		if !bytes.HasPrefix(out, []byte("Usage of ")) {
			continue // not the flag package's usage (cobra's)
		}
		set := map[string]bool{}
		for _, f := range stdFlag.FindAllStringSubmatch(string(out), -1) {
			set[f[1]] = true
		}
		flags[pkg] = set
	}
	checked := 0
	for _, m := range mentions {
		set := flags[m.pkg]
		if set == nil {
			continue
		}
		for _, a := range m.args {
			if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
				continue
			}
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			checked++
			if !set[name] {
				t.Errorf("%s: go run %s %s: %s has no flag -%s", m.where, m.pkg, strings.Join(m.args, " "), m.pkg, name)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no flag of a go run command checked: the extraction is broken")
	}
	for _, m := range mentions {
		t.Logf("%s: go run %s %s", m.where, m.pkg, strings.Join(m.args, " "))
	}
	t.Logf("%d go run commands, %d flags checked", len(mentions), checked)
}
