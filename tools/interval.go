package tools

import (
	"context"
	"time"
)

// reportEvery calls report every interval (never, for 0) until ctx ends,
// and once more then: the counting tools' -i, and their closing report.
func reportEvery(ctx context.Context, interval time.Duration, report func() error) error {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return report()
		case <-tick:
			if err := report(); err != nil {
				return err
			}
		}
	}
}
