package flamegraph

import (
	"bytes"
	"testing"

	"github.com/tracelet/tracelet/internal/testenv"
)

// The SVG in a real browser: headless Chromium renders the frame, a click
// zooms it to the full width and hides the frames outside it, "Reset
// Zoom" restores it, and Search colors the matching frames and reports
// their share.
func TestSVGInChromium(t *testing.T) {
	p := NewProfile()
	p.Add([]string{"prog", "main", "spinTarget"}, 75)
	p.Add([]string{"prog", "main", "spinTarget", "do_syscall_64_[k]"}, 25)
	p.Add([]string{"prog", "main", "waitForIt"}, 100)
	p.Add([]string{"other", "x"}, 50)
	var b bytes.Buffer
	if err := p.WriteSVG(&b, Options{Title: "test"}); err != nil {
		t.Fatal(err)
	}
	got := testenv.ParseHarness(testenv.BrowserCheck(t, b.Bytes(), testenv.FlameGraphHarness("spinTarget", "^spin")))
	t.Logf("browser: %v", got)
	if got["error"] != "" {
		t.Fatalf("harness: %s", got["error"])
	}
	// 100 of 250 samples: 1180 * 0.4 px.
	if got["frames"] != "8" || got["display"] == "none" || got["bbox"] != "472.0" || got["width"] != "472.0" || got["label"] != "spinTarget" {
		t.Errorf("not rendered as drawn: %v", got)
	}
	// Zoomed: the full 1180 px from x=10; waitForIt, other and x hidden.
	if got["zoomed"] != "1180.0" || got["zoomedx"] != "10.0" || got["hidden"] != "3" || got["unzoom"] != "" {
		t.Errorf("click did not zoom: %v", got)
	}
	if got["unzoomed"] != "472.0" || got["hiddenafter"] != "0" {
		t.Errorf("Reset Zoom did not restore: %v", got)
	}
	if got["matched"] != "Matched: 40.0%" || got["fill"] != "rgb(230,0,230)" {
		t.Errorf("search: %v", got)
	}
}
