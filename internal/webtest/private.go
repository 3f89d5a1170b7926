package webtest

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// CheckPrivate fails t unless h, the headers of a response that sets the
// session's cookie, keeps it from shared caches (Cache-Control: private,
// no public) and varies by cookie.
func CheckPrivate(t *testing.T, h http.Header) {
	t.Helper()
	var directives []string
	for _, l := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(l, ",") {
			directives = append(directives, strings.ToLower(strings.TrimSpace(d)))
		}
	}
	if !slices.Contains(directives, "private") || slices.Contains(directives, "public") {
		t.Errorf("Cache-Control %q, want private (and no public)", h.Values("Cache-Control"))
	}
	var vary []string
	for _, l := range h.Values("Vary") {
		for v := range strings.SplitSeq(l, ",") {
			vary = append(vary, strings.ToLower(strings.TrimSpace(v)))
		}
	}
	if !slices.Contains(vary, "cookie") {
		t.Errorf("Vary %q, want Cookie among them", h.Values("Vary"))
	}
}
