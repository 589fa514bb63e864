package script

import (
	"fmt"
	"strings"
)

// Table prints a map of plain values in columns, one row per element (its
// key's fields, then its value) under a header of column names, after an
// empty line, as libbpf-tools print their counts (tcpconnect -c). Every
// verb of Format is %s with flags and a width, and names one column; the
// header is the names formatted the same way. Rows come in the order
// WriteMap prints the map's lines.
type Table struct {
	Format  string
	Columns []string
}

// NewTable checks a table's format against its column names.
func NewTable(format string, columns []string) (*Table, error) {
	n := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		j := i + 1
		if j < len(format) && format[j] == '%' {
			i = j
			continue
		}
		for j < len(format) && (format[j] == '-' || format[j] >= '0' && format[j] <= '9') {
			j++
		}
		if j >= len(format) || format[j] != 's' {
			return nil, fmt.Errorf("table format %q, column %d: want %%s with flags and a width, such as %%-16s", format, i+1)
		}
		n++
		i = j
	}
	if n == 0 || n != len(columns) {
		return nil, fmt.Errorf("table format %q: %d verbs for %d column names %v", format, n, len(columns), columns)
	}
	return &Table{Format: format, Columns: columns}, nil
}

// SetTable has WriteMap print map @name as t: the map's keys and its value
// must fill t's columns. A map the script does not have (one that only a
// macro left out makes) is not an error; nothing prints as t then.
func (o *Object) SetTable(name string, t *Table) error {
	for _, m := range o.Maps {
		if m.Info == nil || m.Info.Name != name {
			continue
		}
		if m.Buckets || m.Info.Value.Kind == KindAvg || m.Info.Value.Kind == KindStats {
			return fmt.Errorf("table @%s: a %s map has no one value per row", name, m.Info.Value)
		}
		if len(m.Info.Keys)+1 != len(t.Columns) {
			return fmt.Errorf("table @%s: %d keys and a value for %d columns %v", name, len(m.Info.Keys), len(t.Columns), t.Columns)
		}
		if o.Tables == nil {
			o.Tables = map[string]*Table{}
		}
		o.Tables[name] = t
	}
	return nil
}

func (o *Object) writeTable(b *strings.Builder, m *Map, entries []Entry, r *Resolver, t *Table) {
	row := func(fields []string) {
		args := make([]any, len(fields))
		for i, f := range fields {
			args[i] = f
		}
		fmt.Fprintf(b, t.Format, args...)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	row(t.Columns)
	for _, l := range o.sortedValues(m, entries, r) {
		row(append(o.keyFields(m, l.key, r), l.text))
	}
}
