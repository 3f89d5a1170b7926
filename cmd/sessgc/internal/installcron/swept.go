package installcron

// What store an existing cron file or systemd unit runs sessgc for, read
// as sh and systemd read it, so that install-cron --write refuses to
// replace another store's files (checkWrite).

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
)

// sweptDirs returns the stores that the cron or systemd file at p runs
// sessgc for, as sessgc would take each run's store: its last --dir
// (--dir=, -d, -dPATH, -qd PATH), else SESSGC_DIR set before the command
// on its line, else SESSGC_DIR in the file's environment (a cron.d
// variable line above the entry, or the unit's Environment=). Every line
// counts, not just the first: an operator's own file may sweep two
// stores. Words are unquoted as sh and systemd read them, so a quoted
// path is the same store; ;, &&, || and | end a command with or without
// blanks; redirections (2>&1, >&2, &>FILE) are not words and their & ends
// nothing; a script given to sh -c, in $(...) or in backquotes is read as
// a line; and a unit's line ending in a backslash goes on on the next.
// None where p cannot be read. An error wrapping errUnreadable where a
// line that runs a command (runsCommand) holds what this reading cannot
// follow (see scan), or takes the store from a command's output (--dir
// "$(cat /etc/store)"): which store it sweeps is not known, so it is not
// to be replaced in silence.
func sweptDirs(p string) ([]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	// A file install-cron wrote is a few KiB; a larger one is not its.
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, nil
	}
	return storesIn(string(b), envFileDir)
}

// errUnreadable reports a cron file or unit whose sessgc runs cannot be
// told: an unclosed quote or substitution, a here-document, a redirection
// with no file, a store given as a command's output.
var errUnreadable = errors.New("cannot tell which store it runs sessgc for")

// maxScriptDepth bounds scripts within scripts (sh -c '... $(...)'): a
// real cron line nests two or three; a deeper one is refused rather than
// read again at every level.
const maxScriptDepth = 8

// envFileDir returns the SESSGC_DIR that the systemd EnvironmentFile at p
// sets, "" where it sets none or cannot be read.
func envFileDir(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return ""
	}
	var dir string
	for _, line := range logicalLines(string(b)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && strings.TrimSpace(strings.TrimPrefix(k, "export ")) == pass.EnvPrefix+"DIR" {
			v = strings.TrimSpace(v)
			if w := shellWords(v); len(w) == 1 {
				v = w[0]
			}
			dir = v
		}
	}
	return dir
}

// storesIn returns the stores that the cron or systemd file text runs
// sessgc for; see sweptDirs. envFile returns the SESSGC_DIR that a unit's
// EnvironmentFile= sets.
//
// A command is sessgc's where a word's base name starts with sessgc
// (sessgc, sessgc-1.4, sessgc.sh): there -d and SESSGC_DIR name its store,
// and a [ -d /mnt ] test before it names none. A word of a command that
// runs no other (textCommands: logger -t sessgc, curl .../sessgc, [ -d
// /srv/sessgc ]) is an argument, not sessgc. install-cron --binary may
// name sessgc otherwise, so a --dir names a store in any command, and
// where no command is known to be sessgc's, every SESSGC_DIR the file
// sets does: a refusal says what to do, a silent replacement ends another
// store's sweeps.
func storesIn(text string, envFile func(path string) string) ([]string, error) {
	type command struct {
		toks  []shTok
		env   string // cron's SESSGC_DIR above the entry, or set before sh -c
		line  bool   // a line of the file, not a script within one
		depth int    // scripts it is within
	}
	var unitEnv, cronEnv string
	var allEnv []string
	var cmds []command
	var unread error
	cron := isCron(text)
	// add reads script as a command line, and the scripts of its $(...)
	// and backquotes as lines of their own, run in the same environment.
	var add func(script, env string, line bool, depth int) bool
	add = func(script, env string, line bool, depth int) bool {
		if depth > maxScriptDepth {
			unread = fmt.Errorf("%w: scripts nested %d deep", errUnreadable, depth)
			return false
		}
		// A unit's ExecStart= is no shell line: its # is a word.
		toks, subs, err := scan(script, cron || !line)
		if err != nil {
			unread = err
			return false
		}
		cmds = append(cmds, command{toks, env, line, depth})
		for _, sub := range subs {
			if !add(sub, env, false, depth+1) {
				return false
			}
		}
		return true
	}
	lines := logicalLines(text)
	if cron {
		// cron joins no lines at a backslash: each runs on its own.
		lines = strings.Split(text, "\n")
	}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		// systemd and cron both allow blanks around the =.
		if k, v, ok := strings.Cut(line, "="); ok {
			switch strings.TrimSpace(k) {
			case "Environment":
				for _, w := range shellWords(v) {
					if d, ok := strings.CutPrefix(w, pass.EnvPrefix+"DIR="); ok {
						unitEnv, allEnv = d, append(allEnv, d)
					}
				}
				continue
			case "EnvironmentFile":
				// A leading - makes the file optional.
				if d := envFile(strings.TrimPrefix(strings.TrimSpace(v), "-")); d != "" {
					unitEnv, allEnv = d, append(allEnv, d)
				}
				continue
			case pass.EnvPrefix + "DIR":
				// cron takes the rest of the line, quotes around it
				// stripped.
				v = strings.TrimSpace(v)
				if w := shellWords(v); len(w) == 1 {
					v = w[0]
				}
				cronEnv, allEnv = v, append(allEnv, v)
				continue
			}
		}
		if cron {
			line = cronCommand(line)
		}
		if !add(line, cronEnv, true, 0) {
			if runsCommand(line, cron) {
				return nil, unread
			}
			// A unit's Description=, a cron MAILTO= line: an
			// apostrophe in its text ("the app's sessions") runs
			// nothing, and refuses nothing.
			unread = nil
		}
	}
	var dirs []string
	known := false
	for k := 0; k < len(cmds); k++ {
		c := cmds[k]
		env := c.env
		if env == "" {
			env = unitEnv
		}
		var inline, dir string
		var in, found, text bool
		end := func() {
			switch {
			case found:
				dirs = append(dirs, dir)
			case in && inline != "":
				dirs = append(dirs, inline)
			case in && env != "":
				dirs = append(dirs, env)
			case !in && inline != "":
				// Exported (export SESSGC_DIR=...; sessgc run) or
				// set for a command that runs sessgc some way not
				// read here: the store of what follows.
				dirs = append(dirs, inline)
			}
			inline, dir, in, found, text = "", "", false, false, false
		}
		// value takes the store from the word at j, which a command's
		// output cannot give.
		value := func(j int) (string, bool) {
			if c.toks[j].sub {
				unread = fmt.Errorf("%w: a store is given as a command's output (%s)", errUnreadable, c.toks[j].s)
				return "", false
			}
			return c.toks[j].s, true
		}
		// word is the word at j, "" for an operator: "--dir ;" takes no
		// store.
		word := func(j int) (string, bool) {
			if j >= len(c.toks) || c.toks[j].op {
				return "", false
			}
			return c.toks[j].s, true
		}
		// noValue reports a -d or --dir with no path after it in its
		// command: the path comes from elsewhere (xargs sessgc run
		// --dir reads it from its input), not to be told here.
		noValue := func() error {
			return fmt.Errorf("%w: a -d or --dir with no path after it (given by xargs?)", errUnreadable)
		}
		for i := 0; i < len(c.toks); i++ {
			t := c.toks[i]
			w := t.s
			if t.op {
				end()
				continue
			}
			// A script given to a shell (sh -c '...') is read as a
			// line of its own, in the environment set before it.
			afterC := i > 0 && !c.toks[i-1].op && shellC(c.toks[i-1].s)
			if sub, _, err := scan(w, true); !strings.HasPrefix(w, "-") && (afterC || err == nil && len(sub) > 1 && !strings.Contains(sub[0].s, "=")) {
				if err != nil || len(sub) > 1 || afterC && len(sub) == 1 {
					e := c.env
					if inline != "" {
						e = inline
					}
					if !add(w, e, false, c.depth+1) {
						return nil, unread
					}
					continue
				}
			}
			switch {
			case !in && textCommands[path.Base(w)] && (i == 0 || !strings.HasPrefix(c.toks[i-1].s, "-")) && !(cron && c.line && cronUserField(c.toks, i)):
				// After an option, the word is its value (runuser -u
				// test, sudo -u mail), and in a cron line the user's
				// field is a user (test, mail): not the command run.
				text = true
			case !in && !text && strings.HasPrefix(path.Base(w[strings.LastIndex(w, "=")+1:]), "sessgc") && !(cron && c.line && cronUserField(c.toks, i)):
				// A cron line's user field is a user (sessgc), not
				// the command run.
				in, known = true, true
				continue
			case !in:
				if _, ok := strings.CutPrefix(w, pass.EnvPrefix+"DIR="); ok {
					v, ok := value(i)
					if !ok {
						return nil, unread
					}
					inline = strings.TrimPrefix(v, pass.EnvPrefix+"DIR=")
				}
			}
			switch {
			case w == "--dir":
				if _, ok := word(i + 1); !ok {
					return nil, noValue()
				}
				v, ok := value(i + 1)
				if !ok {
					return nil, unread
				}
				dir, found = v, true
				i++
			case strings.HasPrefix(w, "--dir="):
				v, ok := value(i)
				if !ok {
					return nil, unread
				}
				dir, found = strings.TrimPrefix(v, "--dir="), true
			case in && len(w) > 1 && w[0] == '-' && w[1] != '-':
				// Shorthands join as pflag reads them: -qd PATH, -d=PATH,
				// -dPATH; -c takes the rest as its value.
				for j := 1; j < len(w); j++ {
					if w[j] == 'c' {
						break
					}
					if w[j] != 'd' {
						continue
					}
					if v := strings.TrimPrefix(w[j+1:], "="); v != "" || strings.HasPrefix(w[j+1:], "=") {
						if _, ok := value(i); !ok {
							return nil, unread
						}
						dir, found = v, true
					} else if _, ok := word(i + 1); ok {
						v, ok := value(i + 1)
						if !ok {
							return nil, unread
						}
						dir, found = v, true
						i++
					} else {
						return nil, noValue()
					}
					break
				}
			}
		}
		end()
	}
	if !known && len(dirs) == 0 {
		return allEnv, nil
	}
	return dirs, nil
}

// runsCommand reports whether line, of a cron file or a unit, is one that
// runs a command: a unit's Exec*= (ExecStart=, ExecStartPre=, ...), a
// cron line other than a variable's (NAME=value).
func runsCommand(line string, cron bool) bool {
	k, _, ok := strings.Cut(line, "=")
	k = strings.TrimSpace(k)
	if !cron {
		return ok && strings.HasPrefix(k, "Exec")
	}
	if !ok || k == "" {
		return true
	}
	for _, r := range k {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return true
		}
	}
	return false
}

// shellC reports whether w is a shell's -c (sh -c, bash -lc, su -c), after
// which a word is a script.
func shellC(w string) bool {
	return len(w) > 1 && w[0] == '-' && w[1] != '-' && strings.HasSuffix(w, "c")
}

// textCommands are commands that run no other, so that sessgc among
// their words is text (logger's tag, a heartbeat URL, a path tested), not
// a run of sessgc. A command not listed that names sessgc among its words
// is still read as running it: a wrapper (nice, flock, timeout) does. A
// listed name that follows an option is that option's value (a user named
// test or mail), and one in a cron line's user field a user: not commands.
var textCommands = map[string]bool{
	"logger": true, "echo": true, "printf": true, "curl": true, "wget": true,
	"mail": true, "mailx": true, "tee": true, "grep": true, "test": true, "[": true,
}

// cronUserField reports whether words[i] is the user field of a cron.d
// line: the sixth word, or the second after an @ schedule (@daily).
func cronUserField(words []shTok, i int) bool {
	if strings.HasPrefix(words[0].s, "@") {
		return i == 1
	}
	return i == 5
}

// isCron reports whether text is a cron file rather than a systemd unit,
// which has a section ([Service], [Timer]); cron has no line of that form.
func isCron(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if len(t) > 2 && t[0] == '[' && t[len(t)-1] == ']' && !strings.ContainsAny(t, " \t") {
			return false
		}
	}
	return true
}

// cronCommand returns a cron line as cron gives it to sh: cut at its
// first % not escaped with a backslash (cron makes it a newline and the
// rest the command's standard input), and \% made %. Quotes do not
// protect a % from cron.
func cronCommand(line string) string {
	var b strings.Builder
	escaped := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case escaped:
			// As cron: a backslash escapes the next character only
			// to keep a % (and loses itself there); before any other
			// it stays, for sh.
			if c != '%' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
			escaped = false
		case c == '\\':
			escaped = true
		case c == '%':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	if escaped {
		b.WriteByte('\\')
	}
	return b.String()
}

// logicalLines splits text into lines, a line that ends in a backslash
// going on on the next, as systemd reads a unit (cron has no such lines,
// and joining one there only reads more words as a command's).
func logicalLines(text string) []string {
	var lines []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimRight(line, " \t\r")
		if strings.HasSuffix(t, "\\") && !strings.HasPrefix(strings.TrimSpace(t), "#") {
			cur.WriteString(t[:len(t)-1])
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(line)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// shellWords returns the words of line as scan reads them, operators
// among them; as much as it read where it cannot read it all. For a
// value (a cron or unit environment line), not a command.
func shellWords(line string) []string {
	toks, _, _ := scan(line, false)
	words := make([]string, len(toks))
	for i, t := range toks {
		words[i] = t.s
	}
	return words
}

// shTok is a word of a shell line, or one of its control operators.
type shTok struct {
	s   string
	op  bool // ; & && | || |& ;; ( ): ends a command
	sub bool // holds a command substitution: sh puts a command's output there
}

// scan splits line into words as sh does for what a cron line or
// ExecStart= holds: blanks separate; '...', "..." and a backslash quote;
// ; & | ( ) and their doubles are operators, with or without blanks
// around them ("--dir /a;sessgc" is two commands, not a store "/a;sessgc");
// a redirection ([N]>FILE, >>, <, >&N, <&N, &>FILE, &>>, >|, <>) is no
// word, nor is its file, and its & ends no command (2>&1); $(...) and
// `...`, quoted or not, stay in their word, marked as sh's to fill, and
// their scripts are returned to be read as lines. Not a shell: no
// expansion of $VAR. What it cannot follow is an error wrapping
// errUnreadable: an unclosed quote, $( or backquote, a here-document
// (<<), a redirection with no file; sh would not run such a line as read
// here either.
//
// Where shell, the line is sh's (a cron line, a script given to sh -c or
// in a substitution): a word starting with # ends it, as a comment; a
// unit's ExecStart= gives # to the command as a word.
func scan(line string, shell bool) (toks []shTok, scripts []string, err error) {
	var w strings.Builder
	inWord, quoted, sub := false, false, false
	redir := false // the next word is a redirection's file
	emit := func() {
		if inWord {
			if redir {
				redir = false
			} else {
				toks = append(toks, shTok{s: w.String(), sub: sub})
			}
		}
		w.Reset()
		inWord, quoted, sub = false, false, false
	}
	noFile := fmt.Errorf("%w: a redirection with no file after it", errUnreadable)
	// substitute reads the $(...) or `...` at line[i:] into the word.
	substitute := func(i int) (int, error) {
		n, script, err := substitution(line[i:])
		if err != nil {
			return 0, err
		}
		w.WriteString(line[i : i+n])
		scripts = append(scripts, script)
		inWord, sub = true, true
		return i + n - 1, nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case shell && c == '#' && !inWord:
			emit()
			if redir {
				return nil, nil, noFile
			}
			return toks, scripts, nil
		case c == '\\':
			// A backslash at the end goes on on the next line, which
			// logicalLines has joined: nothing to keep.
			if i+1 < len(line) {
				i++
				w.WriteByte(line[i])
			}
			inWord = true
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, nil, fmt.Errorf("%w: an unclosed '", errUnreadable)
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord, quoted = true, true
		case c == '"':
			inWord, quoted = true, true
			for i++; ; i++ {
				if i >= len(line) {
					return nil, nil, fmt.Errorf("%w: an unclosed \"", errUnreadable)
				}
				if line[i] == '"' {
					break
				}
				switch {
				case line[i] == '\\' && i+1 < len(line):
					// In double quotes a backslash quotes only these;
					// before any other it stays.
					if !strings.ContainsRune("$`\"\\", rune(line[i+1])) {
						w.WriteByte('\\')
					}
					i++
					w.WriteByte(line[i])
				case line[i] == '`' || strings.HasPrefix(line[i:], "$("):
					if i, err = substitute(i); err != nil {
						return nil, nil, err
					}
				default:
					w.WriteByte(line[i])
				}
			}
		case c == '`' || strings.HasPrefix(line[i:], "$("):
			if i, err = substitute(i); err != nil {
				return nil, nil, err
			}
		case c == ' ' || c == '\t':
			emit()
		case c == '&' && strings.HasPrefix(line[i+1:], ">"):
			// &>FILE, &>>FILE: both outputs to FILE.
			emit()
			if redir {
				return nil, nil, noFile
			}
			i++
			if strings.HasPrefix(line[i+1:], ">") {
				i++
			}
			redir = true
		case c == '<' || c == '>':
			// A word of digits just before is the descriptor (2>).
			if inWord && !quoted && !sub && !redir && strings.Trim(w.String(), "0123456789") == "" {
				w.Reset()
				inWord = false
			}
			emit()
			if redir {
				return nil, nil, noFile
			}
			if c == '<' && strings.HasPrefix(line[i+1:], "<") {
				return nil, nil, fmt.Errorf("%w: a here-document (<<)", errUnreadable)
			}
			if i+1 < len(line) && strings.IndexByte("&|>", line[i+1]) >= 0 && (c == '>' || line[i+1] != '|') {
				i++ // >&, >|, >>, <&, <>
			}
			redir = true
		case c == ';' || c == '&' || c == '|' || c == '(' || c == ')':
			emit()
			if redir {
				return nil, nil, noFile
			}
			op := string(c)
			if i+1 < len(line) && (line[i+1] == c && c != '(' && c != ')' || c == '|' && line[i+1] == '&') {
				i++
				op += string(line[i])
			}
			toks = append(toks, shTok{s: op, op: true})
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	emit()
	if redir {
		return nil, nil, noFile
	}
	return toks, scripts, nil
}

// substitution reads the command substitution at the start of s, $(...)
// or `...`: its length in s, and the script it runs. Within $(...)
// quotes, parentheses and substitutions nest as in sh; within backquotes
// a backslash quotes $, ` and itself.
func substitution(s string) (int, string, error) {
	if s[0] == '`' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch {
			case s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\\", s[i+1]) >= 0:
				i++
				b.WriteByte(s[i])
			case s[i] == '`':
				return i + 1, b.String(), nil
			default:
				b.WriteByte(s[i])
			}
		}
		return 0, "", fmt.Errorf("%w: an unclosed `", errUnreadable)
	}
	depth := 0
	inDouble := false
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '\'' && !inDouble:
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return 0, "", fmt.Errorf("%w: an unclosed '", errUnreadable)
			}
			i += j + 1
		case c == '"':
			inDouble = !inDouble
		case c == '`' || strings.HasPrefix(s[i:], "$("):
			n, _, err := substitution(s[i:])
			if err != nil {
				return 0, "", err
			}
			i += n - 1
		case c == '(' && !inDouble:
			depth++
		case c == ')' && !inDouble:
			if depth == 0 {
				return i + 1, s[2:i], nil
			}
			depth--
		}
	}
	return 0, "", fmt.Errorf("%w: an unclosed $(", errUnreadable)
}
