package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Collect renders the families of one scrape, read at scrape time.
type Collect func(b []byte, f Format) ([]byte, error)

// Options bound what one client may cost: a slow or hostile client is
// cut off instead of holding tracelet's maps or memory. Zero fields take
// the defaults.
type Options struct {
	ReadHeaderTimeout time.Duration // default 5s: the request line and headers
	WriteTimeout      time.Duration // default 10s: the response
	MaxHeaderBytes    int           // default 8 KiB
	MaxConns          int           // default 16 connections at once
}

func (o Options) withDefaults() Options {
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 5 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 8 << 10
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	return o
}

// Server answers GET /metrics and nothing else. It speaks just enough
// HTTP/1.1 for a scraper, one request per connection: net/http would add
// 3.6 MB to the mips binary (crypto/tls and x509 come with it), against a
// budget of 6 MiB.
type Server struct {
	ln      *listener
	collect Collect
	opts    Options
	sem     chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[*os.File]bool
}

// Listen opens addr (HOST:PORT; no default, the user names one) and
// returns a Server that renders collect at each scrape of /metrics.
func Listen(addr string, collect Collect, opts Options) (*Server, error) {
	if addr == "" {
		return nil, errors.New("metrics: no address: name one, such as 127.0.0.1:9100")
	}
	ln, err := listenTCP(addr)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Server{ln: ln, collect: collect, opts: opts, sem: make(chan struct{}, opts.MaxConns), conns: map[*os.File]bool{}}, nil
}

// Addr is the address the server listens on, HOST:PORT.
func (s *Server) Addr() string { return s.ln.addr.String() }

// Serve answers scrapes until ctx ends or Close is called.
func (s *Server) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	for {
		c, err := s.ln.accept()
		if err != nil {
			s.wg.Wait()
			if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
				return nil
			}
			return err
		}
		select {
		case s.sem <- struct{}{}:
		default:
			// Too many at once: refuse rather than queue.
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			c.Close()
			continue
		}
		s.track(c, true)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			defer s.track(c, false)
			s.serveConn(c)
		}()
	}
}

func (s *Server) track(c *os.File, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.conns[c] = true
	} else {
		delete(s.conns, c)
		c.Close()
	}
}

// Close stops the server and drops every connection.
func (s *Server) Close() error {
	err := s.ln.close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	return err
}

// limitedReader fails once more than n bytes were read: the header limit.
type limitedReader struct {
	c *os.File
	n int
}

var errTooLarge = errors.New("request header too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooLarge
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.c.Read(p)
	l.n -= n
	return n, err
}

func (s *Server) serveConn(c *os.File) {
	c.SetReadDeadline(time.Now().Add(s.opts.ReadHeaderTimeout))
	br := bufio.NewReaderSize(&limitedReader{c: c, n: s.opts.MaxHeaderBytes}, 4096)
	line, err := br.ReadString('\n')
	if err != nil {
		s.fail(c, err)
		return
	}
	method, target, proto, ok := parseRequestLine(strings.TrimRight(line, "\r\n"))
	if !ok {
		s.reply(c, 400, "text/plain; charset=utf-8", []byte("bad request\n"), "")
		return
	}
	accept := ""
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			s.fail(c, err)
			return
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		name, value, _ := strings.Cut(h, ":")
		if strings.EqualFold(strings.TrimSpace(name), "Accept") {
			accept = strings.TrimSpace(value)
		}
	}
	c.SetReadDeadline(time.Time{})
	path, _, _ := strings.Cut(target, "?")
	switch {
	case !strings.HasPrefix(proto, "HTTP/1."):
		s.reply(c, 505, "text/plain; charset=utf-8", []byte("HTTP/1.x only\n"), "")
	case path != "/metrics":
		s.reply(c, 404, "text/plain; charset=utf-8", []byte("404 page not found\n"), "")
	case method != "GET" && method != "HEAD":
		s.reply(c, 405, "text/plain; charset=utf-8", []byte("method not allowed\n"), "Allow: GET, HEAD\r\n")
	default:
		f := Negotiate(accept)
		body, err := s.collect(make([]byte, 0, 4096), f)
		if err != nil {
			s.reply(c, 500, "text/plain; charset=utf-8", []byte(err.Error()+"\n"), "")
			return
		}
		if method == "HEAD" {
			body = body[:0]
		}
		s.reply(c, 200, f.ContentType(), body, "")
	}
}

// fail answers a request that could not be read: 431 past the header
// limit, 408 when the client was too slow, and nothing when it left.
func (s *Server) fail(c *os.File, err error) {
	switch {
	case errors.Is(err, errTooLarge):
		s.reply(c, 431, "text/plain; charset=utf-8", []byte("request header fields too large\n"), "")
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.reply(c, 408, "text/plain; charset=utf-8", []byte("request timeout\n"), "")
	}
}

var statusText = map[int]string{200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
	408: "Request Timeout", 431: "Request Header Fields Too Large", 500: "Internal Server Error", 505: "HTTP Version Not Supported"}

func (s *Server) reply(c *os.File, code int, ctype string, body []byte, extra string) {
	c.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	var h bytes.Buffer
	fmt.Fprintf(&h, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n", code, statusText[code], ctype, len(body), extra)
	c.Write(h.Bytes())
	c.Write(body)
}

func parseRequestLine(l string) (method, target, proto string, ok bool) {
	method, rest, ok1 := strings.Cut(l, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || method == "" || target == "" || strings.ContainsAny(proto, " ") {
		return "", "", "", false
	}
	return method, target, proto, true
}

// ExposureWarning returns a one-line warning when addr is reachable from
// other hosts (any address but loopback), "" otherwise: map keys are
// kernel data (command names, paths, arguments).
func ExposureWarning(addr string) string {
	ap, err := parseListenAddr(addr)
	if err != nil || ap.Addr().IsLoopback() {
		return ""
	}
	host := ap.Addr().String()
	if ap.Addr().IsUnspecified() {
		host = "every interface (" + host + ")"
	}
	return fmt.Sprintf("warning: serving /metrics on %s: every map of the script, keys included (command names, paths, arguments), is readable by anyone who can reach it", host)
}
