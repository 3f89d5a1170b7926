package pass

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestStoreLogger(t *testing.T) {
	var lv LogLevel
	if err := lv.Set("info"); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	log := StoreLogger(&b, lv)
	log.Debug("not at info")
	log.Info("session store available again", "dir", "/srv/s")
	// A per-file error the command prints from OnError itself.
	log.Warn("sweep: file skipped", "err", errors.New("x"))
	log.With("a", 1).Warn("multi\nline", "err", errors.New("one\ntwo"))
	for i := range MaxLogLines + 5 {
		log.Warn("probe failed", "n", i)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != MaxLogLines+1 {
		t.Fatalf("%d lines, want %d records then one saying the rest are left out:\n%s", len(lines), MaxLogLines+1, b.String())
	}
	for i, want := range []string{
		`level=INFO msg="session store available again" dir=/srv/s`,
		`level=WARN msg="multi\nline" a=1 err="one\ntwo"`,
		`level=WARN msg="probe failed" n=0`,
	} {
		if !strings.HasPrefix(lines[i], "sessgc: time=") || !strings.HasSuffix(lines[i], want) {
			t.Errorf("line %d %q, want 'sessgc: time=... %s'", i, lines[i], want)
		}
	}
	if got, want := lines[MaxLogLines], "sessgc: further log records of the store are not printed"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
	if strings.Contains(b.String(), "file skipped") || strings.Contains(b.String(), "not at info") {
		t.Errorf("a per-file record or one below the level printed:\n%s", b.String())
	}
}

func TestLogLevelSet(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"debug", "debug"}, {"INFO", "info"}, {"Warn", "warn"}, {"warning", "warn"}, {" error ", "error"},
		{"", ""}, {"off", ""}, {"warn+1", ""}, {"trace", ""},
	} {
		var l LogLevel
		err := l.Set(tt.in)
		if got := fmt.Sprint(l.String(), err); (tt.want == "") != (err != nil) || err == nil && l.String() != tt.want {
			t.Errorf("Set(%q): %s; want %q", tt.in, got, tt.want)
		}
	}
}
