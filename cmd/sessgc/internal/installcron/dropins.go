package installcron

// What systemd adds to the unit install-cron writes: drop-ins
// (NAME.service.d/*.conf, and service.d/*.conf for every service) in the
// unit directories, which override the unit's own lines however it is
// rewritten, and the manager's DefaultEnvironment=, which every unit's
// processes get.

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/cmd/sessgc/internal/pass"
	"github.com/sessfs/sessfs/internal/shellquote"
)

// unitDirs are the directories systemd reads system units and their
// drop-ins from (systemd.unit(5)), below root ("" for /).
func unitDirs(root string) []string {
	var dirs []string
	for _, d := range []string{"/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient", "/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"} {
		dirs = append(dirs, filepath.Join(root, d))
	}
	return dirs
}

// checkDropIns looks at what systemd would add on this host to the units
// in files, written into dir: the drop-ins of each, in dir and, where
// dir is one of systemd's unit directories (below root), in all of them;
// and, there, the manager's DefaultEnvironment=. A drop-in that replaces
// the service's ExecStart= or User= is refused: systemd would run its
// command, or its user, not the one written, and the files would say
// one store while another, or none, is swept. The drop-ins are read as
// systemd reads them (dropInFiles), so that a later User= undoes an
// earlier one's and a masked drop-in is not read; an empty User= is
// root's. SESSGC_* variables set in
// a drop-in's Environment= or EnvironmentFile=, or in DefaultEnvironment=,
// are returned as warnings: each run takes them for the flags its command
// does not give (SESSGC_DRY_RUN=true sweeps nothing); SESSGC_DIR and the
// flags the command gives are overridden by it.
func checkDropIns(dir, root, storeDir, user string, files []File, given []string) (warnings []string, err error) {
	system := slices.Contains(unitDirs(root), filepath.Clean(dir))
	dirs := []string{dir}
	if system {
		dirs = unitDirs(root)
		if !slices.Contains(dirs, filepath.Clean(dir)) {
			dirs = append(dirs, dir)
		}
	}
	// env notes the SESSGC_* words of an environment line or file that
	// the written command does not override.
	//
	// SESSGC_DIR naming another store is refused (otherDir): the unit's
	// store where its command gives no --dir, which an operator's own
	// sessgc.service may leave to it, and which writing the unit for
	// --dir would stop sweeping without a word (as checkWrite refuses
	// for a unit that names it itself).
	var otherDir error
	env := func(where string, words []string, dropIn bool) {
		var set []string
		for _, w := range words {
			k, v, ok := strings.Cut(w, "=")
			if dropIn && ok && k == pass.EnvName("dir") && path.Clean(v) != path.Clean(storeDir) && otherDir == nil {
				otherDir = cmdutil.UsageErrorf("--write %s: %s sets %s for sessgc.service, the store it sweeps where its command gives no --dir: writing it for %s would stop the sweeps of %s; nothing was written. For a second store on this host, print the files (without --write) and install them under other names (such as sessgc-2.service and sessgc-2.timer); if %s is gone, remove that setting first", dir, where, w, storeDir, v, v)
			}
			if !ok || !strings.HasPrefix(k, pass.EnvPrefix) || slices.Contains(given, k) {
				continue
			}
			set = append(set, w)
		}
		if len(set) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s sets %s for every run of sessgc.service, which takes it for the flag its command does not give: check that it is meant (sessgc run --help)", where, strings.Join(set, " ")))
		}
	}
	for _, f := range files {
		ext := path.Ext(f.Name) // .service, .timer
		if ext == "" {
			continue
		}
		confs := dropInFiles(dirs, f.Name)
		// The User= of the last drop-in that sets it, which runs: systemd
		// reads them all in the order of their names, so a later one
		// undoes an earlier one's.
		userSet, lastUser, userFrom := false, "", ""
		// The service's commands as systemd runs them: the written one,
		// then each drop-in's ExecStart= in order, an empty one clearing
		// the list. A drop-in that sets the written command again
		// (ExecStart= then the same line, as an operator's override kept
		// from an earlier install does) changes nothing, and was refused.
		written := writtenExecStart(f)
		execStart, execFrom := []string{written}, ""
		for _, c := range confs {
			text, ok := readSmall(c)
			if !ok {
				continue
			}
			section := ""
			for _, line := range logicalLines(text) {
				line = strings.TrimSpace(line)
				if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
					section = line
					continue
				}
				k, v, ok := strings.Cut(line, "=")
				if !ok || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") || section != "[Service]" || ext != ".service" {
					continue
				}
				k, v = strings.TrimSpace(k), strings.TrimSpace(v)
				switch k {
				case "ExecStart":
					if v == "" {
						execStart = nil
					} else {
						execStart = append(execStart, v)
					}
					execFrom = c
				case "User":
					userSet, lastUser, userFrom = true, v, c
				case "Environment":
					env("the drop-in "+c, shellWords(v), true)
				case "EnvironmentFile":
					p := strings.TrimPrefix(v, "-")
					if t, ok := readSmall(filepath.Join(root, p)); ok {
						var words []string
						for _, l := range logicalLines(t) {
							l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "export "))
							if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
								if w := shellWords(strings.TrimSpace(v)); len(w) == 1 {
									v = w[0]
								}
								words = append(words, strings.TrimSpace(k)+"="+v)
							}
						}
						env(fmt.Sprintf("the drop-in %s's EnvironmentFile %s", c, p), words, true)
					}
				}
			}
		}
		if execFrom != "" {
			var what string
			switch other := slices.IndexFunc(execStart, func(v string) bool { return !sameExecStart(v, written) }); {
			case len(execStart) == 0:
				// Without a command after the reset, the service does
				// not start at all.
				what = "resets it, so the service would not start"
			case other >= 0:
				what = fmt.Sprintf("runs %s, so systemd would run that command, not the one written for --dir %s", execStart[other], storeDir)
			case len(execStart) > 1:
				// Added to the unit's without an empty ExecStart= first:
				// a oneshot service runs each in turn.
				what = fmt.Sprintf("adds the written command again without resetting the unit's (an empty ExecStart= first), so systemd would run it %d times in a row", len(execStart))
			}
			if what != "" {
				return nil, cmdutil.UsageErrorf("--write %s: the drop-in %s sets sessgc.service's ExecStart= and %s; nothing was written. Remove the drop-in (or its ExecStart= lines) first", dir, execFrom, what)
			}
		}
		switch {
		case !userSet || lastUser == user:
		case lastUser == "":
			// An empty User= resets it to systemd's default, not to the
			// unit's own line.
			if user != "root" {
				return nil, cmdutil.UsageErrorf("--write %s: the drop-in %s resets sessgc.service's User=, so every run would be root's, not --user's; nothing was written. Remove the drop-in (or its User= line)", dir, userFrom)
			}
		default:
			return nil, cmdutil.UsageErrorf("--write %s: the drop-in %s sets sessgc.service's User=%s, so every run would be %s's, not --user's; nothing was written. Remove the drop-in (or its User= line), or pass --user %s", dir, userFrom, lastUser, lastUser, shellquote.Quote(lastUser))
		}
	}
	if otherDir != nil {
		return nil, otherDir
	}
	if system && slices.ContainsFunc(files, func(f File) bool { return strings.HasSuffix(f.Name, ".service") }) {
		// system.conf, then its drop-ins of every directory systemd reads
		// them from, by name, as for a unit's.
		manager := []string{filepath.Join(root, "/etc/systemd/system.conf")}
		var confDirs []string
		for _, d := range []string{"/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd", "/lib/systemd"} {
			confDirs = append(confDirs, filepath.Join(root, d))
		}
		m := dropInFiles(confDirs, "system.conf")
		for _, c := range append(manager, m...) {
			text, ok := readSmall(c)
			if !ok {
				continue
			}
			for _, line := range logicalLines(text) {
				if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && strings.TrimSpace(k) == "DefaultEnvironment" {
					// Every unit's: set for the applications, not this one's store.
					env(c+"'s DefaultEnvironment=", shellWords(strings.TrimSpace(v)), false)
				}
			}
		}
	}
	return warnings, nil
}

// writtenExecStart returns the command of f's ExecStart= line, "" for a
// file without one (the timer).
func writtenExecStart(f File) string {
	for _, line := range logicalLines(string(f.Content)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ExecStart="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// dropInFiles returns the drop-ins systemd applies to the unit name from
// dirs, given highest priority first: NAME.d/*.conf and, for every unit
// of its type, TYPE.d/*.conf (service.d), in the order systemd reads
// them, by file name whatever their directory. Of the drop-ins of one
// file name only the first found is read, as systemd reads it: one in
// /etc/systemd/system, a link to /dev/null or an empty file, masks one of
// that name in /usr/lib/systemd/system. For the manager's system.conf,
// its system.conf.d alone.
func dropInFiles(dirs []string, name string) []string {
	seen := map[string]bool{}
	var confs []string
	subs := []string{name + ".d"}
	if ext := path.Ext(name); ext != ".conf" {
		subs = append(subs, strings.TrimPrefix(ext, ".")+".d")
	}
	for _, d := range dirs {
		for _, sub := range subs {
			m, _ := filepath.Glob(filepath.Join(d, sub, "*.conf"))
			for _, c := range m {
				if b := filepath.Base(c); !seen[b] {
					seen[b] = true
					confs = append(confs, c)
				}
			}
		}
	}
	slices.SortStableFunc(confs, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	return confs
}

// readSmall returns the text of the file at p, a unit, drop-in or
// environment file of a few KiB; false where it cannot be read.
func readSmall(p string) (string, bool) {
	f, err := os.Open(p)
	if err != nil {
		return "", false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	return string(b), err == nil
}

// sameExecStart reports whether systemd runs the ExecStart= commands a and
// b alike: the same words, as systemd splits them (blanks separate, '...'
// and "..." quote). systemd runs no shell, so a redirection (2>/dev/null),
// a $(...) or a ; is an argument to the command, which sessgc refuses:
// read as sh reads it, a drop-in adding one passed for the written
// command, and the service failed at every run. A C escape (\n, \x41),
// or a quote left open, counts as a different command; so does a prefix (-, @, +, !,
// :), which changes how systemd runs it.
func sameExecStart(a, b string) bool {
	wa, oka := execWords(a)
	wb, okb := execWords(b)
	return oka && okb && slices.Equal(wa, wb)
}

// execWords splits an ExecStart= command into its words as systemd does,
// false where it holds an escape other than \\, \', \" and "\ ", or an
// unclosed quote.
func execWords(line string) ([]string, bool) {
	var words []string
	var w strings.Builder
	in, quote := false, byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\':
			// An escaped quote, backslash or blank is itself (shellquote's
			// '\'' for a path with a quote); other escapes are C's, which
			// systemd reads and this does not.
			if i+1 == len(line) || !strings.ContainsRune(`'"\ `, rune(line[i+1])) {
				return nil, false
			}
			i++
			w.WriteByte(line[i])
			in = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				w.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, in = c, true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if quote != 0 {
		return nil, false
	}
	if in {
		words = append(words, w.String())
	}
	return words, true
}
