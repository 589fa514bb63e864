package tracefs

import "github.com/tracelet/tracelet/kprobeevents"

// EventFields answers kprobeevents.Events from this tracefs: an event
// probe's attached event must exist, and its $FIELD arguments must name
// fields of that event's format (the event's own, not the common_ ones,
// which the kernel's parser does not offer).
type EventFields struct{ FS *FS }

var _ kprobeevents.Events = EventFields{}

// Fields returns the names of events/SYSTEM/EVENT/format's own fields.
func (e EventFields) Fields(system, event string) ([]string, error) {
	f, err := e.FS.Format(system, event)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(f.Fields))
	for i, fd := range f.Fields {
		names[i] = fd.Name
	}
	return names, nil
}
