package httpsession_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sessfs/sessfs/httpsession"
)

// nested returns depth levels of arrays around 1, as encoded JSON (which
// json.Marshal checks against its nesting limit) or as Go values (which
// it does not).
func nested(depth int) json.RawMessage {
	return json.RawMessage(strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth))
}

func nestedAny(depth int) []any {
	v := []any{1.0}
	for range depth - 1 {
		v = []any{v}
	}
	return v
}

// brief formats v for a failure message, cut to a readable length.
func brief(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// TestPutReadsBackAsPut: what Put accepts, the next request reads back as
// put, under the same key, and the payload stays one that encoding/json
// reads whole; what it cannot store so, it refuses with ErrUnencodable and
// keeps nothing of. A key that is not valid UTF-8 used to be saved as
// another (its bytes replaced by U+FFFD), merged with any key differing
// from it only there, while the request went on showing it as put; a value
// nested deeper than encoding/json reads was saved, and every Get of it
// failed from then on.
func TestPutReadsBackAsPut(t *testing.T) {
	type put struct {
		key string
		v   any
	}
	cases := []struct {
		name    string
		puts    []put
		refused []string // keys whose Put must fail with ErrUnencodable
	}{
		{"key not UTF-8", []put{{"\xff", 1}, {"ok", 2}}, []string{"\xff"}},
		{"keys differing in invalid bytes", []put{{"user\xff", "ada"}, {"user\xfe", "bob"}}, []string{"user\xff", "user\xfe"}},
		{"key not UTF-8 beside its replacement", []put{{"k\ufffd", 1}, {"k\xff", 2}}, []string{"k\xff"}},
		{"odd valid keys", []put{{"", 0}, {"a\nb", 1}, {"<&>", 2}, {"\u2028", 3}, {"é", 4}, {"\ufffd", 5}, {`"\`, 6}, {"\x00", 7}}, nil},
		{"value nested to the limit", []put{{"deep", nested(9999)}}, nil},
		{"value nested a level too deep for the payload", []put{{"deep", nested(10000)}, {"n", 1}}, []string{"deep"}},
		{"value nested too deep for Get", []put{{"deep", nestedAny(10001)}, {"n", 1}}, []string{"deep"}},
		{"value nested to the limit as Go values", []put{{"deep", nestedAny(9999)}}, nil},
		{"NaN", []put{{"x", math.NaN()}, {"n", 1}}, []string{"x"}},
		{"infinity", []put{{"x", math.Inf(-1)}}, []string{"x"}},
		{"numbers", []put{{"max", int64(math.MaxInt64)}, {"min", int64(math.MinInt64)}, {"u", uint64(math.MaxUint64)}, {"f", math.MaxFloat64}, {"tiny", math.SmallestNonzeroFloat64}, {"big", json.Number("123456789012345678901234567890")}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			var kept []string
			h := e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				for _, p := range tc.puts {
					err := s.Put(p.key, p.v)
					switch refuse := slices.Contains(tc.refused, p.key); {
					case refuse && !errors.Is(err, httpsession.ErrUnencodable):
						t.Errorf("Put(%q): %v, want ErrUnencodable", p.key, err)
					case !refuse && err != nil:
						t.Errorf("Put(%q): %v", p.key, err)
					case !refuse:
						kept = append(kept, p.key)
					}
				}
				slices.Sort(kept)
				if got := s.Keys(); !slices.Equal(got, kept) {
					t.Errorf("keys in the request %q, want %q", got, kept)
				}
			}))
			id := ""
			if kept := len(tc.puts) > len(tc.refused); kept {
				id = mustCookie(t, do(t, h, "")).Value
			} else if c := sessionCookie(do(t, h, "")); c != nil {
				t.Fatalf("nothing was kept, yet a session was saved: %v", c)
			}
			if id == "" {
				return
			}
			rec, err := e.st.Load(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			var whole map[string]json.RawMessage
			if err := json.Unmarshal(rec.Data, &whole); err != nil {
				t.Errorf("the payload does not read whole with encoding/json: %v", err)
			}
			do(t, e.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := httpsession.FromContext(r.Context())
				if got := s.Keys(); !slices.Equal(got, kept) {
					t.Errorf("keys in the next request %q, want %q", got, kept)
				}
				for _, p := range tc.puts {
					if !slices.Contains(kept, p.key) {
						continue
					}
					dst := reflect.New(reflect.TypeOf(p.v))
					if ok, err := s.Get(p.key, dst.Interface()); !ok || err != nil {
						t.Errorf("Get(%q): %t, %v", p.key, ok, err)
					} else if got := dst.Elem().Interface(); !reflect.DeepEqual(got, p.v) {
						t.Errorf("Get(%q) = %s, want %s", p.key, brief(got), brief(p.v))
					}
				}
			})), id)
		})
	}
}
