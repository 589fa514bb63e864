package script

import (
	"fmt"
	"strings"
)

// This file parses a script's own C struct and union definitions, which
// scripts write where the kernel's BTF lacks a type or where they want
// only part of one (runqlen.bt's struct cfs_rq_partial):
//
//	struct cfs_rq_partial {
//		struct load_weight load;
//		unsigned long runnable_weight;
//		unsigned int nr_running, h_nr_running;
//	};
//
// structlayout.go lays them out as the C compiler would and hands them to
// the checker as BTF, so that casts, members, sizeof and offsetof treat
// them as they treat the kernel's types.

// StructDef is a top-level "struct NAME { ... };" or "union NAME { ... };",
// or a struct or union defined in place as a member's type.
type StructDef struct {
	Pos     Pos // the struct or union keyword
	Union   bool
	Name    string // "" for an anonymous member struct or union
	Members []*MemberDecl
}

// Keyword is "struct" or "union".
func (d *StructDef) Keyword() string {
	if d.Union {
		return "union"
	}
	return "struct"
}

// MemberDecl is one declarator of a member declaration: "unsigned int
// nr_running, h_nr_running;" is two.
type MemberDecl struct {
	Pos     Pos // the name (the type, for an anonymous member)
	TypePos Pos
	// Type is the type as written, without qualifiers or stars:
	// "unsigned long", "u32", "struct load_weight"; "" when Inner
	// defines it.
	Type  string
	Inner *StructDef // a struct or union defined in place
	Stars int
	Name  string // "" for an anonymous struct or union, or an unnamed bitfield
	Dims  []Expr // array dimensions, outermost first
	Bits  Expr   // a bitfield's width, or nil
}

// intWords are the words of C's integer type specifiers, and the
// qualifiers a member's type may carry.
var intWords = map[string]bool{
	"signed": true, "unsigned": true, "char": true, "short": true, "int": true,
	"long": true, "_Bool": true, "const": true, "volatile": true,
}

// parseStructDef parses a struct or union definition; the current token
// is its keyword.
func (p *parser) parseStructDef() *StructDef {
	d := p.parseStructBody(true)
	if p.tok == SEMICOLON {
		p.next()
	}
	return d
}

// parseStructBody parses "struct NAME { members }"; top-level definitions
// need the name.
func (p *parser) parseStructBody(top bool) *StructDef {
	p.enter()
	defer p.leave()
	d := &StructDef{Pos: p.pos, Union: p.lit == "union"}
	p.next()
	if p.tok == IDENT {
		d.Name = p.lit
		p.next()
	} else if top {
		p.errorf(p.pos, "expected the name of the %s, found %s", d.Keyword(), p.tokDesc())
		panic(bail{})
	}
	p.expect(LBRACE, "'{' to open the members of "+strings.TrimSpace(d.Keyword()+" "+d.Name))
	for p.tok != RBRACE {
		if p.tok == EOF {
			p.errorf(p.pos, "expected '}' to close %s %s, found the end of the script", d.Keyword(), d.Name)
			panic(bail{})
		}
		d.Members = append(d.Members, p.parseMemberDecl(d)...)
	}
	p.next()
	return d
}

// parseMemberDecl parses "TYPE declarator, declarator;".
func (p *parser) parseMemberDecl(d *StructDef) []*MemberDecl {
	tpos := p.pos
	var words []string
	var inner *StructDef
	for p.tok == IDENT && intWords[p.lit] {
		if p.lit != "const" && p.lit != "volatile" {
			words = append(words, p.lit)
		}
		p.next()
	}
	if len(words) == 0 {
		if p.tok != IDENT {
			p.errorf(p.pos, "expected a member's type, such as unsigned int, u64 or struct NAME, found %s", p.tokDesc())
			panic(bail{})
		}
		switch p.lit {
		case "struct", "union", "enum":
			kw := p.lit
			if kw != "enum" && (p.peek() == LBRACE || p.peekIsDefinition()) {
				inner = p.parseStructBody(false)
				break
			}
			p.next()
			if p.tok != IDENT {
				p.errorf(p.pos, "expected the name of the %s, found %s", kw, p.tokDesc())
				panic(bail{})
			}
			words = []string{kw, p.lit}
			p.next()
		default:
			words = []string{p.lit}
			p.next()
		}
	}
	for p.tok == IDENT && (p.lit == "const" || p.lit == "volatile") {
		p.next()
	}
	var out []*MemberDecl
	for {
		m := &MemberDecl{Pos: p.pos, TypePos: tpos, Type: strings.Join(words, " "), Inner: inner}
		for p.tok == MUL {
			m.Stars++
			p.next()
			for p.tok == IDENT && (p.lit == "const" || p.lit == "volatile") {
				p.next()
			}
		}
		if p.tok == IDENT {
			m.Pos, m.Name = p.pos, p.lit
			p.next()
		} else if p.tok != COLON && !(inner != nil && p.tok == SEMICOLON) {
			hint := ""
			if p.tok == LBRACE {
				hint = fmt.Sprintf(" (is the '}' that closes %s missing?)", strings.TrimSpace(d.Keyword()+" "+d.Name))
			}
			p.errorf(p.pos, "expected the member's name after its type %s, found %s%s", typeText(m), p.tokDesc(), hint)
			panic(bail{})
		}
		for p.tok == LBRACK {
			p.next()
			m.Dims = append(m.Dims, p.parseExpr())
			p.expect(RBRACK, "']' to close the array's length")
		}
		if p.tok == COLON {
			p.next()
			m.Bits = p.parseExpr()
		}
		out = append(out, m)
		if p.tok != COMMA {
			break
		}
		p.next()
	}
	p.expect(SEMICOLON, "';' after the member")
	return out
}

// peekIsDefinition reports whether "struct NAME {" follows: a named struct
// defined in place.
func (p *parser) peekIsDefinition() bool {
	saved, n := p.sc, len(p.errs)
	defer func() { p.sc, p.errs = saved, p.errs[:n] }()
	_, tok, _ := p.sc.Scan()
	if tok != IDENT {
		return false
	}
	_, tok, _ = p.sc.Scan()
	return tok == LBRACE
}

// typeText spells a member's type as C does, for messages.
func typeText(m *MemberDecl) string {
	t := m.Type
	if m.Inner != nil {
		t = strings.TrimSpace(m.Inner.Keyword() + " " + m.Inner.Name)
	}
	if m.Stars > 0 {
		t += " " + strings.Repeat("*", m.Stars)
	}
	return t
}
