package httppeers

import (
	"reflect"
	"strings"
	"testing"
)

// TestJSONFieldsDocumented: every field sessbench http's --json prints is
// named in its --help, as sessbench run's are: a script reading the report
// had only the source to go by.
func TestJSONFieldsDocumented(t *testing.T) {
	long := NewCmdHTTP(nil).Long
	for _, v := range []any{Report{}, PeerInfo{}, Result{}, Failure{}, RatioInfo{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(long, name) {
				t.Errorf("--json field %s (%s.%s) is not in sessbench http --help", name, typ.Name(), typ.Field(i).Name)
			}
		}
	}
}
