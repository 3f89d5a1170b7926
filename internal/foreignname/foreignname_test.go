package foreignname

import "testing"

func TestShown(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"sess_k3v9q0l2m8n4b7c1x5z6r0t2ya", "sess_…"},
		{"sess_abcdefghijklmnopqrstuvwxyz", "sess_…"}, // a PHP ID with no digit
		{"session_MTYwMDAwMDAwMHxEdi1CQkFFQ180SUFBUkFC", "session_…"},
		{"django0f8e2d4c6b1a3957f0e1d2c3b4a59687.tmp", "….tmp"},
		{"README", "README"},
		{"notes-2026-03-02.txt", "notes-2026-03-02.txt"},
		{"abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz"}, // no digit: a word
		{"x.0123456789abcdef0123", "x.…"},
		// express session-file-store's <ID>.json, an ID of 32 base64url
		// characters: one in about 230 holds no digit, its mixed case
		// tells it from a word.
		{"qTvKpXhWzLmNbRsYdFgHjKlPoIuY-tRe.json", "….json"},
		{"Sessions_Backup_December", "Sessions_Backup_December"}, // words, each capitalised
		{"UPPERCASE_NAME_OF_A_FILE", "UPPERCASE_NAME_OF_A_FILE"},
		{".nfs000000000004a2b1000000a1", ".nfs000000000004a2b1000000a1"},
		{"sess_", "sess_"},
	} {
		if got := Shown(tc.name); got != tc.want {
			t.Errorf("Shown(%q) = %q; want %q", tc.name, got, tc.want)
		}
	}
}

func TestShownInShard(t *testing.T) {
	const rec = "ab3f0c9e1d2b4a5968778695a4b3c2d1" // a record's name in shard ab
	for _, tc := range []struct{ name, shard, want string }{
		{rec + "~", "ab", rec + "~"},
		{"." + rec + ".swp", "ab", "." + rec + ".swp"},
		{rec[:30], "ab", rec[:30]},
		{rec, "cd", "…"},                          // not this shard's
		{rec, "", "…"},                            // no shard
		{"sess_" + rec, "ab", "sess_…"},           // another store's prefix
		{"ab3kq0l2m8n4b7c1x5z6r0t2ya", "ab", "…"}, // an ID of base 32
	} {
		if got := ShownInShard(tc.name, tc.shard); got != tc.want {
			t.Errorf("ShownInShard(%q, %q) = %q; want %q", tc.name, tc.shard, got, tc.want)
		}
	}
}
