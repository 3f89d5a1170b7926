package pass

import (
	"fmt"
	"strings"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/internal/keyline"

	"github.com/sessfs/sessfs/fsstore"
)

// KeysEnv is the environment variable that holds a key set itself: a keys
// file's text, in which ";" also ends a key line (see inlineKeyLines).
// There is deliberately no flag taking key material: command lines are
// visible to every user in ps and /proc, and end up in shell history.
const KeysEnv = EnvPrefix + "KEYS"

// LoadKeys returns the key set of a command that reads encrypted records.
// file is the --keys-file value (or SESSGC_KEYS_FILE, applied by ApplyEnv);
// fileFromFlag says whether it came from the command line. The command line
// wins over the environment; SESSGC_KEYS_FILE and SESSGC_KEYS both set is
// ambiguous (which keys would a rotation use?) and refused. trusted
// (--keys-file-trusted) takes a keys file that a user other than root and
// sessgc's could replace, which is refused otherwise
// (fsstore.KeysFromFileTrusted).
//
// Every failure is a usage error (exit 2): it is the job's configuration
// that is wrong, not the store. Messages never quote secret material.
func LoadKeys(file string, fileFromFlag, trusted bool, getenv func(string) string) ([]fsstore.Key, error) {
	inline := getenv(KeysEnv)
	if strings.TrimSpace(inline) == "" {
		inline = ""
	}
	var (
		keys []fsstore.Key
		err  error
	)
	switch {
	case file != "" && inline != "" && !fileFromFlag:
		return nil, cmdutil.UsageErrorf("both %s and %s are set; set only one", EnvName("keys-file"), KeysEnv)
	case file != "":
		read := fsstore.KeysFromFile
		if trusted {
			read = fsstore.KeysFromFileTrusted
		}
		if keys, err = read(file); err != nil {
			return nil, cmdutil.UsageErrorf("--keys-file: %w", err)
		}
	case inline != "":
		// Read through the injected getenv so that tests can supply it.
		text, err := inlineKeyLines(inline)
		if err != nil {
			return nil, cmdutil.UsageErrorf("%s: %w", KeysEnv, err)
		}
		if keys, err = fsstore.ParseKeys(strings.NewReader(text)); err != nil {
			return nil, cmdutil.UsageErrorf("%s: %w", KeysEnv, err)
		}
	default:
		return nil, cmdutil.UsageErrorf("no keys: pass --keys-file FILE, or set %s or %s (keys are never taken from the command line)",
			EnvName("keys-file"), KeysEnv)
	}
	// fsstore.Open would refuse such a key set too, but as a store error;
	// it is a mistake in the key file.
	if err := fsstore.CheckKeys(keys); err != nil {
		return nil, cmdutil.UsageErrorf("%w", err)
	}
	return keys, nil
}

// inlineKeyLines turns SESSGC_KEYS's value into a keys file's text. The
// value is often a keys file's own text (SESSGC_KEYS="$(cat keys)", a
// systemd credential), so it must read as that file reads: a # comment runs
// to the end of its line, ";" in it included ("# rotated; see the
// runbook"). Outside comments ";" ends a key line too, for values written
// on one line. A comment whose text after a ";" holds a key's secret is
// refused: whether that key was meant commented out ("# retired; 1 KEY" in
// the file) or meant to be read ("# staging;1 KEY" on one line) cannot be
// told, and either guess takes a key set the operator did not mean.
// Messages never quote the value: it holds secrets.
func inlineKeyLines(v string) (string, error) {
	var b strings.Builder
	for n, line := range strings.Split(v, "\n") {
		if n > 0 {
			b.WriteByte('\n')
		}
		for first := n == 0; ; first = false {
			seg, rest, more := strings.Cut(line, ";")
			head := strings.TrimSpace(seg)
			if first {
				// ParseKeys skips a UTF-8 byte-order mark at the start.
				head = strings.TrimSpace(strings.TrimPrefix(head, "\ufeff"))
			}
			if strings.HasPrefix(head, "#") {
				if more && keyline.Holds(rest) {
					return "", fmt.Errorf("line %d: a # comment holds \";\" and a key after it: a comment runs to the end of its line, as in a keys file, so the key is not read; put the key on a line of its own to use it, or remove it to retire it", n+1)
				}
				b.WriteString(line)
				break
			}
			b.WriteString(seg)
			if !more {
				break
			}
			b.WriteByte('\n')
			line = rest
		}
	}
	return b.String(), nil
}
