package ginstore_test

import (
	"testing"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/tester"

	"github.com/sessfs/sessfs/adapters/ginstore"
	"github.com/sessfs/sessfs/fsstore"
)

// gin-contrib's own conformance suite, all six of its checks, as its
// cookie, redis and memstore stores run it, on the store's defaults. The
// suite copies each Set-Cookie header into the next request's Cookie
// header as it is, so the default Secure attribute does not keep the
// cookie from its plain HTTP requests.
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
