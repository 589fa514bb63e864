package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CheckJSONSchema compares the shape of lines (JSON objects: their keys in
// order and the kind of each value, fields objects as "object") with
// ../testdata/jsonschema/NAME-vVERSION.txt. A change of shape fails until
// the output's version is raised and the new shape recorded: run the test
// with TRACELET_UPDATE_SCHEMA=1 after raising it.
func CheckJSONSchema(t testing.TB, name string, version int, lines ...[]byte) {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		s, err := jsonShape(l)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, l)
		}
		b.WriteString(s + "\n")
	}
	file := filepath.Join(repoRoot(t), "testdata", "jsonschema", fmt.Sprintf("%s-v%d.txt", name, version))
	if os.Getenv("TRACELET_UPDATE_SCHEMA") == "1" {
		if _, err := os.Stat(file); err == nil {
			t.Fatalf("%s exists: a recorded version's schema is never rewritten; raise the version", file)
		}
		os.MkdirAll(filepath.Dir(file), 0o755)
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%s: no recorded schema for version %d (%v): record it with TRACELET_UPDATE_SCHEMA=1", name, version, err)
	}
	if b.String() != string(want) {
		t.Errorf("the JSON of %s changed, but its version is still %d: raise it and record the new schema (TRACELET_UPDATE_SCHEMA=1)\nnow:\n%s\nversion %d:\n%s", name, version, b.String(), version, want)
	}
}

// repoRoot is the repository's top, above the test's package: the first
// directory up that holds testdata/jsonschema (the VM guests copy the
// testdata trees without go.mod).
func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "testdata", "jsonschema")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no testdata/jsonschema above the test's directory")
		}
		dir = up
	}
}

// jsonShape describes one object: "{key:kind,...}", where fields (the
// event's own, which differ per event) count as one object.
func jsonShape(line []byte) (string, error) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	tok, err := d.Token()
	if err != nil || tok != json.Delim('{') {
		return "", fmt.Errorf("not a JSON object")
	}
	return objectShape(d, 0)
}

func objectShape(d *json.Decoder, depth int) (string, error) {
	var parts []string
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return "", err
		}
		key, _ := k.(string)
		kind, err := valueShape(d, key == "fields", depth)
		if err != nil {
			return "", err
		}
		parts = append(parts, key+":"+kind)
	}
	if _, err := d.Token(); err != nil { // '}'
		return "", err
	}
	return "{" + strings.Join(parts, ",") + "}", nil
}

func valueShape(d *json.Decoder, opaque bool, depth int) (string, error) {
	if depth > 8 {
		return "", fmt.Errorf("nested too deep")
	}
	tok, err := d.Token()
	if err != nil {
		return "", err
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			s, err := objectShape(d, depth+1)
			if opaque {
				s = "object"
			}
			return s, err
		}
		elem := ""
		for d.More() {
			s, err := valueShape(d, false, depth+1)
			if err != nil {
				return "", err
			}
			if elem == "" {
				elem = s
			}
		}
		_, err := d.Token() // ']'
		return "[" + elem + "]", err
	case json.Number:
		return "number", nil
	case string:
		return "string", nil
	case bool:
		return "bool", nil
	}
	return "null", nil
}
