package gorillastore

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// String names the store by its sessions' directory,
// "gorillastore.Store(/dir)": a Store handed to a logger or a format verb
// by mistake shows that alone, not its fields, whose Codecs hold the
// cookie keys (fmt prints their bytes, and gorilla's own stores do).
func (s *Store) String() string {
	if s == nil || s.st == nil {
		return "gorillastore.Store(<nil>)"
	}
	return "gorillastore.Store(" + s.st.Dir() + ")"
}

// Format prints String for every verb (%q quotes it): verbs that do not
// use String, such as %#v or %x, would print the fields.
func (s *Store) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		io.WriteString(f, strconv.Quote(s.String()))
		return
	}
	io.WriteString(f, s.String())
}

// LogValue is String, for log/slog.
func (s *Store) LogValue() slog.Value { return slog.StringValue(s.String()) }
