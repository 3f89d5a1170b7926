package cmdutil

import (
	"errors"
	"strconv"

	"github.com/spf13/pflag"
)

// IntVarP defines an integer flag read in base 10 only. pflag's own
// integer flags take Go's literal syntax: "010" is 8 and "08" a syntax
// error, which no one typing a count or a key ID means (nor a cron line or
// environment variable copied from a zero-padded template).
func IntVarP[T int | int64 | uint32](f *pflag.FlagSet, p *T, name, shorthand string, value T, usage string) {
	*p = value
	f.VarP(decimal[T]{p}, name, shorthand, usage)
}

type decimal[T int | int64 | uint32] struct{ p *T }

func (d decimal[T]) String() string {
	if v, ok := any(*d.p).(uint32); ok {
		return strconv.FormatUint(uint64(v), 10)
	}
	return strconv.FormatInt(int64(*d.p), 10)
}

func (d decimal[T]) Set(s string) error {
	var (
		v   T
		err error
	)
	switch any(v).(type) {
	case uint32:
		var u uint64
		u, err = strconv.ParseUint(s, 10, 32)
		v = T(u)
	case int:
		var i int64
		i, err = strconv.ParseInt(s, 10, strconv.IntSize)
		v = T(i)
	default:
		var i int64
		i, err = strconv.ParseInt(s, 10, 64)
		v = T(i)
	}
	switch {
	case errors.Is(err, strconv.ErrRange):
		return errors.New("out of range")
	case err != nil:
		return errors.New("not a decimal integer")
	}
	*d.p = v
	return nil
}

// Type names the value in help output as pflag's own flags do.
func (d decimal[T]) Type() string {
	switch any(*d.p).(type) {
	case uint32:
		return "uint32"
	case int:
		return "int"
	}
	return "int64"
}
