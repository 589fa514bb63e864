package main

import (
	"bytes"
	"os"
	"strings"

	"github.com/tracelet/tracelet/flamegraph"
)

// svgOutput collects a run's folded stacks and draws them at the end
// (--svg FILE).
type svgOutput struct {
	path   string
	opts   flamegraph.Options
	folded bytes.Buffer
}

// newSVGOutput draws into path a graph with title whose counts count
// unit; its subtitle is the command line.
func newSVGOutput(path, title, unit string) *svgOutput {
	return &svgOutput{path: path, opts: flamegraph.Options{
		Title: title, CountName: unit,
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
