package script

import "fmt"

// Pos is a position in a script: byte offset, and 1-based line and column
// (columns count bytes, as go/token does).
type Pos struct {
	Offset int
	Line   int
	Col    int
}

// IsValid reports whether p was set by the scanner.
func (p Pos) IsValid() bool { return p.Line > 0 }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Token is a lexical token of the language.
type Token int

// Tokens. Operators are named after what they look like, as in go/token.
const (
	ILLEGAL Token = iota
	EOF
	COMMENT

	literalBeg
	IDENT  // pid, printf, BEGIN
	INT    // 42, 0x2a, 052, 1_000
	STRING // "text"
	VAR    // $x
	MAP    // @name, or @ alone
	ATTACH // an attach point: kprobe:do_nanosleep (scanned on the parser's request)
	literalEnd

	operatorBeg
	ADD // +
	SUB // -
	MUL // *
	QUO // /
	REM // %
	AND // &
	OR  // |
	XOR // ^
	SHL // <<
	SHR // >>

	ADD_ASSIGN // +=
	SUB_ASSIGN // -=
	MUL_ASSIGN // *=
	QUO_ASSIGN // /=
	REM_ASSIGN // %=
	AND_ASSIGN // &=
	OR_ASSIGN  // |=
	XOR_ASSIGN // ^=
	SHL_ASSIGN // <<=
	SHR_ASSIGN // >>=

	LAND   // &&
	LOR    // ||
	INC    // ++
	DEC    // --
	EQL    // ==
	LSS    // <
	GTR    // >
	ASSIGN // =
	NOT    // !
	TILDE  // ~
	NEQ    // !=
	LEQ    // <=
	GEQ    // >=
	ARROW  // ->

	LPAREN    // (
	LBRACK    // [
	LBRACE    // {
	COMMA     // ,
	PERIOD    // .
	RPAREN    // )
	RBRACK    // ]
	RBRACE    // }
	SEMICOLON // ;
	COLON     // :
	QUESTION  // ?
	operatorEnd

	keywordBeg
	IF
	ELSE
	WHILE
	UNROLL
	keywordEnd
)

var tokens = [...]string{
	ILLEGAL: "ILLEGAL",
	EOF:     "EOF",
	COMMENT: "COMMENT",
	IDENT:   "IDENT",
	INT:     "INT",
	STRING:  "STRING",
	VAR:     "VAR",
	MAP:     "MAP",
	ATTACH:  "ATTACH",

	ADD: "+", SUB: "-", MUL: "*", QUO: "/", REM: "%",
	AND: "&", OR: "|", XOR: "^", SHL: "<<", SHR: ">>",
	ADD_ASSIGN: "+=", SUB_ASSIGN: "-=", MUL_ASSIGN: "*=", QUO_ASSIGN: "/=", REM_ASSIGN: "%=",
	AND_ASSIGN: "&=", OR_ASSIGN: "|=", XOR_ASSIGN: "^=", SHL_ASSIGN: "<<=", SHR_ASSIGN: ">>=",
	LAND: "&&", LOR: "||", INC: "++", DEC: "--", EQL: "==", LSS: "<", GTR: ">",
	ASSIGN: "=", NOT: "!", TILDE: "~", NEQ: "!=", LEQ: "<=", GEQ: ">=", ARROW: "->",
	LPAREN: "(", LBRACK: "[", LBRACE: "{", COMMA: ",", PERIOD: ".",
	RPAREN: ")", RBRACK: "]", RBRACE: "}", SEMICOLON: ";", COLON: ":", QUESTION: "?",
	IF:     "if",
	ELSE:   "else",
	WHILE:  "while",
	UNROLL: "unroll",
}

func (t Token) String() string {
	if t >= 0 && int(t) < len(tokens) && tokens[t] != "" {
		return tokens[t]
	}
	return fmt.Sprintf("token(%d)", int(t))
}

var keywords = map[string]Token{"if": IF, "else": ELSE, "while": WHILE, "unroll": UNROLL}

// precedence is C's binary operator precedence (higher binds tighter); 0
// means not a binary operator. The ternary operator sits below LOR and is
// handled by the parser.
func (t Token) precedence() int {
	switch t {
	case LOR:
		return 1
	case LAND:
		return 2
	case OR:
		return 3
	case XOR:
		return 4
	case AND:
		return 5
	case EQL, NEQ:
		return 6
	case LSS, LEQ, GTR, GEQ:
		return 7
	case SHL, SHR:
		return 8
	case ADD, SUB:
		return 9
	case MUL, QUO, REM:
		return 10
	}
	return 0
}

// compoundOp maps an assignment operator to its binary operator.
func (t Token) compoundOp() Token {
	switch t {
	case ADD_ASSIGN:
		return ADD
	case SUB_ASSIGN:
		return SUB
	case MUL_ASSIGN:
		return MUL
	case QUO_ASSIGN:
		return QUO
	case REM_ASSIGN:
		return REM
	case AND_ASSIGN:
		return AND
	case OR_ASSIGN:
		return OR
	case XOR_ASSIGN:
		return XOR
	case SHL_ASSIGN:
		return SHL
	case SHR_ASSIGN:
		return SHR
	}
	return ILLEGAL
}
