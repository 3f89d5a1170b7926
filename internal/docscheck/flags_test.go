package docscheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/internal/consumertest"
	"github.com/sessfs/sessfs/internal/testenv"
)

// cli answers which flags and subcommands a built command has, through
// cobra's own completion entry point (the one shell completion uses), so
// what is checked is exactly what users can type.
type cli struct {
	t     *testing.T
	bin   string
	flags map[string]map[string]bool // subcommand ("" for the root) -> flags
	subs  map[string]bool
}

func (c *cli) complete(args ...string) []string {
	c.t.Helper()
	out, err := exec.Command(c.bin, append([]string{"__complete"}, args...)...).Output()
	if err != nil {
		c.t.Fatalf("%s __complete %s: %v", c.bin, strings.Join(args, " "), err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(l, "\t")
		if name != "" && !strings.HasPrefix(name, ":") {
			names = append(names, name)
		}
	}
	return names
}

func (c *cli) has(sub, flag string) bool {
	c.t.Helper()
	if c.flags[sub] == nil {
		set := map[string]bool{}
		args := []string{}
		if sub != "" {
			args = append(args, sub)
		}
		for _, f := range c.complete(append(args, "-")...) {
			set[f] = true
		}
		for _, f := range c.complete(append(args, "--")...) {
			set[f] = true
		}
		c.flags[sub] = set
	}
	return c.flags[sub][flag]
}

// mention finds a command in code: the program name at the start or after
// a space or a slash (a path), followed by its arguments.
var mention = regexp.MustCompile(`(?:^|[\s/(])(sessgc|sessbench)((?:[ \t]+[^\s|;&<>#` + "`" + `]+)*)`)

// TestDocsFlagsExist checks that every flag written after sessgc or
// sessbench (and their subcommands) in the code of README.md and docs/*.md
// is a flag of that command.
func TestDocsFlagsExist(t *testing.T) {
	root := consumertest.RepoRoot(t)
	bin := t.TempDir()
	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.Skip(t, testenv.GoModules, "no go command: %v", err)
	}
	args := []string{"build", "-o", bin + string(filepath.Separator), "./cmd/sessgc", "./cmd/sessbench"}
	build := exec.Command(gobin, args...)
	build.Dir = root
	// Offline, as the samples are built (goCmd): go test fetches only
	// what this test binary imports, and the CLIs import more (cobra,
	// Prometheus, the Redis clients). A build that went to the network
	// for them failed the test on a machine offline with a partial
	// module cache, where the samples' tests skip.
	build.Env = append(os.Environ(), "GOPROXY=off")
	if out, err := build.CombinedOutput(); err != nil {
		if consumertest.MissingModules(string(out)) {
			consumertest.SkipMissingModules(t, args, string(out))
		}
		t.Fatalf("go build of the CLIs: %v\n%s", err, out)
	}
	clis := map[string]*cli{}
	for _, name := range []string{"sessgc", "sessbench"} {
		c := &cli{t: t, bin: filepath.Join(bin, name), flags: map[string]map[string]bool{}, subs: map[string]bool{}}
		for _, s := range c.complete("") {
			c.subs[s] = true
		}
		clis[name] = c
	}

	checked := 0
	check := func(file string, line int, code string) {
		for _, m := range mention.FindAllStringSubmatch(code, -1) {
			c := clis[m[1]]
			sub := ""
			for i, arg := range strings.Fields(m[2]) {
				if i == 0 && c.subs[arg] {
					sub = arg
					continue
				}
				flag, _, _ := strings.Cut(arg, "=")
				if !strings.HasPrefix(flag, "-") || flag == "-" || flag == "--" {
					continue
				}
				checked++
				// The root runs "run" when given only flags (sessgc).
				if c.has(sub, flag) || sub == "" && c.subs["run"] && c.has("run", flag) {
					continue
				}
				cmd := m[1]
				if sub != "" {
					cmd += " " + sub
				}
				t.Errorf("%s:%d: %q names %s, which %s does not have", file, line, strings.TrimSpace(m[0]), flag, cmd)
			}
		}
	}
	for _, md := range mdFiles(t, root) {
		blocks, spans := parseMarkdown(t, root, md)
		for _, b := range blocks {
			if b.lang == "go" {
				continue
			}
			// Join shell continuation lines, keeping the first line's number.
			for i := 0; i < len(b.code); i++ {
				start, text := i, b.code[i]
				for strings.HasSuffix(strings.TrimSpace(text), `\`) && i+1 < len(b.code) {
					i++
					text = strings.TrimSuffix(strings.TrimSpace(text), `\`) + " " + b.code[i]
				}
				check(b.file, b.line+start, text)
			}
		}
		for _, s := range spans {
			check(s.file, s.line, s.text)
		}
	}
	if checked == 0 {
		t.Fatal("no sessgc or sessbench flag found in the docs: the extraction is broken")
	}
	t.Logf("%d flag mentions checked", checked)
}
