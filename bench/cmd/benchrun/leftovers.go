package main

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/tracefs"
)

// ftraceLock is perf-tools' global lock file.
const ftraceLock = "/var/tmp/.ftrace-lock"

// perfToolsLeftovers undoes what a perf-tools script killed after its
// SIGINT grace could not: its lock file, only when the dead script's pid
// holds it, and the probe we named, only that one. A script that ended on
// SIGINT has done both itself.
func (e *env) perfToolsLeftovers(pid int, probe string) {
	if owner, err := os.ReadFile(ftraceLock); err == nil && strings.TrimSpace(string(owner)) == strconv.Itoa(pid) {
		os.Remove(ftraceLock)
		e.logf("removed %s left by perf-tools pid %d", ftraceLock, pid)
	}
	if probe == "" {
		return
	}
	fs, err := tracefs.Find()
	if err != nil {
		return
	}
	evs, err := fs.DynamicEvents(tracefs.UprobeEvents)
	if err != nil {
		return
	}
	for _, ev := range evs {
		if ev.Group != "uprobes" || ev.Event != probe {
			continue
		}
		os.WriteFile(fs.Root()+"/events/uprobes/"+probe+"/enable", []byte("0"), 0)
		// Append, one whole definition per write: never truncate a
		// control file that holds other people's probes.
		f, err := os.OpenFile(fs.Root()+"/"+tracefs.UprobeEvents, os.O_WRONLY|os.O_APPEND, 0)
		if err == nil {
			_, err = f.Write([]byte("-:uprobes/" + probe + "\n"))
			f.Close()
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			e.logf("removing perf-tools' probe uprobes/%s: %v", probe, err)
		} else {
			e.logf("removed perf-tools' probe uprobes/%s left behind", probe)
		}
	}
}
