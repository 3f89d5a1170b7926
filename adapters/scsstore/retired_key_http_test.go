package scsstore_test

import (
	"testing"

	"github.com/sessfs/sessfs/adapters/scsstore"
	"github.com/sessfs/sessfs/fsstore"
)

type countOutcomes map[string]int

func (c countOutcomes) Observe(ev fsstore.Event) { c[ev.Op.String()+"/"+ev.Outcome.String()]++ }

// TestRetiredKeyOverHTTP: a session sealed with a key that was dropped
// before every record was rekeyed is no session (the user logs in again),
// not an error on every request; the store reports it to its Observer.
func TestRetiredKeyOverHTTP(t *testing.T) {
	oldKey, _ := fsstore.NewKey(1)
	newKey, _ := fsstore.NewKey(2)
	dir := t.TempDir()
	open := func(obs fsstore.Observer, k fsstore.Key) *scsstore.Store {
		opts := []fsstore.Option{fsstore.WithDurability(fsstore.DurabilityNone), fsstore.WithKeys(k)}
		if obs != nil {
			opts = append(opts, fsstore.WithObserver(obs))
		}
		st, err := fsstore.Open(dir, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return scsstore.New(st)
	}
	before := scsApp(t, open(nil, oldKey))
	_, cookie := getUser(t, before, "/login", nil)
	if got, _ := getUser(t, before, "/", cookie); got != "alice" {
		t.Fatalf("before the key change: user %q", got)
	}
	obs := countOutcomes{} // one request, one goroutine at a time
	after := scsApp(t, open(obs, newKey))
	if got, _ := getUser(t, after, "/", cookie); got != "" { // getUser fails the test on a non-200
		t.Errorf("after the key change: user %q, want a fresh session", got)
	}
	if obs["load/unknown_key"] == 0 {
		t.Errorf("observer saw %v, want a load with outcome unknown_key", obs)
	}
}
