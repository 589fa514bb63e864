package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tracelet/tracelet/tracefs"
)

// Entry is one event read back from a recording, in either format.
type Entry struct {
	Time  uint64 // ns (microsecond precision from the text format)
	CPU   int
	Pid   int
	Comm  string
	Event string // SYSTEM:EVENT in JSON; the text format has EVENT only
	Flags string
	// Where is a probe's "(0xIP)" or "(0xRET <- 0xFUNC)" in the text
	// format.
	Where  string
	Fields []Field
}

// Field is one field of an Entry. Text is how the text format prints it;
// JSON is its JSON literal.
type Field struct {
	Name       string
	Text, JSON string
}

// Reader reads a recording line by line. Only records that end with their
// newline are whole: the Writer writes whole lines, so a file whose last
// line has none was cut short (a power loss during the last write), and
// that partial line is dropped and reported by Truncated.
type Reader struct {
	sc        *bufio.Scanner
	truncated bool
	line      int
}

// MaxLine bounds one record; the kernel's events are at most a page.
const MaxLine = 1 << 20

// NewReader reads a recording from r.
func NewReader(r io.Reader) *Reader {
	rd := &Reader{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			rd.truncated = true
			return len(data), nil, nil
		}
		return 0, nil, nil
	})
	rd.sc = sc
	return rd
}

// Truncated reports whether the input ended inside a record.
func (r *Reader) Truncated() bool { return r.truncated }

// Next returns the next record; io.EOF after the last whole one. A line
// that is neither format is an error naming it; call Next again to go on.
func (r *Reader) Next() (Entry, error) {
	for r.sc.Scan() {
		r.line++
		line := r.sc.Text()
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		var e Entry
		var err error
		if t[0] == '{' {
			e, err = parseJSONLine(t)
		} else {
			e, err = parseTextLine(line)
		}
		if err != nil {
			return e, fmt.Errorf("line %d: %w", r.line, err)
		}
		return e, nil
	}
	if err := r.sc.Err(); err != nil {
		return Entry{}, err
	}
	return Entry{}, io.EOF
}

type jsonLine struct {
	Time   json.Number     `json:"time"`
	NS     json.RawMessage `json:"ns"` // a number, or a string of digits past 2^53
	CPU    int             `json:"cpu"`
	Pid    int             `json:"pid"`
	Comm   string          `json:"comm"`
	Event  string          `json:"event"`
	Flags  string          `json:"flags"`
	Fields json.RawMessage `json:"fields"`
}

func parseJSONLine(s string) (Entry, error) {
	var j jsonLine
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&j); err != nil {
		return Entry{}, fmt.Errorf("not a JSON record: %w", err)
	}
	e := Entry{CPU: j.CPU, Pid: j.Pid, Comm: j.Comm, Event: j.Event, Flags: j.Flags}
	if ns := strings.Trim(string(j.NS), `"`); ns != "" {
		n, err := strconv.ParseUint(ns, 10, 64)
		if err != nil {
			return Entry{}, fmt.Errorf("not a JSON record: ns %s: %w", j.NS, err)
		}
		e.Time = n
	}
	if e.Time == 0 && j.Time != "" {
		if f, err := strconv.ParseFloat(string(j.Time), 64); err == nil {
			e.Time = uint64(f * 1e9)
		}
	}
	if len(j.Fields) == 0 {
		return e, nil
	}
	// Walk the object with the decoder to keep the fields' order.
	fd := json.NewDecoder(bytes.NewReader(j.Fields))
	fd.UseNumber()
	if tok, err := fd.Token(); err != nil || tok != json.Delim('{') {
		return e, fmt.Errorf("fields: not an object")
	}
	for fd.More() {
		tok, err := fd.Token()
		if err != nil {
			return e, err
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := fd.Decode(&raw); err != nil {
			return e, err
		}
		e.Fields = append(e.Fields, Field{Name: name, JSON: string(raw), Text: jsonToText(raw)})
	}
	return e, nil
}

// jsonToText renders a JSON field value as the text format would.
func jsonToText(raw json.RawMessage) string {
	s := string(raw)
	switch {
	case s == "null":
		return "(fault)"
	case strings.HasPrefix(s, "["):
		var vs []json.RawMessage
		if json.Unmarshal(raw, &vs) == nil {
			parts := make([]string, len(vs))
			for i, v := range vs {
				parts[i] = jsonToText(v)
			}
			return "{" + strings.Join(parts, ",") + "}"
		}
	case strings.HasPrefix(s, `"`):
		var str string
		if json.Unmarshal(raw, &str) == nil {
			return `"` + str + `"`
		}
	}
	return s
}

// parseTextLine reads one line of the kernel's trace layout
// (trace_print_context, print_trace_fmt):
//
//	COMM-PID [(TGID)] [CPU] [FLAGS] SECS.MICROS: EVENT: REST
//
// COMM may hold anything, '-', spaces and brackets included, so the line is
// anchored on the first "[CPU]" column that follows a well-formed COMM-PID.
// FLAGS are the latency columns, whose preempt depths are hex digits.
func parseTextLine(s string) (Entry, error) {
	bad := func() (Entry, error) { return Entry{}, fmt.Errorf("not a trace line: %q", s) }
	for from := 0; ; {
		i := strings.Index(s[from:], "[")
		if i < 0 {
			return bad()
		}
		i += from
		from = i + 1
		j := strings.IndexByte(s[i:], ']')
		if j < 2 || !isDigits(s[i+1:i+j]) || i == 0 || s[i-1] != ' ' {
			continue
		}
		cpu, _ := strconv.Atoi(s[i+1 : i+j])
		head := strings.TrimRight(s[:i], " ")
		if strings.HasSuffix(head, ")") { // the TGID column
			k := strings.LastIndexByte(head, '(')
			if k < 0 {
				continue
			}
			head = strings.TrimRight(head[:k], " ")
		}
		dash := strings.LastIndexByte(head, '-')
		if dash < 0 || !isDigits(head[dash+1:]) {
			continue
		}
		pid, _ := strconv.Atoi(head[dash+1:])
		e := Entry{Comm: strings.TrimSpace(head[:dash]), Pid: pid, CPU: cpu}
		rest := strings.TrimLeft(s[i+j+1:], " ")
		tok, after, _ := strings.Cut(rest, " ")
		if !strings.HasSuffix(tok, ":") {
			e.Flags, rest = tok, strings.TrimLeft(after, " ")
			tok, after, _ = strings.Cut(rest, " ")
		}
		sec, frac, ok := strings.Cut(strings.TrimSuffix(tok, ":"), ".")
		if !strings.HasSuffix(tok, ":") || !ok || !isDigits(sec) || !isDigits(frac) || len(frac) > 9 {
			return bad()
		}
		secs, _ := strconv.ParseUint(sec, 10, 64)
		ns, _ := strconv.ParseUint((frac + "000000000")[:9], 10, 64)
		e.Time = secs*1e9 + ns
		rest = strings.TrimLeft(after, " ")
		name, rest, ok := strings.Cut(rest, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return bad()
		}
		e.Event = name
		rest = strings.TrimPrefix(rest, " ")
		if strings.HasPrefix(rest, "(") {
			if k := strings.IndexByte(rest, ')'); k > 0 {
				e.Where, rest = rest[:k+1], strings.TrimSpace(rest[k+1:])
			}
		}
		e.Fields = splitTextFields(rest)
		return e, nil
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// splitTextFields splits "a=1 s=\"x y\" arr={1,2}" into fields. Values in
// double quotes may hold spaces; the text format has no escapes.
func splitTextFields(s string) []Field {
	var out []Field
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		eq := strings.IndexByte(s, '=')
		sp := strings.IndexByte(s, ' ')
		if eq < 0 || sp >= 0 && sp < eq {
			// Not NAME=VALUE (a tracepoint's own print format): keep the rest.
			out = append(out, Field{Text: s, JSON: strconv.Quote(s)})
			return out
		}
		name, v := s[:eq], s[eq+1:]
		end := strings.IndexByte(v, ' ')
		if strings.HasPrefix(v, `"`) {
			if q := strings.IndexByte(v[1:], '"'); q >= 0 {
				end = q + 2
				if end >= len(v) {
					end = -1
				}
			}
		}
		val := v
		if end >= 0 {
			val, s = v[:end], v[end:]
		} else {
			s = ""
		}
		out = append(out, Field{Name: name, Text: val, JSON: textToJSON(val)})
	}
	return out
}

func textToJSON(v string) string {
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return v
	}
	if _, err := strconv.ParseUint(v, 10, 64); err == nil {
		return v
	}
	if strings.HasPrefix(v, "0x") {
		if u, err := strconv.ParseUint(v[2:], 16, 64); err == nil {
			return strconv.FormatUint(u, 10)
		}
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return strconv.Quote(v[1 : len(v)-1])
	}
	if v == "(fault)" {
		return "null"
	}
	return strconv.Quote(v)
}

// AppendEntry appends e as one line of format f.
func AppendEntry(b []byte, e *Entry, f Format) []byte {
	if f == FormatJSON {
		b = append(b, `{"version":`...)
		b = strconv.AppendInt(b, JSONVersion, 10)
		b = append(b, `,"time":`...)
		b = strconv.AppendUint(b, e.Time/1e9, 10)
		b = append(b, '.')
		frac := e.Time % 1e9
		for d := uint64(1e8); d > 1 && frac < d; d /= 10 {
			b = append(b, '0')
		}
		b = strconv.AppendUint(b, frac, 10)
		b = append(b, `,"ns":`...)
		b = tracefs.AppendJSONUint(b, e.Time)
		b = append(b, `,"cpu":`...)
		b = strconv.AppendInt(b, int64(e.CPU), 10)
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(e.Pid), 10)
		b = append(b, `,"comm":`...)
		b = tracefs.AppendJSONString(b, e.Comm)
		b = append(b, `,"event":`...)
		b = tracefs.AppendJSONString(b, e.Event)
		if e.Flags != "" {
			b = append(b, `,"flags":`...)
			b = tracefs.AppendJSONString(b, e.Flags)
		}
		b = append(b, `,"fields":{`...)
		n := 0
		for _, f := range e.Fields {
			if f.Name == "" {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = tracefs.AppendJSONString(b, f.Name)
			b = append(b, ':')
			b = append(b, f.JSON...)
		}
		return append(b, "}}\n"...)
	}
	comm := e.Comm
	for i := len(comm); i < 16; i++ {
		b = append(b, ' ')
	}
	b = append(b, comm...)
	b = append(b, '-')
	n := len(b)
	b = strconv.AppendInt(b, int64(e.Pid), 10)
	for len(b)-n < 7 {
		b = append(b, ' ')
	}
	b = append(b, " ["...)
	if e.CPU < 100 {
		b = append(b, '0')
	}
	if e.CPU < 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(e.CPU), 10)
	b = append(b, "] "...)
	if e.Flags != "" {
		b = append(b, e.Flags...)
		b = append(b, ' ')
	}
	b = appendSeconds(b, e.Time)
	b = append(b, ": "...)
	ev := e.Event
	if _, name, ok := strings.Cut(ev, ":"); ok {
		ev = name
	}
	b = append(b, ev...)
	b = append(b, ':')
	if e.Where != "" {
		b = append(b, ' ')
		b = append(b, e.Where...)
	}
	for _, f := range e.Fields {
		if f.Name == "__probe_ip" || f.Name == "__probe_func" || f.Name == "__probe_ret_ip" {
			continue
		}
		b = append(b, ' ')
		if f.Name != "" {
			b = append(b, f.Name...)
			b = append(b, '=')
		}
		b = append(b, f.Text...)
	}
	return append(b, '\n')
}
