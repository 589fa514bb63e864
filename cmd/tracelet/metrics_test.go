package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracelet/tracelet/internal/testenv"
)

// TestMetricsPrometheus has a real Prometheus server (Debian's package)
// scrape `tracelet run --metrics` while a known workload runs, and asks
// its HTTP API for the counts: a count, a sum, a labelled count and a
// histogram whose median lands in the workload's bucket.
func TestMetricsPrometheus(t *testing.T) {
	testenv.RequireRoot(t)
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian's prometheus package; make deps installs it)")
	}
	prog := testenv.TestProg(t)
	port, promPort := freePort(t), freePort(t)
	src := fmt.Sprintf(`// metric: @bycomm comm
uprobe:%s:%s /comm == "testprog"/ { @calls = count(); @total = sum(arg0); @lat = hist(arg0); @bycomm[comm] = count(); }
interval:ms:50 { printf("tick\n"); }`, prog, testenv.CABITarget)
	run := exec.Command(tracelet, "run", "--metrics", "127.0.0.1:"+strconv.Itoa(port), "-e", src)
	var stdout, stderr strings.Builder
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer run.Process.Kill()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	waitHTTP(t, base+"/metrics", &stderr)

	// 10 calls with arg0 5 ([4, 8)) and 30 with arg0 100 ([64, 128)).
	for _, a := range [][]string{{"calls", "10", "5", "1"}, {"calls", "30", "100", "1"}} {
		if out, err := exec.Command(prog, a...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", prog, a, err, out)
		}
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: tracelet
    static_configs:
      - targets: ['127.0.0.1:%d']
`, port)), 0o644)
	p := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(promPort), "--log.level=warn")
	var plog strings.Builder
	p.Stdout, p.Stderr = &plog, &plog
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { p.Process.Kill(); p.Wait() }()
	api := "http://127.0.0.1:" + strconv.Itoa(promPort)
	query := func(q string) (float64, bool) {
		resp, err := http.Get(api + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Result) != 1 {
			return 0, false
		}
		s, _ := r.Data.Result[0].Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil
	}
	want := map[string]float64{
		`tracelet_calls_total`:                   40,
		`tracelet_total_total`:                   10*5 + 30*100,
		`tracelet_bycomm_total{comm="testprog"}`: 40,
		`tracelet_lat_count`:                     40,
	}
	deadline := time.Now().Add(30 * time.Second)
	for q, w := range want {
		for {
			v, ok := query(q)
			if ok && v == w {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Prometheus has %s = %v (%v), want %v\nprometheus log:\n%s\ntracelet stderr:\n%s", q, v, ok, w, plog.String(), stderr.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	med, ok := query(`histogram_quantile(0.5, tracelet_lat_bucket)`)
	if !ok || med < 64 || med > 127 {
		t.Errorf("histogram_quantile(0.5) = %v (%v), want within [64, 127], where 30 of the 40 calls fell", med, ok)
	}
	if stdout.Len() > 0 {
		t.Errorf("run --metrics printed to stdout: %q", stdout.String())
	}
}

// TestMetricsExposure: --metrics takes no default address, and one that
// is not loopback is served with a warning of what it exposes.
func TestMetricsExposure(t *testing.T) {
	testenv.RequireRoot(t)
	r := runCLI(t, "run", "--metrics", "", "-e", "BEGIN { exit(); }")
	if r.code != 2 || !strings.Contains(r.err, "give an address") {
		t.Errorf("--metrics '': exit %d, %q", r.code, r.err)
	}
	port := freePort(t)
	r = runCLI(t, "run", "--metrics", "0.0.0.0:"+strconv.Itoa(port), "-e", "BEGIN { @x = count(); exit(); }")
	if r.code != 0 || !strings.Contains(r.err, "warning: serving /metrics on every interface") || r.out != "" {
		t.Errorf("--metrics 0.0.0.0: exit %d, stdout %q, stderr %q", r.code, r.out, r.err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitHTTP(t *testing.T, u string, log fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 20 s\n%s", u, log.String())
}

// TestMetricsScrapeLoad scrapes 50 times a second for 10 s while a uprobe
// fires: every scrape answers, the count never goes back, and in the end
// it is exactly the number of calls made, none lost or counted twice.
func TestMetricsScrapeLoad(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	port := freePort(t)
	run := exec.Command(tracelet, "run", "--metrics", "127.0.0.1:"+strconv.Itoa(port), "-e",
		fmt.Sprintf(`uprobe:%s:%s /comm == "testprog"/ { @calls = count(); }`, prog, testenv.CABITarget))
	var stderr strings.Builder
	run.Stderr = &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer run.Process.Kill()
	u := "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
	waitHTTP(t, u, &stderr)
	scrape := func() (uint64, error) {
		resp, err := http.Get(u)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			return 0, fmt.Errorf("status %d, %v", resp.StatusCode, err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "tracelet_calls_total "); ok {
				return strconv.ParseUint(v, 10, 64)
			}
		}
		return 0, nil // no call yet
	}
	const rounds, perRound = 40, 500
	done := make(chan error, 1)
	go func() {
		for i := 0; i < rounds; i++ {
			if out, err := exec.Command(prog, "calls", strconv.Itoa(perRound), "1", "2").CombinedOutput(); err != nil {
				done <- fmt.Errorf("%v: %s", err, out)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		done <- nil
	}()
	var last uint64
	scrapes := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); <-tick.C {
		n, err := scrape()
		if err != nil {
			t.Fatalf("scrape %d: %v", scrapes, err)
		}
		if n < last {
			t.Fatalf("scrape %d: count went back from %d to %d", scrapes, last, n)
		}
		last = n
		scrapes++
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	n, err := scrape()
	if err != nil {
		t.Fatal(err)
	}
	if n != rounds*perRound {
		t.Errorf("after %d scrapes the count is %d, want %d calls", scrapes, n, rounds*perRound)
	}
	t.Logf("%d scrapes in 10 s while %d calls were counted", scrapes, n)
}

// TestToolsMetrics: the counting tools serve (--metrics) or write
// (--metrics-file) their running totals, which promtool accepts, and which
// hold exactly a known workload: syscount the kill() calls of one process,
// funccount and funclatency the calls of a uprobed function. Nothing is
// printed to stdout.
func TestToolsMetrics(t *testing.T) {
	testenv.RequireRoot(t)
	prog := testenv.TestProg(t)
	promtool, _ := exec.LookPath("promtool")
	// workload starts prog waiting on stdin; go releases it and waits.
	workload := func(args ...string) (pid int, goRun func()) {
		w := exec.Command(prog, append([]string{"wait"}, args...)...)
		in, _ := w.StdinPipe()
		out, _ := w.StdoutPipe()
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Process.Kill(); w.Wait() })
		bufio.NewReader(out).ReadString('\n') // "ready"
		return w.Process.Pid, func() {
			in.Write([]byte("\n"))
			if err := w.Wait(); err != nil {
				t.Fatalf("%s %v: %v", prog, args, err)
			}
		}
	}
	check := func(name, text string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(text, "\n"+w+"\n") {
				t.Errorf("%s: no line %q in\n%s", name, w, text)
			}
		}
		if promtool == "" {
			return
		}
		c := exec.Command(promtool, "check", "metrics")
		c.Stdin = strings.NewReader(text)
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("%s: promtool check metrics: %v\n%s\n%s", name, err, out, text)
		}
	}
	scrape := func(u string) string {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return "\n" + string(b)
	}

	t.Run("syscount", func(t *testing.T) {
		pid, release := workload("kill", "28", "300") // SIGWINCH, ignored
		port := freePort(t)
		base := "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
		l := startCLI(t, "syscount", "-L", "-p", strconv.Itoa(pid), "--metrics", "127.0.0.1:"+strconv.Itoa(port))
		waitHTTP(t, base, &strings.Builder{})
		release()
		text := scrape(base)
		check("syscount", text, `tracelet_syscount_calls_total{syscall="kill"} 300`, "# TYPE tracelet_syscount_seconds_total counter")
		if out := l.stop(t); len(out) > 0 {
			t.Errorf("syscount --metrics printed %q", out)
		}
	})
	target := prog + ":" + testenv.CABITarget
	t.Run("funccount", func(t *testing.T) {
		pid, release := workload("calls", "40", "1", "2")
		file := filepath.Join(t.TempDir(), "funccount.prom")
		l := startCLI(t, "funccount", "-p", strconv.Itoa(pid), "--metrics-file", file, "--metrics-interval", "100ms", target)
		waitFile(t, file)
		release()
		if out := l.stop(t); len(out) > 0 {
			t.Errorf("funccount --metrics-file printed %q", out)
		}
		b, _ := os.ReadFile(file) // the last write, after the end
		check("funccount", "\n"+string(b), fmt.Sprintf(`tracelet_funccount_calls_total{function=%q} 40`, testenv.CABITarget))
	})
	t.Run("funclatency", func(t *testing.T) {
		pid, release := workload("calls", "25", "1", "2")
		port := freePort(t)
		base := "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
		l := startCLI(t, "funclatency", "-p", strconv.Itoa(pid), "--metrics", "127.0.0.1:"+strconv.Itoa(port), target)
		waitHTTP(t, base, &strings.Builder{})
		release()
		text := scrape(base)
		check("funclatency", text, fmt.Sprintf(`tracelet_funclatency_seconds_count{function=%q} 25`, testenv.CABITarget),
			fmt.Sprintf(`tracelet_funclatency_seconds_bucket{function=%q,le="+Inf"} 25`, testenv.CABITarget))
		l.stop(t)
	})
	// tcpconnect -c counts connects by address and port: three to the
	// test's own listener.
	t.Run("tcpconnect", func(t *testing.T) {
		if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
			t.Skip("tcpconnect's fallback reads the socket through BTF, and this kernel has none:", err)
		}
		dport := testenv.LoopbackPort(t)
		port := freePort(t)
		base := "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
		l := startCLI(t, "tcpconnect", "-c", "-P", strconv.Itoa(dport), "--metrics", "127.0.0.1:"+strconv.Itoa(port))
		waitHTTP(t, base, &strings.Builder{})
		for range 3 {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(dport))
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		want := fmt.Sprintf(`tracelet_tcpconnect_connects_total{saddr="127.0.0.1",daddr="127.0.0.1",dport="%d"} 3`, dport)
		var text string
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if text = scrape(base); strings.Contains(text, want) {
				break
			}
		}
		check("tcpconnect", text, want)
		l.stop(t)
	})
	// A script tool serves the maps its `// metric:` comments name: runqlat
	// the wakeups of this process's thread that sleeps 50 times.
	t.Run("runqlat", func(t *testing.T) {
		if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
			t.Skip("runqlat reads the sched tracepoints' task structs through BTF, and this kernel has none:", err)
		}
		port := freePort(t)
		base := "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
		l := startCLI(t, "runqlat", "-p", strconv.Itoa(os.Getpid()), "--metrics", "127.0.0.1:"+strconv.Itoa(port))
		waitHTTP(t, base, &strings.Builder{})
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for range 50 {
				time.Sleep(2 * time.Millisecond)
			}
			close(done)
		}()
		<-done
		text := scrape(base)
		check("runqlat", text, "# TYPE tracelet_runqlat_lat histogram")
		var n int
		for _, line := range strings.Split(text, "\n") {
			if v, ok := strings.CutPrefix(line, "tracelet_runqlat_lat_count "); ok {
				n, _ = strconv.Atoi(v)
			}
		}
		if n < 50 {
			t.Errorf("tracelet_runqlat_lat_count %d, want at least the 50 wakeups of the sleeping thread\n%s", n, text)
		}
		if strings.Contains(text, "_start") {
			t.Errorf("runqlat's private @start is served:\n%s", text)
		}
		if out := l.stop(t); len(out) > 0 {
			t.Errorf("runqlat --metrics printed %q", out)
		}
	})
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s was not written within 20 s", path)
}
