package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessfs/sessfs/fsstore"
	"github.com/sessfs/sessfs/httpsession"
	"github.com/sessfs/sessfs/metrics/prom"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>sessfs cluster demo</title>
<style>body{font:16px system-ui,sans-serif;margin:3em auto;max-width:40em}b{font-size:1.4em}</style></head>
<body>
<h1>sessfs cluster demo</h1>
<p>This page was served by app server <b id="server">{{.Server}}</b> (pid <span id="pid">{{.PID}}</span>).</p>
{{if .User}}<p>You have loaded it <b id="count">{{.Count}}</b> times since you logged in, <span id="user">{{.User}}</span>.</p>
<table><tr><th>server</th><th>visits it answered</th></tr>
{{range .PerServer}}<tr><td>{{.Server}}</td><td>{{.Count}}</td></tr>
{{end}}</table>
<p><a href="/">reload</a></p>
<form method="post" action="/logout"><button>log out</button></form>
{{else}}<p>You are not logged in (visits counted: <b id="count">0</b>): this page stored nothing, not even an empty session.</p>
<form method="post" action="/login"><button id="login">log in</button></form>
{{end}}
<p>Only logged-in visits write a session: an anonymous visit, or a crawler, costs
one page and no file. The servers share no memory and the proxy has no sticky sessions: the counter is
consistent because every server reads and writes the same session directory, and a
user's requests take the session's lock in turn.</p>
</body></html>
`))

type perServer struct {
	Server string
	Count  int
}

// serveApp runs one app server: it prints "LISTEN host:port" once it
// accepts connections and stops when ctx ends or in, its standard input,
// closes (the supervisor stopped it or died).
func serveApp(ctx context.Context, o options, in io.Reader, out io.Writer) error {
	if o.dir == "" {
		return errors.New("-serve needs -dir")
	}
	// No namespace: the shipped alerts and dashboard (deploy/) query
	// sessfs_* names.
	obs := prom.New("")
	reg := prometheus.NewRegistry()
	reg.MustRegister(obs)
	st, err := fsstore.Open(o.dir, fsstore.WithIdleTimeout(30*time.Minute), fsstore.WithObserver(obs))
	if err != nil {
		return err
	}
	defer st.Close()
	// The demo speaks plain HTTP on loopback, hence Insecure; a real
	// deployment behind TLS leaves it false.
	cookie := httpsession.Cookie{Name: "sessfs_demo", Insecure: true}
	m := httpsession.New(st, httpsession.WithCookie(cookie))

	server := strconv.Itoa(o.serve)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		data := struct {
			Server    string
			PID       int
			Count     int
			User      string
			PerServer []perServer
		}{Server: server, PID: os.Getpid(), User: s.GetString("user")}
		// Count only a logged-in user's visits: an anonymous visit puts
		// nothing in the session, so no record is written and no cookie
		// set. A demo that wrote one per visit would teach every copy of it
		// to write a file per crawler hit.
		if data.User != "" {
			data.Count = s.GetInt("count") + 1
			seen := map[string]int{}
			s.Get("per_server", &seen)
			seen[server]++
			if err := s.Put("count", data.Count); err != nil {
				http.Error(w, "session unavailable", httpsession.StatusCode(err))
				return
			}
			s.Put("per_server", seen)
			for k, v := range seen {
				data.PerServer = append(data.PerServer, perServer{k, v})
			}
			sort.Slice(data.PerServer, func(i, j int) bool { return data.PerServer[i].Server < data.PerServer[j].Server })
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		page.Execute(w, data)
	})
	// Log in and out change state: POST only, so that a link, a prefetch
	// or a crawler cannot do it, and SameSite=Lax keeps other sites' forms
	// from sending the cookie.
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := httpsession.FromContext(r.Context())
		// A fresh ID at log in: an ID planted or seen before is useless
		// afterwards (session fixation).
		if err := s.Renew(); err != nil {
			http.Error(w, "session unavailable", httpsession.StatusCode(err))
			return
		}
		if err := s.Put("user", "demo user"); err != nil {
			http.Error(w, "session unavailable", httpsession.StatusCode(err))
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := httpsession.FromContext(r.Context()).Destroy(); err != nil {
			http.Error(w, "session unavailable", httpsession.StatusCode(err))
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// Scrapes stay outside the session middleware: they carry no cookie
	// and must not be counted as store operations.
	top := http.NewServeMux()
	top.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	top.Handle("/", withDeadline(requestTimeout, m.Handler(served(server, mux))))
	srv := &http.Server{
		Handler: top,
		// Bound slow clients; each request's deadline (requestTimeout)
		// bounds its session work.
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Fprintf(out, "LISTEN %s\n", ln.Addr())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// The supervisor holds our stdin open; EOF means it is gone.
		io.Copy(io.Discard, in)
		cancel()
	}()
	// Serve returns as soon as Shutdown starts; the requests in flight
	// end within Shutdown, and the store must stay open until they have.
	shut := make(chan error, 1)
	go func() {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), shutdownTimeout)
		defer c()
		shut <- srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-shut
}

// The bounds a stop has to fit in. Every request's session work (its lock
// wait, loads and the commit) ends by its deadline, requestTimeout; an app
// server's Shutdown waits that long plus a margin for the response, and so
// does the proxy's; the supervisor kills an app server only after that.
// Without the deadline a lock wait lasts httpsession's lock timeout, 30 s:
// Shutdown gave up on it and the store closed under the request.
const (
	requestTimeout  = 10 * time.Second
	shutdownTimeout = 20 * time.Second
	killTimeout     = shutdownTimeout + 5*time.Second
)

// withDeadline gives each request a deadline, as the operator guide asks:
// the session middleware's lock wait and commit end with it, and a request
// whose client stopped waiting does not hold the user's lock longer.
func withDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// served labels responses with the server that produced them.
func served(server string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", "app-"+server)
		h.ServeHTTP(w, r)
	})
}
