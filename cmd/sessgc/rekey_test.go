//go:build unix

package main_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/lock"
)

// rekeySummary mirrors the documented `sessgc rekey --json` fields.
type rekeySummary struct {
	Event        string   `json:"event"`
	Dir          string   `json:"dir"`
	KeyID        uint32   `json:"key_id"`
	Skipped      bool     `json:"skipped"`
	SkipReason   string   `json:"skip_reason"`
	StoppedEarly bool     `json:"stopped_early"`
	StopReason   string   `json:"stop_reason"`
	Scanned      int64    `json:"scanned"`
	Rekeyed      int64    `json:"rekeyed"`
	UpToDate     int64    `json:"up_to_date"`
	Expired      int64    `json:"expired"`
	Plaintext    int64    `json:"plaintext"`
	Errors       int64    `json:"errors"`
	ErrorSamples []string `json:"error_samples"`
	Error        string   `json:"error"`
	DurationSecs float64  `json:"duration_seconds"`
	ExitCode     int      `json:"exit_code"`
}

func rekeyJSON(t *testing.T, r result) rekeySummary {
	t.Helper()
	var s rekeySummary
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || s.Event != "summary" {
		t.Fatalf("rekey --json output %q is not one summary object (%v); stderr %s", r.stdout, err, r.stderr)
	}
	if s.ExitCode != r.code {
		t.Errorf("summary exit_code %d, process exited %d", s.ExitCode, r.code)
	}
	if s.Scanned != s.Rekeyed+s.UpToDate+s.Expired+s.Errors {
		t.Errorf("scanned %d != rekeyed %d + up to date %d + expired %d + errors %d", s.Scanned, s.Rekeyed, s.UpToDate, s.Expired, s.Errors)
	}
	return s
}

func newKey(t *testing.T, id uint32) fsstore.Key {
	t.Helper()
	k, err := fsstore.NewKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyLines formats a key set as a key file or SESSGC_KEYS value.
func keyLines(sep string, keys ...fsstore.Key) string {
	var l []string
	for _, k := range keys {
		l = append(l, k.SecretLine())
	}
	return strings.Join(l, sep) + sep
}

// writeKeys writes a key file with the given mode and returns its path.
func writeKeys(t *testing.T, mode os.FileMode, keys ...fsstore.Key) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, []byte("# sessfs keys, newest first\n"+keyLines("\n", keys...)), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	return p
}

// notRoots gives the file at p to another user than root, when the tests
// run as root: root's group-readable keys file is allowed.
func notRoots(t *testing.T, p string) string {
	t.Helper()
	if os.Geteuid() == 0 {
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// deployKeys opens dir with keys as an application host does once an
// operator deployed them, which writes their check files: a rekey refuses
// a newest key that no host has opened the store with.
func deployKeys(t *testing.T, dir string, keys ...fsstore.Key) {
	t.Helper()
	s, err := fsstore.Open(dir, fsstore.WithCreate(false), fsstore.WithKeys(keys...))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// loadAll opens dir with keys and checks every session loads with the
// payload save gave it.
func loadAll(t *testing.T, dir string, ids []string, keys ...fsstore.Key) error {
	t.Helper()
	s, err := fsstore.Open(dir, fsstore.WithCreate(false), fsstore.WithKeys(keys...))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range ids {
		got, err := s.Load(context.Background(), id)
		if err != nil {
			return err
		}
		if string(got.Data) != "payload "+id {
			t.Fatalf("session %s: payload %q", id, got.Data)
		}
	}
	return nil
}

func TestRekeyRoundTrip(t *testing.T) {
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	ids := st.save(30)
	mtimes := st.mtimes(ids)
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)

	r := runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0", "--json"})
	s := rekeyJSON(t, r)
	if r.code != 0 || s.Rekeyed != 30 || s.UpToDate != 0 || s.Errors != 0 || s.KeyID != 2 || s.StoppedEarly {
		t.Fatalf("first rekey: exit %d, %+v, stderr %s", r.code, s, r.stderr)
	}
	// Rekeying is not activity: every record keeps its last-activity time.
	st.keptMtimes(ids, mtimes)
	// The new key alone reads everything; the old key alone reads nothing.
	if err := loadAll(t, st.dir, ids, k2); err != nil {
		t.Fatalf("with only the new key: %v", err)
	}
	if err := loadAll(t, st.dir, ids[:1], k1); !errors.Is(err, fsstore.ErrUnknownKey) {
		t.Errorf("with only the old key: %v, want ErrUnknownKey", err)
	}

	// A second pass has nothing to do.
	r = runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0", "--json"})
	if s := rekeyJSON(t, r); r.code != 0 || s.Rekeyed != 0 || s.UpToDate != 30 {
		t.Errorf("second rekey: exit %d, %+v", r.code, s)
	}
	// Human output.
	r = runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys})
	if r.code != 0 || !strings.Contains(r.stdout, "to key 2") || !strings.Contains(r.stdout, "rewrote 0 records, 30 already up to date") {
		t.Errorf("human: exit %d, %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys, "-q"}); r.code != 0 || r.stdout != "" {
		t.Errorf("quiet: exit %d, %q", r.code, r.stdout)
	}
}

// TestRekeyPlaintextStore: enabling encryption on an existing store (the
// application hosts opened with keys and WithPlaintextMigration), then
// rekeying with --migrate-plaintext, encrypts the records written before.
// Without the flag they are errors: a rekey must not turn a record forged
// in clear text into a valid encrypted one. Before any host has the keys,
// a rekey is refused with the flag or without, and changes nothing.
func TestRekeyPlaintextStore(t *testing.T) {
	st := newStore(t) // a keyless application host, running throughout
	ids := st.save(5)
	k1 := newKey(t, 1)
	for _, args := range [][]string{nil, {"--migrate-plaintext"}} {
		// The store is refused as it is: marked encrypted, its keyless
		// hosts would fail every save and restart; and none of them could
		// read a record sealed with a key that only sessgc has.
		r := runGC(t, append([]string{"rekey", "--dir", st.dir, "--rate", "0", "--json"}, args...), "SESSGC_KEYS="+keyLines(";", k1))
		if s := rekeyJSON(t, r); r.code != 3 || s.Scanned != 0 || s.Rekeyed != 0 {
			t.Fatalf("rekey %v before any host has keys: exit %d, %+v, stderr %s", args, r.code, s, r.stderr)
		}
		if !strings.Contains(r.stderr, "not an encrypted store") || !strings.Contains(r.stderr, "--migrate-plaintext") {
			t.Errorf("rekey %v before any host has keys: stderr %q does not say why, nor what to do", args, r.stderr)
		}
		if _, err := os.Lstat(filepath.Join(st.dir, ".keycheck-1")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("rekey %v before any host has keys wrote key 1's check file (%v)", args, err)
		}
		if err := st.s.Save(context.Background(), &fsstore.Session{ID: ids[0], Data: []byte("payload " + ids[0])}); err != nil {
			t.Errorf("keyless application save after the refused rekey %v: %v", args, err)
		}
		if s, err := fsstore.Open(st.dir); err != nil {
			t.Errorf("keyless application restart after the refused rekey %v: %v", args, err)
		} else {
			s.Close()
		}
	}
	// Step 1 of the migration (docs/security.md): the application hosts
	// get the keys, with WithPlaintextMigration.
	host, err := fsstore.Open(st.dir, fsstore.WithCreate(false), fsstore.WithKeys(k1), fsstore.WithPlaintextMigration())
	if err != nil {
		t.Fatal(err)
	}
	host.Close()
	r := runGC(t, []string{"rekey", "--dir", st.dir, "--rate", "0", "--json", "--migrate-plaintext"}, "SESSGC_KEYS="+keyLines(";", k1))
	if s := rekeyJSON(t, r); r.code != 0 || s.Rekeyed != 5 || s.Plaintext != 5 {
		t.Fatalf("exit %d, %+v, stderr %s", r.code, s, r.stderr)
	}
	for _, id := range ids {
		b, err := os.ReadFile(st.path(id))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "payload "+id) {
			t.Errorf("record of %s still holds its payload in clear", id)
		}
	}
	if err := loadAll(t, st.dir, ids, k1); err != nil {
		t.Fatal(err)
	}
}

// TestRekeyStaleKeySet: sessgc's keys file still has the first step of a
// rotation, [1, 2], where the hosts have moved key 2 first: the records
// they sealed under key 2 are left there, the run fails (exit 1) and says
// that this key set is older than the hosts', rather than report them
// rewritten "to key 1", which retiring key 1 would then log out.
func TestRekeyStaleKeySet(t *testing.T) {
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	ids := st.save(3)
	hourAgo := time.Now().Add(-time.Hour) // key 1 reached the hosts first
	if err := os.Chtimes(filepath.Join(st.dir, ".keycheck-1"), hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	host, err := fsstore.Open(st.dir, fsstore.WithCreate(false), fsstore.WithKeys(k2, k1))
	if err != nil {
		t.Fatal(err)
	}
	fresh := "fresh-session-sealed-under-key-2"
	if err := host.Save(context.Background(), &fsstore.Session{ID: fresh, Data: []byte("payload " + fresh)}); err != nil {
		t.Fatal(err)
	}
	host.Close()

	r := runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", writeKeys(t, 0o600, k1, k2), "--rate", "0", "--json"})
	s := rekeyJSON(t, r)
	if r.code != 1 || s.Rekeyed != 0 || s.UpToDate != 3 || s.Errors != 1 {
		t.Fatalf("rekey with a stale key set: exit %d, %+v; want exit 1, the key 2 record an error, nothing rewritten", r.code, s)
	}
	if !strings.Contains(r.stderr, "older than theirs") {
		t.Errorf("stderr %q does not say that the key set is older than the hosts'", r.stderr)
	}
	if err := loadAll(t, st.dir, []string{fresh}, k2); err != nil {
		t.Errorf("the session the hosts sealed under key 2: %v", err)
	}
	if err := loadAll(t, st.dir, ids, k2, k1); err != nil {
		t.Error(err)
	}
}

// TestRekeyResume stops a rate-limited pass with --max-duration and
// finishes it with a second pass. Only counts are asserted: the rate makes
// the first pass unable to finish within its budget, whatever the machine.
func TestRekeyResume(t *testing.T) {
	const n = 100
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	ids := st.save(n)
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)

	// 100 records at 50/s need 2 s; the budget is 300 ms.
	r := runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "50", "--max-duration", "300ms", "--json"})
	first := rekeyJSON(t, r)
	if r.code != 0 || !first.StoppedEarly || first.StopReason != "max-duration" || first.Rekeyed >= n || first.Errors != 0 {
		t.Fatalf("bounded pass: exit %d, %+v, stderr %s", r.code, first, r.stderr)
	}
	t.Logf("bounded pass rewrote %d of %d records", first.Rekeyed, n)

	r = runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0", "--json"})
	second := rekeyJSON(t, r)
	if r.code != 0 || second.StoppedEarly || second.Errors != 0 || second.Scanned != n {
		t.Fatalf("resumed pass: exit %d, %+v", r.code, second)
	}
	if first.Rekeyed+second.Rekeyed != n || second.UpToDate != first.Rekeyed {
		t.Errorf("first pass rewrote %d, second %d (up to date %d); want %d in all, each once",
			first.Rekeyed, second.Rekeyed, second.UpToDate, n)
	}
	if err := loadAll(t, st.dir, ids, k2); err != nil {
		t.Fatal(err)
	}
	// Human output names the early stop.
	r = runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--max-duration", "1h"})
	if r.code != 0 || strings.Contains(r.stdout, "stopped early") {
		t.Errorf("exit %d, %q", r.code, r.stdout)
	}
}

func TestRekeyKeySources(t *testing.T) {
	k1, k2 := newKey(t, 1), newKey(t, 2)
	wrong1 := newKey(t, 1) // same ID as the store's key, another secret
	good := writeKeys(t, 0o600, k2, k1)
	goodEnvFile := writeKeys(t, 0o600, k2, k1)
	secretish := "2 c2VjcmV0LXNlY3JldC1zZWNyZXQ=" // 21 bytes: malformed
	// A keys file in a directory that everyone may write, without the
	// sticky bit: anyone could replace it.
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	replaceable := filepath.Join(shared, "keys")
	if err := os.WriteFile(replaceable, []byte(keyLines("\n", k2, k1)), 0o600); err != nil {
		t.Fatal(err)
	}
	sharedWorldReadable := filepath.Join(shared, "keys-644")
	if err := os.WriteFile(sharedWorldReadable, []byte(keyLines("\n", k2, k1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sharedWorldReadable, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string // after rekey --dir DIR --json
		env     []string
		code    int
		msg     string // in stderr
		rekeyed int64
	}{
		{name: "keys file", args: []string{"--keys-file", good}, rekeyed: 3},
		{name: "SESSGC_KEYS_FILE", env: []string{"SESSGC_KEYS_FILE=" + goodEnvFile}, rekeyed: 3},
		{name: "SESSGC_KEYS newline", env: []string{"SESSGC_KEYS=" + keyLines("\n", k2, k1)}, rekeyed: 3},
		{name: "SESSGC_KEYS semicolon", env: []string{"SESSGC_KEYS=" + keyLines(";", k2, k1)}, rekeyed: 3},
		{name: "flag beats SESSGC_KEYS", args: []string{"--keys-file", good}, env: []string{"SESSGC_KEYS=" + secretish}, rekeyed: 3},
		{name: "both variables", env: []string{"SESSGC_KEYS_FILE=" + good, "SESSGC_KEYS=" + keyLines(";", k2, k1)}, code: 2, msg: "both SESSGC_KEYS_FILE and SESSGC_KEYS are set"},
		{name: "no keys", code: 2, msg: "no keys: pass --keys-file"},
		{name: "world-readable file", args: []string{"--keys-file", writeKeys(t, 0o644, k2, k1)}, code: 2, msg: "readable by group or others"},
		{name: "group-readable file", args: []string{"--keys-file", notRoots(t, writeKeys(t, 0o640, k2, k1))}, code: 2, msg: "chmod 600"},
		{name: "missing file", args: []string{"--keys-file", filepath.Join(t.TempDir(), "nope")}, code: 2, msg: "no such file"},
		{name: "malformed SESSGC_KEYS", env: []string{"SESSGC_KEYS=" + secretish}, code: 2, msg: "secret must be 32 bytes"},
		{name: "duplicate ID", args: []string{"--keys-file", writeKeys(t, 0o600, k2, k1, k2)}, code: 2, msg: "key ID 2 appears twice"},
		{name: "one secret under two IDs", args: []string{"--keys-file", writeKeys(t, 0o600, k2, k1, fsstore.Key{ID: 3, Secret: k1.Secret})}, code: 2, msg: "keys 1 and 3 have the same secret"},
		{name: "keys file others could replace", args: []string{"--keys-file", replaceable}, code: 2, msg: "writable by group or others"},
		{name: "refusal names --keys-file-trusted", args: []string{"--keys-file", replaceable}, code: 2, msg: "sessgc: --keys-file-trusted"},
		{name: "--keys-file-trusted", args: []string{"--keys-file", replaceable, "--keys-file-trusted"}, rekeyed: 3},
		{name: "SESSGC_KEYS_FILE_TRUSTED", env: []string{"SESSGC_KEYS_FILE=" + replaceable, "SESSGC_KEYS_FILE_TRUSTED=true"}, rekeyed: 3},
		{name: "trusted, still not world-readable", args: []string{"--keys-file", sharedWorldReadable, "--keys-file-trusted"}, code: 2, msg: "readable by group or others"},
		{name: "wrong key", args: []string{"--keys-file", writeKeys(t, 0o600, k2, wrong1)}, code: 3, msg: "wrong key"},
		{name: "old key missing", args: []string{"--keys-file", writeKeys(t, 0o600, k2)}, code: 1, msg: "not configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t, fsstore.WithKeys(k1))
			ids := st.save(3)
			deployKeys(t, st.dir, k2, k1)
			before := snapshot(t, st.dir)
			r := runGC(t, append([]string{"rekey", "--dir", st.dir, "--rate", "0", "--json"}, tc.args...), tc.env...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tc.code, tc.msg)
			}
			if strings.Contains(r.stderr+r.stdout, strings.Fields(secretish)[1]) || strings.Contains(r.stderr+r.stdout, k1.SecretLine()[2:]) {
				t.Errorf("output quotes secret material: %q %q", r.stdout, r.stderr)
			}
			s := rekeyJSON(t, r)
			if s.Rekeyed != tc.rekeyed {
				t.Errorf("rekeyed %d, want %d", s.Rekeyed, tc.rekeyed)
			}
			switch tc.code {
			case 0:
				if err := loadAll(t, st.dir, ids, k2); err != nil {
					t.Errorf("after rekey, with the new key only: %v", err)
				}
			case 2, 3:
				// Nothing rewritten. (Opening with a new key may add its
				// .keycheck file at the top, which snapshot shows.)
				after := snapshot(t, st.dir)
				for _, l := range before {
					if !contains(after, l) {
						t.Errorf("changed: %s", l)
					}
				}
			}
		})
	}
}

func TestKeygen(t *testing.T) {
	r1 := runGC(t, []string{"keygen", "--id", "7"})
	r2 := runGC(t, []string{"keygen", "--id", "7"})
	if r1.code != 0 || r2.code != 0 {
		t.Fatalf("exit %d/%d: %s%s", r1.code, r2.code, r1.stderr, r2.stderr)
	}
	keys, err := fsstore.ParseKeys(strings.NewReader(r1.stdout))
	if err != nil || len(keys) != 1 || keys[0].ID != 7 || len(keys[0].Secret) != 32 || strings.Count(r1.stdout, "\n") != 1 {
		t.Fatalf("keygen output %q: %v %v", r1.stdout, keys, err)
	}
	if r1.stdout == r2.stdout {
		t.Error("two keygen runs printed the same key")
	}
	for _, args := range [][]string{{"keygen"}, {"keygen", "--id", "0"}, {"keygen", "--id", "-1"}, {"keygen", "--id", "4294967296"}, {"keygen", "--id", "0x10"}} {
		if r := runGC(t, args); r.code != 2 || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
	// Key 10, not octal 8: a key ID is decimal wherever an operator types it.
	if r := runGC(t, []string{"keygen", "--id", "010"}); r.code != 0 || !strings.HasPrefix(r.stdout, "10 ") {
		t.Errorf("keygen --id 010: exit %d, %q: want key 10", r.code, strings.SplitN(r.stdout, " ", 2)[0])
	}

	// The key set of the documented rotation once the new key is first
	// (step 2), as rekey reads it.
	k1 := newKey(t, 1)
	st := newStore(t, fsstore.WithKeys(k1))
	ids := st.save(4)
	keysFile := writeKeys(t, 0o600, append([]fsstore.Key{}, keys[0], k1)...)
	deployKeys(t, st.dir, keys[0], k1)
	r := runGC(t, []string{"rekey", "--dir", st.dir, "--keys-file", keysFile, "--rate", "0", "--json"})
	if s := rekeyJSON(t, r); r.code != 0 || s.Rekeyed != 4 || s.KeyID != 7 {
		t.Fatalf("rekey with a keygen key: exit %d, %+v", r.code, s)
	}
	if err := loadAll(t, st.dir, ids, keys[0]); err != nil {
		t.Fatal(err)
	}
}

func TestRekeyFleetLock(t *testing.T) {
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	st.save(3)
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)
	args := []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0", "--json"}

	// The sweep's fleet lock does not stop a rekey.
	sweepLock, err := lock.TryLockFile(filepath.Join(st.dir, fsstore.LockDir, ".sessgc"))
	if err != nil {
		t.Fatal(err)
	}
	defer sweepLock.Unlock()

	// Another rekey's lock does: one line, exit 0, nothing done.
	l, err := lock.TryLockFile(filepath.Join(st.dir, fsstore.LockDir, ".sessgc-rekey"))
	if err != nil {
		t.Fatal(err)
	}
	r := runGC(t, args)
	if s := rekeyJSON(t, r); r.code != 0 || !s.Skipped || s.SkipReason != "fleet-lock-held" || s.Scanned != 0 {
		t.Errorf("while another rekey runs: exit %d, %+v", r.code, s)
	}
	r = runGC(t, args[:len(args)-1])
	if r.code != 0 || !strings.Contains(r.stdout, "another rekey of") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("human: exit %d, %q", r.code, r.stdout)
	}
	r = runGC(t, append(args, "--no-fleet-lock"))
	if s := rekeyJSON(t, r); r.code != 0 || s.Skipped || s.Rekeyed != 3 {
		t.Errorf("--no-fleet-lock: exit %d, %+v", r.code, s)
	}
	l.Unlock()
	r = runGC(t, args)
	if s := rekeyJSON(t, r); r.code != 0 || s.Skipped || s.UpToDate != 3 {
		t.Errorf("after the lock is released: exit %d, %+v", r.code, s)
	}
}

func TestRekeyBadInput(t *testing.T) {
	k1 := newKey(t, 1)
	keys := writeKeys(t, 0o600, k1)
	notStore := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no dir", []string{"rekey", "--keys-file", keys}, 2, "pass --dir or set SESSGC_DIR"},
		{"not a store", []string{"rekey", "--dir", notStore, "--keys-file", keys}, 3, "is not a sessfs store"},
		{"bad rate", []string{"rekey", "--dir", notStore, "--keys-file", keys, "--rate", "-1"}, 2, "--rate -1"},
		{"bad concurrency", []string{"rekey", "--dir", notStore, "--keys-file", keys, "-c", "65"}, 2, "--concurrency 65"},
		{"bad grace", []string{"rekey", "--dir", notStore, "--keys-file", keys, "--grace", "0"}, 2, "--grace 0s"},
		{"key on the command line", []string{"rekey", "--dir", notStore, "--keys", k1.SecretLine()}, 2, "unknown flag: --keys"},
		{"argument", []string{"rekey", "--dir", notStore, "--keys-file", keys, "now"}, 2, "takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runGC(t, tc.args)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.msg)
			}
		})
	}
	if entries, _ := os.ReadDir(notStore); len(entries) != 0 {
		t.Errorf("rekey wrote into a directory that is not a store: %v", entries)
	}
}

// TestRekeyKeysGivenAsKeysFileNotQuoted: the keys themselves given where
// the keys file's path goes (SESSGC_KEYS_FILE="$(cat keys)", the variable
// mistaken for SESSGC_KEYS, or --keys-file "$(cat keys)") fail as a usage
// error that repeats no secret, in any output. The error named the path,
// the secret with it, five times (the last in the variable quoted back),
// and told to make a keys file under that name.
func TestRekeyKeysGivenAsKeysFileNotQuoted(t *testing.T) {
	st := newStore(t, fsstore.WithKeys(newKey(t, 1)))
	k1, k2 := newKey(t, 1), newKey(t, 2)
	text := k2.SecretLine() + "\n" + k1.SecretLine() + "\n"
	secrets := []string{
		base64.StdEncoding.EncodeToString(k1.Secret)[:16],
		base64.StdEncoding.EncodeToString(k2.Secret)[:16],
	}
	for _, tc := range []struct {
		name string
		args []string
		env  []string
	}{
		{"variable", []string{"rekey", "--dir", st.dir}, []string{"SESSGC_KEYS_FILE=" + text}},
		{"variable, json", []string{"rekey", "--dir", st.dir, "--json"}, []string{"SESSGC_KEYS_FILE=" + k1.SecretLine()}},
		{"flag", []string{"rekey", "--dir", st.dir, "--keys-file", k1.SecretLine()}, nil},
		// What cobra and pflag say of a command line quote it back: the
		// flag given twice, a value another flag refuses, and the
		// substitution left unquoted (--keys-file $(cat keys)), whose
		// secrets are then arguments.
		{"flag twice", []string{"rekey", "--dir", st.dir, "--keys-file", text, "--keys-file", text}, nil},
		{"another flag", []string{"rekey", "--dir", st.dir, "--rate", text}, nil},
		{"unquoted", append([]string{"rekey", "--dir", st.dir, "--keys-file"}, strings.Fields(text)...), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runGC(t, tc.args, tc.env...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2 (usage); stderr: %s", r.code, r.stderr)
			}
			for _, s := range secrets {
				if strings.Contains(r.stdout+r.stderr, s) {
					t.Errorf("the output repeats a secret:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
				}
			}
		})
	}
}

// TestRekeyMigratePlaintextSaysWhatItEncrypted: a rekey with
// --migrate-plaintext left in a job after the migration (or run on a store
// encrypted from the start) encrypts a plaintext record planted by someone
// who can write the mount, which turns the forgery into a valid session:
// nothing in the store tells it from a record left from before the
// migration. It must not do so silently: its standard error names the
// record and says what encrypting it means, the summary counts it, and the
// textfile has it for an alert; only --json counted it.
func TestRekeyMigratePlaintextSaysWhatItEncrypted(t *testing.T) {
	st := newStore(t) // its plaintext record stands for a forged one
	forged := st.save(1)[0]
	k1 := newKey(t, 1)
	host, err := fsstore.Open(st.dir, fsstore.WithCreate(false), fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		id, _ := fsstore.NewID()
		if err := host.Save(context.Background(), &fsstore.Session{ID: id, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	host.Close()
	prom := filepath.Join(t.TempDir(), "rekey.prom")
	r := runGC(t, []string{"rekey", "--dir", st.dir, "--rate", "0", "--migrate-plaintext", "--textfile", prom}, "SESSGC_KEYS="+k1.SecretLine())
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, st.path(forged)) || !strings.Contains(r.stderr, "forgery") {
		t.Errorf("stderr does not name the plaintext record %s it encrypted, nor say that it may be a forgery made valid:\n%s", st.path(forged), r.stderr)
	}
	if !strings.Contains(r.stdout, "1 of them plaintext") {
		t.Errorf("summary does not count the plaintext record encrypted: %q", r.stdout)
	}
	if got := promFile(t, prom, st.dir)["sessgc_rekey_plaintext_records"]; got != 1 {
		t.Errorf("sessgc_rekey_plaintext_records = %v, want 1", got)
	}
}

// TestRekeyWhileAnApplicationRekeys: the store lets one rekey pass run at
// a time, whoever runs it: an application's Rekey, which takes no fleet
// lock, holds the store's own lock (locks/rekey) while it runs. sessgc
// rekey, past its fleet lock or with none, then says another rekey is
// running and exits 0, doing nothing, as for a fleet lock held: it ran
// alongside, and failed the records near their expiry that met the sweep
// lock the other rekey held, saying a sweep was running.
func TestRekeyWhileAnApplicationRekeys(t *testing.T) {
	k1, k2 := newKey(t, 1), newKey(t, 2)
	st := newStore(t, fsstore.WithKeys(k1))
	st.save(3)
	keys := writeKeys(t, 0o600, k2, k1)
	deployKeys(t, st.dir, k2, k1)
	args := []string{"rekey", "--dir", st.dir, "--keys-file", keys, "--rate", "0", "--json"}

	l, err := lock.TryLockFile(filepath.Join(st.dir, fsstore.LockDir, "rekey"))
	if err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--no-fleet-lock"}} {
		r := runGC(t, append(append([]string{}, args...), extra...))
		if s := rekeyJSON(t, r); r.code != 0 || !s.Skipped || s.SkipReason != "rekey-running" || s.Scanned != 0 {
			t.Errorf("%v while an application's rekey runs: exit %d, %+v; want skipped, rekey-running", extra, r.code, s)
		}
	}
	r := runGC(t, args[:len(args)-1])
	if r.code != 0 || !strings.Contains(r.stdout, "another rekey of") || !strings.Contains(r.stdout, "locks/rekey") ||
		!strings.Contains(r.stdout, "until its lease locks/rekey.lease expires") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("human: exit %d, %q; want one line saying another rekey holds locks/rekey, or one that died its lease", r.code, r.stdout)
	}
	l.Unlock()
	r = runGC(t, args)
	if s := rekeyJSON(t, r); r.code != 0 || s.Skipped || s.Rekeyed != 3 {
		t.Errorf("after the application's rekey ended: exit %d, %+v", r.code, s)
	}
}
