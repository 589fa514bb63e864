package kprobeevents

import "strings"

// splitField is split_next_field(): the name before the first '.' or '->',
// the rest after it, and whether it was '->'. A '-' without '>' is
// BAD_HYPHEN.
func (ps *parser) splitField(s string, col int) (name, rest string, arrow, more bool, err error) {
	i := strings.IndexAny(s, ".-")
	if i < 0 {
		return s, "", false, false, nil
	}
	if s[i] == '-' {
		if i+1 < len(s) && s[i+1] == '>' {
			return s[:i], s[i+2:], true, true, nil
		}
		return "", "", false, false, ps.err(BAD_HYPHEN, col+i, "use -> for a pointer's member", "a single '-' in %q", s)
	}
	return s[:i], s[i+1:], false, true, nil
}

// parseBTFVar is parse_btf_arg(): an argument name or $retval, then
// ->member and .member through the kernel's BTF. Every check that needs
// the BTF is skipped when Options.BTF is nil or has no entry for the
// function; the syntax checks are not. ps.lastBTF is left at the type of
// the result, or nil when unknown.
func (ps *parser) parseBTFVar(s string, col int, fl argFlags) (*Fetch, int, error) {
	name, rest, arrow, more, err := ps.splitField(s, col)
	if err != nil {
		return nil, 0, err
	}
	if more && !arrow {
		return nil, 0, ps.err(NOSUP_DAT_ARG, col+len(name)+1, "an argument is not a struct: use -> on a pointer", "'.' after the argument %q", name)
	}
	if !ps.opts.hasExt(ExtBTFArgs) && !ps.opts.Offsets {
		return nil, 0, ps.noBTFArgs(col, "the BTF name "+name)
	}
	if more && !ps.opts.Offsets {
		if err := ps.needExt(NOT_SUPPORTED, ExtBTFFields, col+len(name)+2); err != nil {
			return nil, 0, err
		}
	}
	var t *BTFType
	known := false
	if name == "$retval" {
		if fn, ok := ps.proto(fl); ok {
			if fn.Return == nil {
				return nil, 0, ps.err(NO_RETVAL, col, "", "%s returns void", fl.funcname)
			}
			t, known = fn.Return, true
		} else if more && ps.opts.BTF != nil {
			return nil, 0, ps.err(NO_BTF_ENTRY, col+len(name)+2, "", "the kernel has no BTF for %s", fl.funcname)
		}
	} else if ps.opts.BTF != nil {
		params, ok := ps.params(fl)
		if !ok || len(params) == 0 {
			return nil, 0, ps.err(NO_BTF_ENTRY, col, "use $argN or registers", "the kernel has no BTF for the arguments of %s", fl.funcname)
		}
		found := false
		for _, prm := range params {
			if prm.Name == name {
				t, known, found = prm.Type, true, true
				break
			}
		}
		if !found {
			names := make([]string, len(params))
			for i, prm := range params {
				names[i] = prm.Name
			}
			return nil, 0, ps.err(NO_BTFARG, col, fl.funcname+"'s arguments are "+strings.Join(names, ", "), "%s has no argument %q", fl.funcname, name)
		}
	} else if name[0] == '$' {
		return nil, 0, ps.err(NO_BTFARG, col, "", "no argument is named %q", name)
	}
	derefs := 0
	c := col + len(name) + 2
	for more {
		// One dereference per '->', with the '.' members in between
		// adding to its offset.
		if known && (t == nil || t.Kind != BTFPtr) {
			return nil, 0, ps.err(NO_PTR_STRCT, c, "-> follows a pointer to a struct or union", "%s is not a pointer to a struct or union", s[:c-col-2])
		}
		if known {
			t = t.Elem
		}
		for {
			var f, next string
			f, next, arrow, more, err = ps.splitField(rest, c)
			if err != nil {
				return nil, 0, err
			}
			if known {
				if !t.isStruct() {
					return nil, 0, ps.err(BAD_BTF_TID, c, "members are looked up in structs and unions", "%s is not a struct or union", s[:c-col-1])
				}
				m, ok, err := ps.opts.BTF.Member(t, f)
				if err != nil {
					return nil, 0, ps.err(BAD_BTF_TID, c, "", "looking up %q: %v", f, err)
				}
				if !ok {
					return nil, 0, ps.err(NO_BTF_FIELD, c, "", "%s has no member %q", typeName(t), f)
				}
				t = m
			}
			rest = next
			if arrow {
				c += len(f) + 2
			} else {
				c += len(f) + 1
			}
			if !more || arrow {
				break
			}
		}
		derefs++
		if derefs+1 > fetchInsnMax-2 {
			return nil, 0, ps.err(TOO_MANY_OPS, col, "fewer member accesses", "too many member accesses in %q", s)
		}
	}
	if known {
		ps.lastBTF = t
	}
	if name == "$retval" && derefs == 0 {
		return &Fetch{Kind: FetchRetval}, 0, nil
	}
	return &Fetch{Kind: FetchBTF, Str: s}, derefs, nil
}

func typeName(t *BTFType) string {
	switch t.Kind {
	case BTFStruct:
		return "struct " + t.Name
	case BTFUnion:
		return "union " + t.Name
	}
	return t.Name
}
