package cmdutil

import (
	"math"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

var decimalRef = regexp.MustCompile(`^[+-]?[0-9]+$`)

// FuzzIntVarP: a count or key ID from a flag, an environment variable
// (sessgc's SESSGC_*) or a cron line is taken exactly when it is a decimal
// integer (an optional sign, digits: no base prefix, no underscore, no
// space; no sign for an unsigned one) that fits, is the number those digits say, prints as a value that
// reads back the same, and a refused one leaves the flag as it was.
func FuzzIntVarP(f *testing.F) {
	for _, s := range []string{"10", "010", "08", "-1", "+1", "0x10", "1_000", "1e3", " 1", "", "4294967296", "9223372036854775808", "-9223372036854775808", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var (
			i   int = 7
			i64 int64
			u32 uint32
		)
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		fs.SetOutput(new(strings.Builder))
		IntVarP(fs, &i, "int", "", 7, "")
		IntVarP(fs, &i64, "int64", "", 7, "")
		IntVarP(fs, &u32, "uint32", "", 7, "")
		n, isNum := new(big.Int).SetString(s, 10)
		isNum = isNum && decimalRef.MatchString(s)
		for _, tc := range []struct {
			name     string
			min, max *big.Int
			get      func() *big.Int
		}{
			{"int", big.NewInt(math.MinInt), big.NewInt(math.MaxInt), func() *big.Int { return big.NewInt(int64(i)) }},
			{"int64", big.NewInt(-1 << 63), big.NewInt(1<<63 - 1), func() *big.Int { return big.NewInt(i64) }},
			{"uint32", big.NewInt(0), big.NewInt(1<<32 - 1), func() *big.Int { return big.NewInt(int64(u32)) }},
		} {
			v := fs.Lookup(tc.name).Value
			before := v.String()
			err := v.Set(s)
			// The unsigned flag takes no sign, as strconv.ParseUint.
			want := isNum && n.Cmp(tc.min) >= 0 && n.Cmp(tc.max) <= 0 && !(tc.name == "uint32" && strings.ContainsAny(s, "+-"))
			if (err == nil) != want {
				t.Fatalf("--%s=%q: %v, want accepted=%v", tc.name, s, err, want)
			}
			if err != nil {
				if v.String() != before {
					t.Fatalf("--%s=%q refused, but the value changed from %s to %s", tc.name, s, before, v.String())
				}
				continue
			}
			if tc.get().Cmp(n) != 0 {
				t.Fatalf("--%s=%q = %s, want %s", tc.name, s, tc.get(), n)
			}
			shown := v.String()
			if err := v.Set(shown); err != nil || tc.get().Cmp(n) != 0 {
				t.Fatalf("--%s=%q shown as %q, which reads back as %s, %v", tc.name, s, shown, tc.get(), err)
			}
		}
	})
}
