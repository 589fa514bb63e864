package main

import (
	"bytes"
	"os"
	"strings"

	"github.com/tracelet/tracelet/flamegraph"
	"github.com/tracelet/tracelet/internal/cli"
)

// svgOutput collects a run's folded stacks and draws them at the end
// (--svg FILE).
type svgOutput struct {
	path   string
	opts   flamegraph.Options
	folded bytes.Buffer
}

// newSVGOutput reads --svg, --svg-title and --svg-unit; nil without --svg.
func newSVGOutput(c *cli.Context) *svgOutput {
	if c.String("svg") == "" {
		return nil
	}
	return &svgOutput{path: c.String("svg"), opts: flamegraph.Options{
		Title: c.String("svg-title"), CountName: c.String("svg-unit"),
		Subtitle: "tracelet " + strings.Join(os.Args[1:], " "),
	}}
}

// write draws the flame graph into a temporary file beside the target and
// renames it, so that a browser never loads half a graph.
func (s *svgOutput) write() error {
	if s == nil {
		return nil
	}
	p, err := flamegraph.ParseFolded(&s.folded)
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = p.WriteSVG(f, s.opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
