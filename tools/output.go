package tools

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Format is how a tool prints: columns as libbpf-tools prints them, or JSON
// Lines (one object per event or per table row).
type Format int

// Output formats.
const (
	Text Format = iota
	JSON
)

// ParseFormat reads -o.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "text":
		return Text, nil
	case "json":
		return JSON, nil
	}
	return 0, fmt.Errorf("output format %q: want text or json", s)
}

// Printer writes a tool's header and rows. Timestamps (-T) are wall-clock
// HH:MM:SS in text; JSON lines always carry the time, RFC 3339 with
// nanoseconds.
type Printer struct {
	W         io.Writer
	Format    Format
	Timestamp bool
	Tool      string // the tool's name, in JSON
	enc       *json.Encoder
}

// Header prints the column line (text only).
func (p *Printer) Header(cols string) {
	if p.Format != Text {
		return
	}
	if p.Timestamp {
		cols = fmt.Sprintf("%-8s ", "TIME") + cols
	}
	fmt.Fprintln(p.W, cols)
}

// JSONVersion is the version of the tools' JSON Lines (README: JSON
// Lines): each line is {"version", "tool", "time", "event"}, where event is
// the tool's own row (ExecEvent, SyscountReport, ...).
const JSONVersion = 1

// Row prints one event: text, already formatted, or v as a JSON line.
func (p *Printer) Row(t time.Time, text string, v any) error {
	if p.Format == JSON {
		if p.enc == nil {
			p.enc = json.NewEncoder(p.W)
		}
		return p.enc.Encode(struct {
			Version int    `json:"version"`
			Tool    string `json:"tool"`
			Time    string `json:"time"`
			Event   any    `json:"event"`
		}{JSONVersion, p.Tool, t.Format(time.RFC3339Nano), v})
	}
	if p.Timestamp {
		text = t.Format("15:04:05") + " " + text
	}
	_, err := fmt.Fprintln(p.W, text)
	return err
}
