// Package metrics writes tracelet's maps for Prometheus: the text
// exposition format (version 0.0.4), or OpenMetrics 1.0 where the scraper
// asks for it, served at /metrics by a hardened HTTP server or written to a
// file for node_exporter's textfile collector.
//
// The package knows nothing of BPF: a caller turns its maps into Families
// at scrape time, and the package names, escapes and formats them.
//
//	fams := []metrics.Family{{
//		Name: metrics.Name("tracelet_", "@syscalls"), Kind: metrics.Counter,
//		Help: "count() of @syscalls", Labels: []string{"comm"},
//		Samples: []metrics.Sample{{Labels: []string{"bash"}, Value: 42}},
//	}}
//	b := metrics.AppendText(nil, fams, metrics.FormatText)
package metrics
