package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/tracelet/tracelet/internal/cli"
	"github.com/tracelet/tracelet/record"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "read recordings back (text or JSON Lines, whole records only), print them in either format or summarise",
		ArgsUsage: "FILE...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "`FORMAT` to print: text or json"},
			&cli.BoolFlag{Name: "summary", Aliases: []string{"s"}, Usage: "print events per name instead of the events"},
		},
		Action: reportAction,
	}
}

func reportAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageError("report: no FILE given")
	}
	format, err := record.ParseFormat(c.String("format"))
	if err != nil {
		return usageError("report: %v", err)
	}
	out := bufio.NewWriterSize(c.App.Writer, 64<<10)
	defer out.Flush()
	if !c.Bool("summary") {
		out.Write(format.Header())
	}
	counts := map[string]int{}
	total, bad := 0, 0
	var line []byte
	for _, name := range c.Args().Slice() {
		f, err := os.Open(name)
		if err != nil {
			return cli.Exit(err.Error(), 1)
		}
		r := record.NewReader(f)
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				bad++
				fmt.Fprintf(c.App.ErrWriter, "tracelet: report: %s: %v\n", name, err)
				continue
			}
			total++
			counts[e.Event]++
			if !c.Bool("summary") {
				line = record.AppendEntry(line[:0], &e, format)
				if _, err := out.Write(line); err != nil {
					f.Close()
					return nil // a closed pipe (| head)
				}
			}
		}
		f.Close()
		if r.Truncated() {
			fmt.Fprintf(c.App.ErrWriter, "tracelet: report: %s ends inside a record (cut short); read up to the last whole one\n", name)
		}
	}
	if c.Bool("summary") {
		names := make([]string, 0, len(counts))
		for n := range counts {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool {
			return counts[names[i]] > counts[names[j]] || counts[names[i]] == counts[names[j]] && names[i] < names[j]
		})
		for _, n := range names {
			fmt.Fprintf(out, "%10d  %s\n", counts[n], n)
		}
		fmt.Fprintf(out, "%10d  total\n", total)
	}
	if bad > 0 {
		out.Flush()
		return cli.Exit(fmt.Sprintf("report: %d lines were not records", bad), 1)
	}
	return nil
}
