package webtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Response is what a client saw of one request Send sent.
type Response struct {
	Code   int
	Body   string
	Header http.Header
}

// Cookie returns the cookie named name that the response set, or nil.
func (r Response) Cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Send sends one request to h over a real connection (gin's Stream needs
// a writer that CloseNotify works on), with cookie's name and value (nil:
// no cookie), and returns the response, a redirect not followed.
func Send(t *testing.T, h http.Handler, method, path string, cookie *http.Cookie) Response {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != nil {
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{resp.StatusCode, string(b), resp.Header}
}
