package deploy_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNewestKeyBehindWaitAsDocumented: the docs tell an operator how long
// a rotation's second step may take to reach every host before
// SessfsNewestKeyBehind fires for the hosts it has not reached yet, and
// size their rollout (or the rule's for:) by it. The rule waited 15
// minutes while docs/operations.md still said 5, and a rollout "within
// about 4 minutes": every number the docs give must be the rule's.
func TestNewestKeyBehindWaitAsDocumented(t *testing.T) {
	rules := read(t, rulesFile)
	i := strings.Index(rules, "alert: SessfsNewestKeyBehind")
	if i < 0 {
		t.Fatal("no SessfsNewestKeyBehind rule")
	}
	m := regexp.MustCompile(`(?m)^\s*for:\s*(\S+)`).FindStringSubmatch(rules[i:])
	if m == nil {
		t.Fatal("SessfsNewestKeyBehind has no for:")
	}
	d, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`The\s+alert\s+waits\s+\d+\s+minutes`).MatchString(read(t, "../docs/operations.md")) {
		t.Error(`docs/operations.md no longer says "The alert waits N minutes" for a step-2 rollout: update this test`)
	}
	// The operator guide's alert section said a rollout "that takes more
	// than about 4 minutes" fires it, after the rule's wait became 15.
	for _, doc := range []string{"../docs/operations.md", "../docs/security.md", "../docs/operator-guide.md"} {
		checkNewestKeyBehindWait(t, doc, m[1], int(d.Minutes()))
	}
}

// checkNewestKeyBehindWait checks the waits doc gives against the rule's
// for:, forDur, of wait minutes.
func checkNewestKeyBehindWait(t *testing.T, doc, forDur string, wait int) {
	t.Helper()
	text := read(t, doc)
	for _, tc := range []struct {
		phrase *regexp.Regexp
		want   int // minutes
	}{
		// A host warns within a minute of the first host's reload, so a
		// rollout that reaches it a minute before the rule's wait ends
		// raises none.
		{regexp.MustCompile(`(?i)alert,?\s+(?:which\s+)?waits\s+(\d+)\s+minutes`), wait},
		{regexp.MustCompile(`reaches\s+every\s+host\s+within\s+about\s+(\d+)\s+minutes`), wait - 1},
		{regexp.MustCompile(`takes\s+more\s+than\s+about\s+(\d+)\s+minutes`), wait - 1},
		{regexp.MustCompile(`still behind\s+(?:#\s+)?(\d+) minutes later`), wait},
		{regexp.MustCompile("`SessfsNewestKeyBehind`,\\s+after\\s+(\\d+)\\s+minutes"), wait},
	} {
		for _, f := range tc.phrase.FindAllStringSubmatch(text, -1) {
			if n, _ := strconv.Atoi(f[1]); n != tc.want {
				t.Errorf("%s says %q; the rule's for: is %s, so %d", doc, f[0], forDur, tc.want)
			}
		}
	}
}
