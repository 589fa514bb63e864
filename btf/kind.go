package btf

import "strconv"

// Kind is a BTF type kind, the kind field of struct btf_type's info word
// (include/uapi/linux/btf.h).
type Kind uint8

// The kinds, named and numbered as in the uapi header.
const (
	BTF_KIND_UNKN       Kind = 0 // void, as type ID 0
	BTF_KIND_INT        Kind = 1
	BTF_KIND_PTR        Kind = 2
	BTF_KIND_ARRAY      Kind = 3
	BTF_KIND_STRUCT     Kind = 4
	BTF_KIND_UNION      Kind = 5
	BTF_KIND_ENUM       Kind = 6 // 32-bit values
	BTF_KIND_FWD        Kind = 7
	BTF_KIND_TYPEDEF    Kind = 8
	BTF_KIND_VOLATILE   Kind = 9
	BTF_KIND_CONST      Kind = 10
	BTF_KIND_RESTRICT   Kind = 11
	BTF_KIND_FUNC       Kind = 12
	BTF_KIND_FUNC_PROTO Kind = 13
	BTF_KIND_VAR        Kind = 14
	BTF_KIND_DATASEC    Kind = 15
	BTF_KIND_FLOAT      Kind = 16
	BTF_KIND_DECL_TAG   Kind = 17
	BTF_KIND_TYPE_TAG   Kind = 18
	BTF_KIND_ENUM64     Kind = 19 // 64-bit values, Linux 6.0+
)

var kindNames = [...]string{
	BTF_KIND_UNKN:       "BTF_KIND_UNKN",
	BTF_KIND_INT:        "BTF_KIND_INT",
	BTF_KIND_PTR:        "BTF_KIND_PTR",
	BTF_KIND_ARRAY:      "BTF_KIND_ARRAY",
	BTF_KIND_STRUCT:     "BTF_KIND_STRUCT",
	BTF_KIND_UNION:      "BTF_KIND_UNION",
	BTF_KIND_ENUM:       "BTF_KIND_ENUM",
	BTF_KIND_FWD:        "BTF_KIND_FWD",
	BTF_KIND_TYPEDEF:    "BTF_KIND_TYPEDEF",
	BTF_KIND_VOLATILE:   "BTF_KIND_VOLATILE",
	BTF_KIND_CONST:      "BTF_KIND_CONST",
	BTF_KIND_RESTRICT:   "BTF_KIND_RESTRICT",
	BTF_KIND_FUNC:       "BTF_KIND_FUNC",
	BTF_KIND_FUNC_PROTO: "BTF_KIND_FUNC_PROTO",
	BTF_KIND_VAR:        "BTF_KIND_VAR",
	BTF_KIND_DATASEC:    "BTF_KIND_DATASEC",
	BTF_KIND_FLOAT:      "BTF_KIND_FLOAT",
	BTF_KIND_DECL_TAG:   "BTF_KIND_DECL_TAG",
	BTF_KIND_TYPE_TAG:   "BTF_KIND_TYPE_TAG",
	BTF_KIND_ENUM64:     "BTF_KIND_ENUM64",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "BTF_KIND_" + strconv.Itoa(int(k))
}

// Header constants of struct btf_header.
const (
	BTF_MAGIC   = 0xeb9f
	BTF_VERSION = 1
)

// IntEncoding is the encoding nibble of a BTF_KIND_INT (BTF_INT_ENCODING).
type IntEncoding uint8

// The encoding bits; an int with none of them is unsigned.
const (
	BTF_INT_SIGNED IntEncoding = 1 << 0
	BTF_INT_CHAR   IntEncoding = 1 << 1
	BTF_INT_BOOL   IntEncoding = 1 << 2
)

func (e IntEncoding) String() string {
	switch e {
	case 0:
		return "0"
	case BTF_INT_SIGNED:
		return "BTF_INT_SIGNED"
	case BTF_INT_CHAR:
		return "BTF_INT_CHAR"
	case BTF_INT_BOOL:
		return "BTF_INT_BOOL"
	}
	return "BTF_INT_ENCODING(" + strconv.Itoa(int(e)) + ")"
}

// Linkage is the linkage of a BTF_KIND_FUNC (enum btf_func_linkage, in the
// vlen field) or of a BTF_KIND_VAR (struct btf_var, BTF_VAR_*). The two
// enums share their values.
type Linkage uint32

// Function linkage, enum btf_func_linkage.
const (
	BTF_FUNC_STATIC Linkage = 0
	BTF_FUNC_GLOBAL Linkage = 1
	BTF_FUNC_EXTERN Linkage = 2
)

// Variable linkage, the BTF_VAR_* enum.
const (
	BTF_VAR_STATIC           Linkage = 0
	BTF_VAR_GLOBAL_ALLOCATED Linkage = 1
	BTF_VAR_GLOBAL_EXTERN    Linkage = 2
)

func (l Linkage) String() string {
	switch l {
	case 0:
		return "static"
	case 1:
		return "global"
	case 2:
		return "extern"
	}
	return "linkage(" + strconv.Itoa(int(l)) + ")"
}
