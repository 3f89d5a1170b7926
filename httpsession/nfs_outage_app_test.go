package httpsession_test

import (
	"net/http"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
)

// The outage test's app runs with the store's default bounds (what users
// get) and the readiness handler over Store.Health.
func outageStoreOptions() []fsstore.Option { return nil }

func outageManagerOptions() []httpsession.Option { return nil }

func outageReadiness(st *fsstore.Store, _ *httpsession.Manager) http.Handler {
	return httpsession.HealthHandler(st, 0)
}

// outageGoroutineAllowance is how many goroutines an app may have during
// the outage beyond its baseline under load: store calls given up on hold
// one each while they wait in the kernel, at most fsstore.DefaultMaxInFlight
// of them, plus the readiness check in progress and a margin for the HTTP
// connections that clients open and close.
const outageGoroutineAllowance = fsstore.DefaultMaxInFlight + 32
