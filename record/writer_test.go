package record

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriterReopen is what SIGHUP does after logrotate moved the file away:
// records before go to the moved file, records after to a new one, all whole.
func TestWriterReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "trace.txt")
	w, err := NewWriter(WriterOptions{Path: path, Header: FormatText.Header(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("a-1 [000] ..... 1.000001: ev: n=1\n"))
	w.Write([]byte("a-1 [000] ..... 1.000002: ev: n=2\n"))
	if err := os.Rename(path, path+".old"); err != nil { // logrotate
		t.Fatal(err)
	}
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("a-1 [000] ..... 1.000003: ev: n=3\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{path + ".old": "1 2", path: "3"} {
		ents, truncated := readAll(t, f)
		var got []string
		for _, e := range ents {
			got = append(got, fieldOf(&e, "n"))
		}
		if truncated || strings.Join(got, " ") != want {
			t.Errorf("%s: %v (truncated %v), want %s", f, got, truncated, want)
		}
		b, _ := os.ReadFile(f)
		if !strings.HasPrefix(string(b), "# tracer: nop\n") {
			t.Errorf("%s does not start with the text header", f)
		}
	}
}

// TestWriterFull: without rotation, a full file ends the recording with
// ErrFull rather than grow past MaxSize.
func TestWriterFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.jsonl")
	w, err := NewWriter(WriterOptions{Path: path, MaxSize: 100, NoSync: true, ChunkSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	rec := []byte(`{"n":1234567890}` + "\n")
	var werr error
	for i := 0; i < 20 && werr == nil; i++ {
		_, werr = w.Write(rec)
	}
	w.Close()
	if werr != ErrFull {
		t.Fatalf("err = %v, want ErrFull", werr)
	}
	if st, _ := os.Stat(path); st.Size() > 100 {
		t.Errorf("file grew to %d bytes", st.Size())
	}
}
