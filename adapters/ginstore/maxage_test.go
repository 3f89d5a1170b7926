package ginstore_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
	"github.com/gorilla/securecookie"

	"github.com/sessfs/sessfs/adapters/ginstore"
	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/internal/fakeclock"
)

// TestMaxAge: Options.MaxAge as gin-contrib documents it and its cookie
// store treats it. 0 is a cookie without Max-Age (it ends with the
// browser session) for a session kept the store's idle timeout after its
// last save; a negative MaxAge deletes the session; a positive one keeps
// it that long. Reads do not extend a session.
func TestMaxAge(t *testing.T) {
	const idle = 10 * time.Minute
	type check struct {
		after time.Duration // since the login
		user  string        // what the next request reads
	}
	tests := []struct {
		name       string
		maxAge     int
		cookieAge  int // http.Cookie.MaxAge: 0 none, -1 Max-Age=0
		expires    bool
		cookieSet  bool // with a value
		afterLogin []check
	}{
		{"0: browser session", 0, 0, false, true, []check{{0, "ada"}, {idle - time.Minute, "ada"}, {idle + time.Minute, ""}}},
		{"positive", 3600, 3600, true, true, []check{{0, "ada"}, {idle + time.Minute, "ada"}, {61 * time.Minute, ""}}},
		{"negative: delete", -1, -1, true, false, []check{{0, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := fakeclock.New()
			st, err := fsstore.Open(t.TempDir(), fsstore.WithClock(clk.Now), fsstore.WithIdleTimeout(idle), fsstore.WithDurability(fsstore.DurabilityNone))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			store := ginstore.NewStore(st, key)
			store.SetClock(clk.Now)
			store.Options(sessions.Options{Path: "/", MaxAge: tt.maxAge, HttpOnly: true})
			r := gin.New()
			r.Use(sessions.Sessions("app", store))
			r.GET("/login", func(c *gin.Context) {
				s := sessions.Default(c)
				s.Set("user", "ada")
				if err := s.Save(); err != nil {
					t.Errorf("Save: %v", err)
				}
			})
			r.GET("/me", func(c *gin.Context) {
				u, _ := sessions.Default(c).Get("user").(string)
				c.String(http.StatusOK, "%s", u)
			})

			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest("GET", "/login", nil))
			cs := w.Result().Cookies()
			if len(cs) != 1 {
				t.Fatalf("cookies %q, want one", w.Header().Values("Set-Cookie"))
			}
			c := cs[0]
			if c.MaxAge != tt.cookieAge || !c.Expires.IsZero() != tt.expires || (c.Value != "") != tt.cookieSet {
				t.Errorf("Set-Cookie %q: want Max-Age %d, Expires %v, a value %v", w.Header().Get("Set-Cookie"), tt.cookieAge, tt.expires, tt.cookieSet)
			}
			var elapsed time.Duration
			for _, ck := range tt.afterLogin {
				clk.Advance(ck.after - elapsed)
				elapsed = ck.after
				req := httptest.NewRequest("GET", "/me", nil)
				if c.Value != "" {
					req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
				}
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				if got := strings.TrimSpace(w.Body.String()); got != ck.user {
					t.Errorf("%v after the login: user %q, want %q", ck.after, got, ck.user)
				}
			}
		})
	}
}

// The store's Options set options only, as gin-contrib's stores' do: a
// short store-wide MaxAge must not bound the signed cookie's age, or a
// session given a longer MaxAge of its own ("remember me") is refused
// ("expired timestamp") once the store's has passed.
func TestOptionsLeaveCookieAgeBound(t *testing.T) {
	st, err := fsstore.Open(t.TempDir(), fsstore.WithDurability(fsstore.DurabilityNone))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	store := ginstore.NewStore(st, key)
	before := codecMaxAges(t, store.Codecs)
	store.Options(sessions.Options{Path: "/", MaxAge: 1, HttpOnly: true})
	if after := codecMaxAges(t, store.Codecs); !slices.Equal(after, before) {
		t.Fatalf("Options(MaxAge 1) changed the signed cookie's age bound from %v to %v s", before, after)
	}
	// A store-wide MaxAge longer than the bound raises it: its sessions'
	// cookies must stay valid as long.
	const long = 90 * 86400
	store.Options(sessions.Options{Path: "/", MaxAge: long, HttpOnly: true})
	if after := codecMaxAges(t, store.Codecs); !slices.Equal(after, []int64{long}) {
		t.Fatalf("Options(MaxAge 90 days): the signed cookie's age bound is %v s", after)
	}
}

// codecMaxAges reads securecookie's age bound, which it does not export.
func codecMaxAges(t *testing.T, codecs []securecookie.Codec) []int64 {
	t.Helper()
	var ages []int64
	for _, c := range codecs {
		sc, ok := c.(*securecookie.SecureCookie)
		if !ok {
			t.Fatalf("codec %T", c)
		}
		ages = append(ages, reflect.ValueOf(sc).Elem().FieldByName("maxAge").Int())
	}
	return ages
}
