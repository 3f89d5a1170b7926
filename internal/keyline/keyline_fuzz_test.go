package keyline

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// FuzzRedact: no text that Redact returns still holds a key's secret, and
// a text that holds none comes back as it was; a key line's secret, set
// off by any character of neither base64 alphabet and quoted or not (as
// is, strconv.Quote as slog's text does, JSON), is found by Holds and
// hidden by Redact; and a secret the user gave in a form RedactGiven
// documents (a word, --dir=SECRET, -dSECRET, /srv/SECRET=, --bogus-SECRET=)
// is hidden wherever a message repeats it. A secret that slipped through
// would go to cron mail, the journal and the textfile's labels.
func FuzzRedact(f *testing.F) {
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i * 37)
	}
	f.Add("1 BTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v+4=", secret, uint8(0), "1", '\t', "", '\n')
	f.Add(`"7\tBTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v-4"`, secret, uint8(1), "/etc/sessfs/", ' ', "x", ':')
	f.Add(`C:\u00abBTaXjGrX7sVFJ4SDpEk5UmZqAR0gATQUm79cGlm6v-4`, secret, uint8(2), `C:\`, '\u00ad', "", '\x00')
	f.Add("/srv/"+strings.Repeat("a", 43), secret, uint8(3), "open ", '\U0010ffff', ": no such file", '"')
	f.Add("tmp-probe-0123456789abcdef-0123456789abcdef", secret, uint8(4), "", rune(0x80), "", rune(0xff))
	f.Add("", []byte{}, uint8(5), "", ' ', "", ' ')
	f.Fuzz(func(t *testing.T, s string, raw []byte, form uint8, before string, sep rune, after string, sep2 rune) {
		out := Redact(s)
		if Holds(out) {
			t.Fatalf("Redact(%q) = %q, which still holds a secret", s, out)
		}
		if !Holds(s) && out != s {
			t.Fatalf("Redact(%q) = %q: changed a text that holds no secret", s, out)
		}
		if len(raw) < 32 || inAlphabet(sep) || inAlphabet(sep2) {
			return
		}
		std := base64.StdEncoding.EncodeToString(raw[:32])
		url := base64.RawURLEncoding.EncodeToString(raw[:32])
		bare := strings.TrimRight(std, "=")
		sec := std
		if form&1 == 1 {
			sec, bare = url, url
		}
		// A key line's secret set off by sep and sep2, as is and quoted.
		line := before + string(sep) + sec + string(sep2) + after
		js, _ := json.Marshal(line)
		for _, text := range []string{line, strconv.Quote(line), string(js)} {
			if !Holds(text) {
				t.Fatalf("Holds(%q) = false", text)
			}
			if got := Redact(text); strings.Contains(got, bare) {
				t.Fatalf("Redact(%q) = %q, which shows the secret", text, got)
			}
		}
		// A secret given in one of the forms RedactGiven reads, and a
		// message that repeats it anywhere.
		var given string
		switch form % 6 {
		case 0, 1:
			given = sec
		case 2:
			given = "--dir=" + sec
		case 3:
			given = "-qd" + sec
		case 4:
			given, bare = "/srv/"+std, strings.TrimRight(std, "=")
		case 5:
			given, bare = "--bogus-"+std+"=", strings.TrimRight(std, "=")
		}
		given = before + string(sep) + given + string(sep2) + after
		msg := after + bare + before
		if got := RedactGiven(msg, given); strings.Contains(got, bare) {
			t.Fatalf("RedactGiven(%q, %q) = %q, which shows the secret", msg, given, got)
		}
		if got := GivenSecrets(given).Redact(msg); strings.Contains(got, bare) {
			t.Fatalf("GivenSecrets(%q).Redact(%q) = %q, which shows the secret", given, msg, got)
		}
	})
}
