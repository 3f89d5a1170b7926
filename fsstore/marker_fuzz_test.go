package fsstore

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// FuzzParseMarker: parseMarker never panics, and any marker it accepts has
// its fields in range and survives encode/parse unchanged.
func FuzzParseMarker(f *testing.F) {
	f.Add(marker{shardDepth: 1, stripes: 1024, maxIdle: 24 * time.Minute}.encode())
	f.Add(marker{shardDepth: 3, stripes: 65536, maxIdle: time.Second}.encode())
	f.Add([]byte("sessfs-store 1\nshard-depth 0\nlock-stripes 1\nmax-idle-seconds 1\nfuture-key 7\n"))
	f.Add([]byte("sessfs-store 2\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMarker(b)
		if err != nil {
			return
		}
		if m.shardDepth < 0 || m.shardDepth > 3 || m.stripes < 1 || m.stripes > 1<<16 || m.maxIdle < time.Second {
			t.Fatalf("parseMarker(%q) accepted out-of-range %+v", b, m)
		}
		// A rewrite writes only what it can read back, and refuses
		// only a marker with no room for it.
		b2, err := m.encodeRewrite()
		if err != nil {
			if len(m.encode()) <= maxParsedMarker {
				t.Fatalf("rewrite of %+v refused: %v", m, err)
			}
			return
		}
		m2, err := parseMarker(b2)
		if err != nil || m2 != m {
			t.Fatalf("round trip of %+v: %+v, %v", m, m2, err)
		}
	})
}

// A max-idle-seconds value too large for a time.Duration must be refused,
// not wrap around: a negative max idle would make every sweep remove live
// sessions (expiry = max idle + grace).
func TestParseMarkerMaxIdleOverflow(t *testing.T) {
	for _, secs := range []string{"9223372037", "10000000000", "1099511627776"} {
		m, err := parseMarker([]byte("sessfs-store 1\nshard-depth 1\nlock-stripes 1024\nmax-idle-seconds " + secs + "\n"))
		if err == nil && m.maxIdle < time.Second {
			t.Errorf("max-idle-seconds %s parsed as %v", secs, m.maxIdle)
		}
	}
}

// A marker whose rewrite would pass the parse limit is still read, as
// every earlier build reads it: only the rewrite is refused (a rewrite
// keeps a later version's lines and adds the lines this build writes that
// the file lacks, and a marker grown past the limit would refuse the store
// to every host).
func TestParseMarkerReadsWhatItCouldNotWriteBack(t *testing.T) {
	// Lines of a later version fill the marker to the limit, and it lacks
	// max-idle-ever-seconds, which a rewrite adds.
	marker := "sessfs-store 1\nshard-depth 1\nlock-stripes 1024\nmax-idle-seconds 1440\n"
	for i := 0; len(marker)+len("later-0000 1\n") <= maxParsedMarker; i++ {
		marker += fmt.Sprintf("later-%04d 1\n", i)
	}
	marker += "l" + strings.Repeat("x", maxParsedMarker-len(marker)-len("l 1\n")) + " 1\n"
	b := []byte(marker)
	if len(b) != maxParsedMarker {
		t.Fatalf("test marker is %d bytes, want %d", len(b), maxParsedMarker)
	}
	m, err := parseMarker(b)
	if err != nil {
		t.Fatalf("parseMarker of a marker at the limit: %v", err)
	}
	if _, err := m.encodeRewrite(); !errors.Is(err, errMarkerFull) {
		t.Fatalf("rewrite of a marker whose rewrite is %d bytes: %v, want errMarkerFull", len(m.encode()), err)
	}
}
