package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Collect renders the families of one scrape, read at scrape time.
type Collect func(b []byte, f Format) ([]byte, error)

// Options bound what one client may cost: a slow or hostile client is
// cut off instead of holding tracelet's maps or memory. Zero fields take
// the defaults.
type Options struct {
	ReadHeaderTimeout time.Duration // default 5s: the request line and headers
	ReadTimeout       time.Duration // default 10s: the whole request
	WriteTimeout      time.Duration // default 10s: the response
	IdleTimeout       time.Duration // default 30s: a kept-alive connection
	MaxHeaderBytes    int           // default 8 KiB
}

func (o Options) withDefaults() Options {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 10 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 8 << 10
	}
	return o
}

// Server serves /metrics and nothing else.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen opens addr (HOST:PORT; no default, the user names one) and
// returns a Server that renders collect at each scrape of /metrics.
func Listen(addr string, collect Collect, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if addr == "" {
		return nil, errors.New("metrics: no address: name one, such as 127.0.0.1:9100")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		f := Negotiate(r.Header.Get("Accept"))
		body, err := collect(make([]byte, 0, 4096), f)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", f.ContentType())
		w.Write(body)
	})
	s := &Server{ln: ln, srv: &http.Server{
		Handler:           exactPath(mux),
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    opts.MaxHeaderBytes,
	}}
	return s, nil
}

// exactPath answers 404 for every path but /metrics (ServeMux would
// redirect /metrics/ and clean other spellings).
func exactPath(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve answers scrapes until ctx ends, then shuts down.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.srv.Shutdown(sctx)
		return nil
	}
}

// Close stops the server at once.
func (s *Server) Close() error { return s.srv.Close() }

// ExposureWarning returns a one-line warning when addr is reachable from
// other hosts (any address but loopback), "" otherwise: map keys are
// kernel data (command names, paths, arguments).
func ExposureWarning(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() || host == "localhost" {
		return ""
	}
	if host == "" {
		host = "every interface"
	}
	return fmt.Sprintf("warning: serving /metrics on %s: every map of the script, keys included (command names, paths, arguments), is readable by anyone who can reach it", host)
}
