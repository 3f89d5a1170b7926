package pass

import (
	"strings"

	"github.com/sessfs/sessfs/cmd/internal/cmdutil"
	"github.com/sessfs/sessfs/internal/keyline"

	"github.com/sessfs/sessfs/fsstore"
)

// KeysEnv is the environment variable that holds a key set itself: a keys
// file's text, in which ";" also ends a key line (see keyline.Inline).
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
		text, err := keyline.Inline(inline)
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
