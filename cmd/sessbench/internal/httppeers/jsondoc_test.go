package httppeers

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
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

// TestJSONResultsAlwaysList: --json's results is a list whatever the run,
// empty when every peer failed. It was null then, and a script that
// walks it (for r in report["results"]) failed on the one report that
// says why.
func TestJSONResultsAlwaysList(t *testing.T) {
	cfg := Config{Sizes: []int{1024}, Duration: time.Second, Rounds: 1, Concurrency: 1, Sessions: 1}
	rep := BuildReport(cfg, []*Peer{{Name: PeerSCSMem}}, nil, []Failure{{Peer: PeerSCSMem, Error: "down"}}, time.Now(), time.Now())
	var b bytes.Buffer
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["results"].([]any); !ok {
		t.Errorf("results is %#v, want a list:\n%s", doc["results"], b.String())
	}
}
