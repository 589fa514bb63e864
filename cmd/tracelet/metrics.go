package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/metrics"
	"github.com/tracelet/tracelet/scriptrun"
)

// metricsRun is run's --metrics, --metrics-file and --label.
type metricsRun struct {
	addr, file string
	every      time.Duration
	opts       scriptrun.MetricsOptions
}

func (m *metricsRun) on() bool { return m.addr != "" || m.file != "" }

func metricsConfig(c *cli.Context, src []byte) (*metricsRun, error) {
	name := c.Command.Name
	m := &metricsRun{addr: c.String("metrics"), file: c.String("metrics-file"), every: c.Duration("metrics-interval")}
	if c.IsSet("metrics") && m.addr == "" {
		return nil, usageError("%s: --metrics: give an address, such as 127.0.0.1:9100", name)
	}
	if m.every <= 0 {
		return nil, usageError("%s: --metrics-interval %v: want a positive duration", name, m.every)
	}
	if src == nil {
		return m, nil
	}
	m.opts.Labels = scriptrun.MetricLabels(src)
	for _, spec := range strings.Fields(c.String("label")) {
		name, list, ok := strings.Cut(spec, "=")
		if !ok || !strings.HasPrefix(name, "@") || list == "" {
			return nil, usageError("run: --label %q: want @MAP=NAME[,NAME...]", spec)
		}
		m.opts.Labels[name] = strings.Split(list, ",")
	}
	return m, nil
}

// metricsFlags are run's and the counting tools' --metrics flags.
func metricsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "metrics", Usage: "serve the maps at http://`ADDR`/metrics for Prometheus (e.g. 127.0.0.1:9100), read at each scrape; nothing is printed"},
		&cli.StringFlag{Name: "metrics-file", Usage: "write the maps to `PATH` in Prometheus text format every --metrics-interval, atomically (node_exporter's textfile collector); nothing is printed"},
		&cli.DurationFlag{Name: "metrics-interval", Value: 15 * time.Second, Usage: "how often --metrics-file is written"},
	}
}

// start serves or writes what collect reads, until the returned stop is
// called; collect is called at each scrape, from another goroutine.
func (m *metricsRun) start(ctx context.Context, collect func() ([]metrics.Family, error)) (stop func() error, err error) {
	if !m.on() {
		return func() error { return nil }, nil
	}
	render := func(b []byte, f metrics.Format) ([]byte, error) {
		fams, err := collect()
		if err != nil {
			return nil, err
		}
		return metrics.AppendText(b, fams, f), nil
	}
	if _, err := render(nil, metrics.FormatText); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var errs []error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	if m.addr != "" {
		srv, err := metrics.Listen(m.addr, render, metrics.Options{})
		if err != nil {
			cancel()
			return nil, err
		}
		if w := metrics.ExposureWarning(m.addr); w != "" {
			fmt.Fprintln(os.Stderr, "tracelet: "+w)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ctx); err != nil {
				fail(err)
			}
		}()
	}
	write := func() error {
		b, err := render(nil, metrics.FormatText)
		if err != nil {
			return err
		}
		return metrics.WriteFile(m.file, b)
	}
	if m.file != "" {
		if err := write(); err != nil {
			cancel()
			return nil, fmt.Errorf("--metrics-file: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(m.every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := write(); err != nil {
						fail(fmt.Errorf("--metrics-file: %w", err))
					}
				}
			}
		}()
	}
	return func() error {
		// The file gets the final counts before the maps go away.
		if m.file != "" {
			if err := write(); err != nil {
				fail(fmt.Errorf("--metrics-file: %w", err))
			}
		}
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(errs) > 0 {
			return errs[0]
		}
		return nil
	}, nil
}
