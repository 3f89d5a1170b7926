package ginsession_test

import (
	"strings"
	"testing"

	"github.com/sessfs/sessfs/adapters/ginsession"
	"github.com/sessfs/sessfs/httpsession"
)

// TestManagerNotMadeByNew: Handler and Middleware of a Manager New did
// not make (nil, or a Manager{}) panic where the program wires them,
// naming the mistake, where every request panicked with a nil
// dereference.
func TestManagerNotMadeByNew(t *testing.T) {
	var nilManager *httpsession.Manager
	for _, tt := range []struct {
		name string
		m    *httpsession.Manager
		want string
	}{
		{"nil", nilManager, "nil *httpsession.Manager (use New)"},
		{"zero", &httpsession.Manager{}, "httpsession.Manager not made by New"},
	} {
		for name, wire := range map[string]func(){
			"Handler":    func() { ginsession.Handler(tt.m) },
			"Middleware": func() { ginsession.Middleware(tt.m, httpsession.Exclusive) },
		} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				defer func() {
					r := recover()
					if s, _ := r.(string); !strings.Contains(s, tt.want) {
						t.Fatalf("recovered %v, want a panic saying %q", r, tt.want)
					}
				}()
				wire()
			})
		}
	}
}
