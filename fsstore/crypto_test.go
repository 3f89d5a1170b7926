package fsstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

func mustKey(t *testing.T, id uint32) fsstore.Key {
	t.Helper()
	k, err := fsstore.NewKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// recordPath finds the single record file for a store holding one session.
func recordPaths(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(dir, fsstore.DataDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && len(d.Name()) == 32 {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestEncryptionRoundTripAndRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	secret := []byte("payload-with-a-secret-marker")

	s1, err := fsstore.Open(dir, fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = newID(t)
		if err := s1.Save(ctx, &fsstore.Session{ID: ids[i], Data: secret}); err != nil {
			t.Fatal(err)
		}
	}
	s1.Close()
	for _, p := range recordPaths(t, dir) {
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, secret) {
			t.Fatalf("%s holds the payload in clear", p)
		}
	}

	// Rotation: k2 newest, k1 still accepted.
	s2, err := fsstore.Open(dir, fsstore.WithKeys(k2, k1))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, id := range ids {
		got, err := s2.Load(ctx, id)
		if err != nil || !bytes.Equal(got.Data, secret) {
			t.Fatalf("old-key record after rotation: %v", err)
		}
	}
	st, err := s2.Rekey(ctx, fsstore.RekeyOptions{})
	if err != nil || st.Rekeyed != int64(len(ids)) {
		t.Fatalf("rekey: %+v %v", st, err)
	}
	st, err = s2.Rekey(ctx, fsstore.RekeyOptions{})
	if err != nil || st.Rekeyed != 0 || st.UpToDate != int64(len(ids)) {
		t.Fatalf("second rekey pass should convert nothing: %+v %v", st, err)
	}
	// Only k2 now: everything still loads.
	s3, err := fsstore.Open(dir, fsstore.WithKeys(k2))
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	for _, id := range ids {
		if got, err := s3.Load(ctx, id); err != nil || !bytes.Equal(got.Data, secret) {
			t.Fatalf("after rekey with new key only: %v", err)
		}
	}
	// Same ID, wrong secret: a clear error at Open.
	wrong := mustKey(t, 2)
	if _, err := fsstore.Open(dir, fsstore.WithKeys(wrong)); err == nil || !strings.Contains(err.Error(), "wrong key") {
		t.Fatalf("Open with a wrong secret for key 2: %v", err)
	}
	// Only k1: records are under k2 now.
	s4, err := fsstore.Open(dir, fsstore.WithKeys(k1))
	if err != nil {
		t.Fatal(err)
	}
	defer s4.Close()
	if _, err := s4.Load(ctx, ids[0]); !errors.Is(err, fsstore.ErrUnknownKey) {
		t.Fatalf("load with the retired key only: %v, want ErrUnknownKey", err)
	}
}

func TestEncryptionTamperAndMove(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 7)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, b := newID(t), newID(t)
	if err := s.Save(ctx, &fsstore.Session{ID: a, Data: []byte("data of a")}); err != nil {
		t.Fatal(err)
	}
	pa := recordPaths(t, dir)[0]
	if err := s.Save(ctx, &fsstore.Session{ID: b, Data: []byte("data of b")}); err != nil {
		t.Fatal(err)
	}
	var pb string
	for _, p := range recordPaths(t, dir) {
		if p != pa {
			pb = p
		}
	}
	ra, _ := os.ReadFile(pa)
	rb, _ := os.ReadFile(pb)

	// b's record copied over a's name must not load as a.
	if err := os.WriteFile(pa, rb, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, a); !errors.Is(err, fsstore.ErrCorrupt) {
		t.Fatalf("record moved to another ID: %v, want ErrCorrupt", err)
	}
	// Tampering anywhere (header, nonce, ciphertext, tag) is ErrCorrupt.
	for _, off := range []int{10, 64, 80, len(ra) - 1} {
		bad := bytes.Clone(ra)
		bad[off] ^= 1
		if err := os.WriteFile(pa, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(ctx, a); !errors.Is(err, fsstore.ErrCorrupt) {
			t.Fatalf("tampered byte %d: %v, want ErrCorrupt", off, err)
		}
	}
	os.WriteFile(pa, ra, 0o600)
	if got, err := s.Load(ctx, a); err != nil || string(got.Data) != "data of a" {
		t.Fatalf("restored record: %v", err)
	}
}

func TestBadKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []fsstore.Key
	}{
		{"short secret", []fsstore.Key{{ID: 1, Secret: make([]byte, 16)}}},
		{"zero id", []fsstore.Key{{ID: 0, Secret: make([]byte, 32)}}},
		{"duplicate", []fsstore.Key{{ID: 3, Secret: make([]byte, 32)}, {ID: 3, Secret: make([]byte, 32)}}},
		// A key line copied with only its ID changed: retiring and
		// destroying key 3 would leave its secret in use as key 4, and
		// a rotation away from a leaked key would protect nothing.
		{"one secret under two IDs", []fsstore.Key{{ID: 4, Secret: bytes.Repeat([]byte{7}, 32)}, {ID: 3, Secret: bytes.Repeat([]byte{7}, 32)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := fsstore.Open(t.TempDir(), fsstore.WithKeys(tc.keys...)); err == nil {
				t.Fatal("Open accepted a bad key set")
			}
		})
	}
	for _, text := range []string{"", "# only a comment\n", "1 notbase64!!\n", "x AAAA\n", "1 " + strings.Repeat("A", 8) + "\n"} {
		if _, err := fsstore.ParseKeys(strings.NewReader(text)); err == nil {
			t.Errorf("ParseKeys(%q) succeeded", text)
		}
	}
	k := mustKey(t, 9)
	keys, err := fsstore.ParseKeys(strings.NewReader("# rotation\n" + k.SecretLine() + "\n"))
	if err != nil || len(keys) != 1 || keys[0].ID != 9 || !bytes.Equal(keys[0].Secret, k.Secret) {
		t.Fatalf("ParseKeys round trip: %v", err)
	}
	p := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(p, []byte(k.SecretLine()+"\n"), 0o644)
	if _, err := fsstore.KeysFromFile(p); err == nil {
		t.Fatal("KeysFromFile accepted a world-readable key file")
	}
	os.Chmod(p, 0o600)
	if _, err := fsstore.KeysFromFile(p); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SESSFS_TEST_KEYS", k.SecretLine())
	if _, err := fsstore.KeysFromEnv("SESSFS_TEST_KEYS"); err != nil {
		t.Fatal(err)
	}
	if _, err := fsstore.KeysFromEnv("SESSFS_TEST_KEYS_UNSET"); err == nil {
		t.Fatal("KeysFromEnv of an unset variable succeeded")
	}
}

type recorder struct {
	mu     sync.Mutex
	events []fsstore.Event
}

func (r *recorder) Observe(e fsstore.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// TestNoSecretsInLogsErrorsMetrics runs a full session lifecycle, failures
// included, and scans everything the store emitted for the session ID and
// the payload.
func TestNoSecretsInLogsErrorsMetrics(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	rec := &recorder{}
	dir := t.TempDir()
	s, err := fsstore.Open(dir, fsstore.WithKeys(mustKey(t, 1)), fsstore.WithObserver(rec),
		fsstore.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		fsstore.WithMaxSize(64))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := newID(t)
	payload := "PAYLOAD-SECRET-42"
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	_, err = s.Load(ctx, id)
	keep(err)
	keep(s.Save(ctx, &fsstore.Session{ID: id, Data: []byte(payload)}))
	keep(s.Save(ctx, &fsstore.Session{ID: id, Data: bytes.Repeat([]byte(payload), 10)}))
	keep(s.CompareAndSwap(ctx, &fsstore.Session{ID: id, Data: []byte(payload), Version: 99}))
	l, err := s.Lock(ctx, id, fsstore.Shared)
	keep(err)
	if l != nil {
		keep(l.Save(ctx, &fsstore.Session{ID: id, Data: []byte(payload)}))
		l.Unlock()
	}
	keep(s.Touch(ctx, id))
	for _, p := range recordPaths(t, dir) {
		b, _ := os.ReadFile(p)
		b[len(b)-1] ^= 1
		os.WriteFile(p, b, 0o600)
	}
	_, err = s.Load(ctx, id)
	keep(err)
	keep(s.Delete(ctx, id))
	_, err = s.Load(ctx, id)
	keep(err)
	_, err = s.Load(ctx, id+"/../x")
	keep(err)
	if len(errs) < 5 {
		t.Fatalf("lifecycle produced only %d errors; the scan would prove little", len(errs))
	}
	var all strings.Builder
	all.WriteString(logs.String())
	for _, e := range errs {
		fmt.Fprintln(&all, e.Error())
	}
	for _, e := range rec.events {
		fmt.Fprintf(&all, "%+v %s %s\n", e, e.Op, e.Outcome)
	}
	if !strings.Contains(logs.String(), "corrupt session record") {
		t.Errorf("the corrupt record was not logged:\n%s", logs.String())
	}
	for _, secret := range []string{id, id[:12], payload} {
		if strings.Contains(all.String(), secret) {
			t.Fatalf("output leaks %q:\n%s", secret, all.String())
		}
	}
}
