package httpsession

import (
	"context"
	"errors"
	"testing"
	"time"
)

type healthFunc func(ctx context.Context) error

func (f healthFunc) Health(ctx context.Context) error { return f(ctx) }

// A probe reports the outcome of the check it waited for, not that of a
// later check, started once that one ended, which ended before the probe
// read the outcome: a failure it waited for must not turn into a success
// it did not.
func TestHealthProbeReportsItsCheck(t *testing.T) {
	outcomes := make(chan error, 2)
	h := HealthHandler(healthFunc(func(context.Context) error { return <-outcomes }), time.Minute).(*healthHandler)
	done, result := h.check()
	outcomes <- errors.New("store unavailable")
	<-done
	later, _ := h.check()
	outcomes <- nil
	<-later
	if err := result(); err == nil {
		t.Fatal("the probe reports the later check's success, not the failure of the check it waited for")
	}
}
