package ginstore_test

import (
	"testing"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/tester"

	"github.com/sessfs/sessfs/adapters/ginstore"
	"github.com/sessfs/sessfs/fsstore"
)

// gin-contrib's own conformance suite, as its cookie/redis/memstore
// stores run it. The suite's requests are plain HTTP, so Secure is off as
// in gin-contrib's stores' defaults... except the suite never sets it:
// it relies on the store's defaults to let the cookie through.
func testerStore(t *testing.T) sessions.Store {
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return ginstore.NewStore(st, key)
}

func TestUpstreamTesterGetSet(t *testing.T)    { tester.GetSet(t, testerStore) }
func TestUpstreamTesterDeleteKey(t *testing.T) { tester.DeleteKey(t, testerStore) }
func TestUpstreamTesterFlashes(t *testing.T)   { tester.Flashes(t, testerStore) }
func TestUpstreamTesterClear(t *testing.T)     { tester.Clear(t, testerStore) }
func TestUpstreamTesterOptions(t *testing.T)   { tester.Options(t, testerStore) }
func TestUpstreamTesterMany(t *testing.T)      { tester.Many(t, testerStore) }
