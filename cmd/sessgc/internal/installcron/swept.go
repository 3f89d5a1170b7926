package installcron

// What store an existing cron file or systemd unit runs sessgc for, read
// as sh and systemd read it, so that install-cron --write refuses to
// replace another store's files (checkWrite).

import (
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
// blanks; a script given to sh -c is read as a line; and a unit's line
// ending in a backslash goes on on the next. None where p cannot be read.
func sweptDirs(p string) []string {
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	// A file install-cron wrote is a few KiB; a larger one is not its.
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil
	}
	return storesIn(string(b), envFileDir)
}

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
func storesIn(text string, envFile func(path string) string) []string {
	type command struct {
		words []string
		env   string // cron's SESSGC_DIR above the entry
	}
	var unitEnv, cronEnv string
	var allEnv []string
	var cmds []command
	cron := isCron(text)
	for _, line := range logicalLines(text) {
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
		cmds = append(cmds, command{shellWords(line), cronEnv})
	}
	var dirs []string
	known := false
	// lines: cmds up to here are the file's lines; those after, scripts
	// given to a shell.
	lines := len(cmds)
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
			}
			inline, dir, in, found, text = "", "", false, false, false
		}
		for i := 0; i < len(c.words); i++ {
			w := c.words[i]
			// A script given to a shell (sh -c '...') is read as a
			// line of its own, in the environment set before it.
			if sub := shellWords(w); len(sub) > 1 && !strings.HasPrefix(w, "-") && !strings.Contains(sub[0], "=") {
				e := c.env
				if inline != "" {
					e = inline
				}
				cmds = append(cmds, command{sub, e})
				continue
			}
			switch {
			case w == "&&" || w == "||" || w == ";" || w == "|" || w == "&":
				end()
				continue
			case !in && textCommands[path.Base(w)] && (i == 0 || !strings.HasPrefix(c.words[i-1], "-")) && !(cron && k < lines && cronUserField(c.words, i)):
				// After an option, the word is its value (runuser -u
				// test, sudo -u mail), and in a cron line the user's
				// field is a user (test, mail): not the command run.
				text = true
			case !in && !text && strings.HasPrefix(path.Base(w[strings.LastIndex(w, "=")+1:]), "sessgc"):
				in, known = true, true
				continue
			case !in:
				if v, ok := strings.CutPrefix(w, pass.EnvPrefix+"DIR="); ok {
					inline = v
				}
			}
			switch {
			case w == "--dir":
				if i+1 < len(c.words) {
					dir, found = c.words[i+1], true
					i++
				}
			case strings.HasPrefix(w, "--dir="):
				dir, found = strings.TrimPrefix(w, "--dir="), true
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
						dir, found = v, true
					} else if i+1 < len(c.words) {
						dir, found = c.words[i+1], true
						i++
					}
					break
				}
			}
		}
		end()
	}
	if !known && len(dirs) == 0 {
		return allEnv
	}
	return dirs
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
func cronUserField(words []string, i int) bool {
	if strings.HasPrefix(words[0], "@") {
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

// shellWords splits line into words as sh and systemd do for the forms a
// cron line or ExecStart= uses: blanks separate, '...' and "..." quote,
// a backslash escapes the next character. Good enough to read a store's
// path; not a shell.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	esc := false
	op := false // the last word is an operator just read
	for _, r := range line {
		wasOp := op
		op = false
		switch {
		case esc:
			w.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == ';' || r == '&' || r == '|':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			// sh ends a command at an operator without blanks around
			// it too: "--dir /a;sessgc" is two commands, not a store
			// "/a;sessgc".
			if r != ' ' && r != '\t' {
				if n := len(words); n > 0 && wasOp && len(words[n-1]) == 1 {
					words[n-1] += string(r) // && or ||
				} else {
					words = append(words, string(r))
				}
				op = true
				continue
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}
