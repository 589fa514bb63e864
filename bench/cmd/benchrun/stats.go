package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// row is one figure: one tool's samples of one metric in one scenario,
// a sample per round (NaN where that round failed).
type row struct {
	Scenario string `json:"scenario"`
	Tool     string `json:"tool"`
	Metric   string `json:"metric"`
	Unit     string `json:"unit"`
	// Samples has one figure per round, in round order; NaN where the
	// round failed (null in the JSON).
	Samples []float64 `json:"-"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	// Ratios is this row's median of per-round ratios to each anchor of
	// the same scenario and metric: rounds alternate the tools, so a
	// round's ratio compares runs made under the same load.
	Ratios map[string]float64 `json:"ratios,omitempty"`
	Goal   string             `json:"goal,omitempty"`
	Met    *bool              `json:"met,omitempty"`
	Note   string             `json:"note,omitempty"` // "not available: ..." and the like
}

// goal holds a tracelet figure against one anchor's: ratio = tracelet /
// anchor (per round, median), met when ratio <= Max (or >= Min).
type goal struct {
	Anchor   string
	Max, Min float64
	Text     string
	// Extra is a further condition (e.g. lossless), with what it says
	// when it fails.
	Extra func(rows []*row, r *row) (bool, string)
}

// report collects rows in the order they are made.
type report struct {
	rows  []*row
	goals map[string][]goal // by scenario+"\x00"+metric
}

func (rp *report) add(scenario, tool, metric, unit string, rounds int) *row {
	r := &row{Scenario: scenario, Tool: tool, Metric: metric, Unit: unit, Samples: make([]float64, rounds)}
	for i := range r.Samples {
		r.Samples[i] = math.NaN()
	}
	rp.rows = append(rp.rows, r)
	return r
}

func (rp *report) setGoal(scenario, metric string, g ...goal) {
	if rp.goals == nil {
		rp.goals = map[string][]goal{}
	}
	k := scenario + "\x00" + metric
	for _, n := range g {
		dup := false
		for _, o := range rp.goals[k] {
			dup = dup || o.Text == n.Text
		}
		if !dup {
			rp.goals[k] = append(rp.goals[k], n)
		}
	}
}

func median(xs []float64) float64 {
	s := valid(xs)
	if len(s) == 0 {
		return math.NaN()
	}
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func valid(xs []float64) []float64 {
	var s []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s = append(s, x)
		}
	}
	return s
}

func isTracelet(tool string) bool { return strings.HasPrefix(tool, "tracelet") }

// finish computes medians, spreads, ratios and goals.
func (rp *report) finish() {
	for _, r := range rp.rows {
		s := valid(r.Samples)
		r.Median, r.Min, r.Max = median(r.Samples), math.NaN(), math.NaN()
		if len(s) > 0 {
			sort.Float64s(s)
			r.Min, r.Max = s[0], s[len(s)-1]
		}
	}
	for _, r := range rp.rows {
		if !isTracelet(r.Tool) {
			continue
		}
		var same []*row
		for _, a := range rp.rows {
			if a.Scenario == r.Scenario && a.Metric == r.Metric {
				same = append(same, a)
			}
		}
		for _, a := range same {
			// No ratios of counts of losses, nor of differences
			// (noise makes those cross zero): those figures stand as
			// they are.
			if a == r || isTracelet(a.Tool) || a.Tool == "untraced" || a.Metric == "lost" || strings.HasPrefix(a.Metric, "above") {
				continue
			}
			var q []float64
			for i := range r.Samples {
				if i < len(a.Samples) && a.Samples[i] != 0 {
					q = append(q, r.Samples[i]/a.Samples[i])
				}
			}
			if m := median(q); !math.IsNaN(m) {
				if r.Ratios == nil {
					r.Ratios = map[string]float64{}
				}
				r.Ratios[a.Tool] = m
			}
		}
		for _, g := range rp.goals[r.Scenario+"\x00"+r.Metric] {
			text := g.Text
			ratio, ok := r.Ratios[g.Anchor]
			met := ok
			switch {
			case !ok:
				text += " (no " + g.Anchor + " figure)"
			case g.Max > 0 && ratio > g.Max, g.Min > 0 && ratio < g.Min:
				met = false
			}
			if ok && g.Extra != nil {
				if good, why := g.Extra(same, r); !good {
					met = false
					text += " (" + why + ")"
				}
			}
			if r.Goal != "" {
				r.Goal += "; "
			}
			r.Goal += text
			if ok {
				if met {
					r.Goal += ": met"
				} else {
					r.Goal += ": NOT MET"
				}
			}
			if r.Met == nil || !met {
				m := met
				r.Met = &m
			}
		}
	}
}

// ratio formats a ratio with two decimals, or three significant digits
// below 0.1.
func ratio(v float64) string {
	if math.Abs(v) < 0.1 {
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v == 0:
		return "0"
	case math.Abs(v) >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case math.Abs(v) >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// table renders the rows as a Markdown table, one per scenario group.
func (rp *report) table() string {
	var b strings.Builder
	last := ""
	// Rows of a group (the scenario up to its colon) stay together, in
	// the order the groups first appear.
	order := map[string]int{}
	var rows []*row
	for _, r := range rp.rows {
		g := strings.SplitN(r.Scenario, ":", 2)[0]
		if _, ok := order[g]; !ok {
			order[g] = len(order)
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		return order[strings.SplitN(rows[i].Scenario, ":", 2)[0]] < order[strings.SplitN(rows[j].Scenario, ":", 2)[0]]
	})
	for _, r := range rows {
		group := strings.SplitN(r.Scenario, ":", 2)[0]
		if group != last {
			if last != "" {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "### %s\n\n", group)
			b.WriteString("| scenario | tool | metric | median | min | max | ratio to anchor (same run) | goal |\n")
			b.WriteString("| --- | --- | --- | ---: | ---: | ---: | --- | --- |\n")
			last = group
		}
		med, lo, hi := num(r.Median), num(r.Min), num(r.Max)
		if r.Note != "" && len(valid(r.Samples)) == 0 {
			med, lo, hi = r.Note, "", ""
		}
		var ratios []string
		for _, a := range sortedKeys(r.Ratios) {
			ratios = append(ratios, fmt.Sprintf("%s× %s", ratio(r.Ratios[a]), a))
		}
		note := r.Goal
		if r.Note != "" && len(valid(r.Samples)) > 0 {
			note = strings.TrimPrefix(note+"; "+r.Note, "; ")
		}
		scen := r.Scenario
		if i := strings.Index(scen, ":"); i >= 0 {
			scen = strings.TrimSpace(scen[i+1:])
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", scen, r.Tool, r.Metric+" ("+r.Unit+")",
			med, lo, hi, strings.Join(ratios, ", "), note)
	}
	return b.String()
}

func sortedKeys(m map[string]float64) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// summary lists every goal with the figure it was held against: the
// lines BENCHMARKS.md opens with.
func (rp *report) summary() string {
	var b strings.Builder
	b.WriteString("| figure | tool | tracelet ÷ anchor | goal |\n| --- | --- | --- | --- |\n")
	for _, r := range rp.rows {
		if r.Goal == "" || r.Met == nil {
			continue
		}
		var ratios []string
		for _, a := range sortedKeys(r.Ratios) {
			if rp.isGoalAnchor(r, a) {
				ratios = append(ratios, fmt.Sprintf("%s× %s", ratio(r.Ratios[a]), a))
			}
		}
		fmt.Fprintf(&b, "| %s, %s | %s | %s | %s |\n", r.Scenario, r.Metric, r.Tool, strings.Join(ratios, ", "), r.Goal)
	}
	return b.String()
}

func (rp *report) isGoalAnchor(r *row, anchor string) bool {
	for _, g := range rp.goals[r.Scenario+"\x00"+r.Metric] {
		if g.Anchor == anchor {
			return true
		}
	}
	return false
}
