package bpf

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

var possible struct {
	once sync.Once
	n    int
	err  error
}

// PossibleCPUs is the number of possible CPUs: the kernel sizes per-CPU map
// values and perf event arrays by num_possible_cpus(), which counts CPUs that
// are offline or not yet plugged in, so the online count is wrong here.
func PossibleCPUs() (int, error) {
	possible.once.Do(func() {
		b, err := os.ReadFile("/sys/devices/system/cpu/possible")
		if err != nil {
			possible.err = err
			return
		}
		possible.n, possible.err = parseCPURange(strings.TrimSpace(string(b)))
	})
	return possible.n, possible.err
}

// parseCPURange reads "0-3,5,7-8" and returns highest+1: CPU numbers index
// per-CPU slots directly, holes included.
func parseCPURange(s string) (int, error) {
	max := -1
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || b < a {
			return 0, fmt.Errorf("cpu list %q: bad range %q", s, part)
		}
		if b > max {
			max = b
		}
	}
	if max < 0 {
		return 0, fmt.Errorf("cpu list %q is empty", s)
	}
	return max + 1, nil
}

func roundUp8(n int) int { return (n + 7) &^ 7 }
