package webtest

import (
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// ManagerNotMadeByNew checks that an adapter's wiring of a Manager New
// did not make (nil, or a Manager{}) panics where the program wires it,
// naming the mistake, rather than in every request with a nil
// dereference. wire returns the adapter's wiring calls for m, by name
// (its Handler and Middleware).
func ManagerNotMadeByNew(t *testing.T, wire func(m *httpsession.Manager) map[string]func()) {
	t.Helper()
	var nilManager *httpsession.Manager
	for _, tt := range []struct {
		name string
		m    *httpsession.Manager
		want string
	}{
		{"nil", nilManager, "nil *httpsession.Manager (use New)"},
		{"zero", &httpsession.Manager{}, "httpsession.Manager not made by New"},
	} {
		for name, call := range wire(tt.m) {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				defer func() {
					r := recover()
					if s, _ := r.(string); !strings.Contains(s, tt.want) {
						t.Fatalf("recovered %v, want a panic saying %q", r, tt.want)
					}
				}()
				call()
			})
		}
	}
}
