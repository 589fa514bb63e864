package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// BrowserCheck loads the SVG svg in headless Chromium with harness, a
// script that runs after the page's own scripts have loaded, and returns
// what harness wrote into the DOM: the text of an element with id
// "harness-result" (harness creates it). The harness goes into a copy of
// the SVG, before its closing tag, so that it runs in the SVG's own
// document, as a user's browser runs the graph's script, and Chromium's
// --dump-dom prints the document once the page and its timers are done
// (--virtual-time-budget). Chromium is a host tool: make deps installs
// Debian's package.
func BrowserCheck(t testing.TB, svg []byte, harness string) string {
	t.Helper()
	chromium := RequireHostTool(t, "chromium", "apt-get install chromium")
	i := strings.LastIndex(string(svg), "</svg>")
	if i < 0 {
		t.Fatalf("no </svg> in the SVG")
	}
	page := string(svg[:i]) + "<script type=\"text/ecmascript\"><![CDATA[\n" + harness + "\n]]></script>\n</svg>\n"
	dir := t.TempDir()
	path := filepath.Join(dir, "graph.svg")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--virtual-time-budget=5000", "--dump-dom", "file://"+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`id="harness-result"[^>]*>([^<]*)<`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("chromium's DOM has no harness result (the harness did not run?):\n%.2000s\nstderr:\n%.2000s", out, stderr.String())
	}
	return string(m[1])
}

// FlameGraphHarness is a BrowserCheck harness for package flamegraph's
// SVG: it finds the frame named name, records how it is drawn, clicks it,
// records the zoom, clicks "Reset Zoom", then searches for search through
// the Search button (answering the prompt) and records the match. The
// result is "key=value" pairs joined by "|"; ParseHarness reads them.
func FlameGraphHarness(name, search string) string {
	q := func(s string) string { return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) }
	return `window.addEventListener("load", function () { setTimeout(function () {
	var res = [], name = "` + q(name) + `";
	try {
		var gs = document.querySelectorAll("g.f"), g = null;
		for (var i = 0; i < gs.length; i++) {
			var title = gs[i].querySelector("title").textContent;
			if (title.slice(0, title.lastIndexOf(" (")) === name && (!g || +gs[i].querySelector("rect").getAttribute("width") > +g.querySelector("rect").getAttribute("width"))) g = gs[i];
		}
		if (!g) throw "no frame named " + name;
		var r = g.querySelector("rect"), box = r.getBBox();
		res.push("frames=" + gs.length, "display=" + getComputedStyle(g).display, "bbox=" + box.width.toFixed(1),
			"width=" + r.getAttribute("width"), "label=" + g.querySelector("text").textContent);
		g.dispatchEvent(new MouseEvent("click", {bubbles: true}));
		res.push("zoomed=" + r.getAttribute("width"), "zoomedx=" + r.getAttribute("x"),
			"hidden=" + document.querySelectorAll("g.f.hide").length, "unzoom=" + document.getElementById("unzoom").getAttribute("class"));
		document.getElementById("unzoom").dispatchEvent(new MouseEvent("click", {bubbles: true}));
		res.push("unzoomed=" + r.getAttribute("width"), "hiddenafter=" + document.querySelectorAll("g.f.hide").length);
		window.prompt = function () { return "` + q(search) + `"; };
		document.getElementById("search").dispatchEvent(new MouseEvent("click", {bubbles: true}));
		res.push("matched=" + document.getElementById("matched").textContent, "fill=" + r.getAttribute("fill"));
	} catch (e) {
		res.push("error=" + e);
	}
	var t = document.createElementNS("http://www.w3.org/2000/svg", "text");
	t.setAttribute("id", "harness-result");
	t.textContent = res.join("|");
	document.documentElement.appendChild(t);
}, 0); });`
}

// ParseHarness reads FlameGraphHarness's result.
func ParseHarness(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, "|") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}
