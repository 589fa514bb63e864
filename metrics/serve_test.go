package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func startServer(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	s, err := Listen("127.0.0.1:0", func(b []byte, f Format) ([]byte, error) {
		return AppendText(b, allKinds(), f), nil
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, "http://" + s.Addr()
}

func TestServe(t *testing.T) {
	_, base := startServer(t, Options{})
	get := func(path, accept string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/metrics", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != FormatText.ContentType() || body != string(AppendText(nil, allKinds(), FormatText)) {
		t.Errorf("GET /metrics: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = get("/metrics", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != FormatOpenMetrics.ContentType() || !strings.HasSuffix(body, "# EOF\n") {
		t.Errorf("GET /metrics as OpenMetrics: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, p := range []string{"/", "/metrics/", "/debug/pprof/", "/metricsx", "/../metrics"} {
		if resp, _ := get(p, ""); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	resp, err := http.Post(base+"/metrics", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d", resp.StatusCode)
	}
}

// TestSlowClient: a client that never finishes its request is cut off at
// the header timeout, and other scrapes are served meanwhile.
func TestSlowClient(t *testing.T) {
	s, base := startServer(t, Options{ReadHeaderTimeout: 300 * time.Millisecond})
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")) // and never more
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a scrape beside the slow client: %d", resp.StatusCode)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	// The server answers 408 or closes; either way the connection ends
	// long before our 5 s deadline.
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the slow client's connection was still open after 5 s")
	}
	if n > 0 && !strings.Contains(string(buf[:n]), "408") {
		t.Errorf("slow client got %q", buf[:n])
	}
}

// TestHugeHeader: headers past the limit are refused.
func TestHugeHeader(t *testing.T) {
	_, base := startServer(t, Options{MaxHeaderBytes: 1 << 10})
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // closed on us: refused
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d, want 431", resp.StatusCode)
	}
}

func TestExposureWarning(t *testing.T) {
	for addr, warn := range map[string]bool{
		"127.0.0.1:9100": false, "[::1]:9100": false, "localhost:9100": false,
		"0.0.0.0:9100": true, ":9100": true, "192.0.2.7:9100": true,
	} {
		if got := ExposureWarning(addr) != ""; got != warn {
			t.Errorf("ExposureWarning(%q) = %v, want %v", addr, got, warn)
		}
	}
	if _, err := Listen("", nil, Options{}); err == nil {
		t.Error("Listen with no address")
	}
}
