package cmdutil

import (
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestIntVarPDecimal: a count or key ID written with a leading zero means
// the decimal number, not an octal one (pflag's own flags read "010" as 8
// and refuse "08").
func TestIntVarPDecimal(t *testing.T) {
	for _, tc := range []struct {
		arg, want, err string
	}{
		{arg: "10", want: "10 10 10"},
		{arg: "010", want: "10 10 10"},
		{arg: "08", want: "8 8 8"},
		{arg: "0", want: "0 0 0"},
		{arg: "0x10", err: "not a decimal integer"},
		{arg: "1e3", err: "not a decimal integer"},
		{arg: " 1", err: "not a decimal integer"},
		{arg: "", err: "not a decimal integer"},
		{arg: "4294967296", err: "out of range"}, // too big for a uint32
	} {
		t.Run(tc.arg, func(t *testing.T) {
			var (
				i   int
				i64 int64
				u32 uint32
			)
			f := pflag.NewFlagSet("t", pflag.ContinueOnError)
			f.SetOutput(new(strings.Builder))
			IntVarP(f, &i, "int", "i", 1, "")
			IntVarP(f, &i64, "int64", "", 1, "")
			IntVarP(f, &u32, "uint32", "", 1, "")
			err := f.Parse([]string{"--int=" + tc.arg, "--int64=" + tc.arg, "--uint32=" + tc.arg})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parse %q: %v; want an error saying %q", tc.arg, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(i, i64, u32); got != tc.want {
				t.Errorf("parse %q: %s, want %s", tc.arg, got, tc.want)
			}
		})
	}
}

// TestIntVarPNegative: signed flags take a sign, as pflag's do; the uint32
// one does not.
func TestIntVarPNegative(t *testing.T) {
	var (
		i   int
		u32 uint32
	)
	f := pflag.NewFlagSet("t", pflag.ContinueOnError)
	f.SetOutput(new(strings.Builder))
	IntVarP(f, &i, "int", "", 0, "")
	IntVarP(f, &u32, "uint32", "", 0, "")
	if err := f.Parse([]string{"--int=-1"}); err != nil || i != -1 {
		t.Errorf("--int=-1: %d, %v", i, err)
	}
	if err := f.Parse([]string{"--uint32=-1"}); err == nil {
		t.Errorf("--uint32=-1 accepted: %d", u32)
	}
	if got := f.Lookup("uint32").Value.Type() + " " + f.Lookup("int").Value.Type(); got != "uint32 int" {
		t.Errorf("types in help: %s", got)
	}
}
