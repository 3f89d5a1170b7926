package httpsession_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sessfs/sessfs/fsstore"
)

// compact returns a payload in compact JSON, to compare with what a test
// expects whatever the layout the codec wrote it in.
func compact(b []byte) string {
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		return "invalid JSON: " + string(b)
	}
	return c.String()
}

// TestUntouchedValuesKeepTheirBytes: a request that changes one key saves
// every other value as the very bytes it was loaded with (here, another
// writer's spacing and unescaped HTML), not a re-encoding of the session.
func TestUntouchedValuesKeepTheirBytes(t *testing.T) {
	for _, layout := range []string{
		`{"html":"<b>hi</b>","list":[1, 2],"n":1}`,
		"{\n\"html\":\"<b>hi</b>\",\n\"list\":[1, 2],\n\"n\":1\n}",
	} {
		t.Run(fmt.Sprintf("%q", layout), func(t *testing.T) {
			e := newEnv(t, nil)
			id, err := fsstore.NewID()
			if err != nil {
				t.Fatal(err)
			}
			if err := e.st.Save(t.Context(), &fsstore.Session{ID: id, Data: []byte(layout)}); err != nil {
				t.Fatal(err)
			}
			if got := body(t, do(t, e.m.Handler(counter()), id)); got != "2" {
				t.Fatalf("counter %q, want 2", got)
			}
			sess, err := e.st.Load(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal(sess.Data, &got); err != nil {
				t.Fatalf("stored payload %q: %v", sess.Data, err)
			}
			for k, want := range map[string]string{"html": `"<b>hi</b>"`, "list": `[1, 2]`, "n": `2`} {
				if string(got[k]) != want {
					t.Errorf("stored %s = %s, want %s", k, got[k], want)
				}
			}
		})
	}
}
