package usdt

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Spec
		err  bool
	}{
		{"usdt:/usr/bin/python3:python:function__entry", Spec{"/usr/bin/python3", "python", "function__entry"}, false},
		{"usdt:/usr/bin/python3:function__entry", Spec{"/usr/bin/python3", "", "function__entry"}, false},
		{"U:/bin/x:p:*", Spec{"/bin/x", "p", "*"}, false},
		{"usdt:/bin/x", Spec{}, true},
		{"usdt::p:n", Spec{}, true},
		{"usdt:/bin/x:p:", Spec{}, true},
		{"uprobe:/bin/x:p:n", Spec{}, true},
		{"usdt:/a:b:c:d", Spec{}, true},
	} {
		got, err := ParseSpec(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseSpec(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func TestFindAndResolve(t *testing.T) {
	path := filepath.Join("testdata", "probes-x86_64")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		provider, name string
		want           string
	}{
		{"", "*", "tracelet:args tracelet:mem tracelet:fire other:args"},
		{"tracelet", "*", "tracelet:args tracelet:mem tracelet:fire"},
		{"*", "args", "tracelet:args other:args"},
		{"tr*", "[fm]*", "tracelet:mem tracelet:fire"},
		{"nope", "*", ""},
	} {
		ps, err := f.Find(c.provider, c.name)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("Find(%q, %q) = %q, want %q", c.provider, c.name, strings.Join(got, " "), c.want)
		}
	}
	if _, err := f.Find("[", "x"); err == nil {
		t.Error("bad pattern accepted")
	}
	if _, err := f.Lookup("", "nosuch"); !errors.Is(err, ErrNoProbes) {
		t.Errorf("Lookup of a missing probe: %v", err)
	}

	ts, err := Resolve("usdt:" + path + ":fire")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].SemaphoreOffset == 0 || len(ts[0].Args) != 2 || ts[0].Args[0].Reg != "di" {
		t.Errorf("Resolve fire: %+v", ts)
	}
	if ts, err := Resolve("usdt:" + path + ":tracelet:*"); err != nil || len(ts) != 3 {
		t.Errorf("Resolve tracelet:*: %d targets, %v", len(ts), err)
	}
	if _, err := Resolve("usdt:" + path + ":args"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("Resolve of a shared name: %v", err)
	}
	if _, err := Resolve("usdt:" + path + ":x*"); !errors.Is(err, ErrNoProbes) {
		t.Errorf("Resolve of no match: %v", err)
	}
	if _, err := Resolve("usdt:/nonexistent/file:p:n"); err == nil {
		t.Error("missing file accepted")
	}
}
