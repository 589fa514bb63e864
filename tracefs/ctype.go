package tracefs

import (
	"strconv"
	"strings"
)

// cType is what a field's declared C type says about its value, which the
// record's storage may not: a syscall tracepoint stores each argument in
// an unsigned long slot, so `int dfd` is 8 bytes with signed:0 in its
// format, and AT_FDCWD reads 18446744073709551516 where C (and bpftrace)
// reads -100. JSON follows the C type; the text format keeps the kernel's
// own rendering of the stored bits.
type cType struct {
	size   uint8 // bytes of the C type; 0: the storage decides
	signed bool
	ptr    bool // a pointer: written as a hex string
}

// cTypeOf classifies a format field's type ("int", "const char *",
// "umode_t", "unsigned long"). Long types are as wide as their storage,
// whose size and signedness the format gives right: they need nothing.
func cTypeOf(typ string) cType {
	t := strings.TrimSpace(typ)
	if strings.HasSuffix(t, "*") {
		return cType{ptr: true}
	}
	for _, q := range []string{"const ", "volatile "} {
		t = strings.TrimPrefix(t, q)
	}
	switch t {
	case "int", "signed int", "signed", "pid_t", "key_serial_t", "clockid_t", "timer_t", "__s32", "s32", "int32_t", "mqd_t":
		return cType{size: 4, signed: true}
	case "unsigned int", "unsigned", "uid_t", "gid_t", "qid_t", "__u32", "u32", "uint32_t", "dev_t", "key_t", "rwf_t", "__poll_t", "aio_context_t":
		return cType{size: 4}
	case "short", "short int", "signed short", "__s16", "s16", "int16_t":
		return cType{size: 2, signed: true}
	case "unsigned short", "unsigned short int", "umode_t", "__u16", "u16", "uint16_t":
		return cType{size: 2}
	case "signed char", "__s8", "s8", "int8_t":
		return cType{size: 1, signed: true}
	case "unsigned char", "__u8", "u8", "uint8_t", "bool", "_Bool":
		return cType{size: 1}
	case "long long", "long long int", "__s64", "s64", "int64_t", "loff_t", "time64_t":
		return cType{size: 8, signed: true}
	case "unsigned long long", "unsigned long long int", "__u64", "u64", "uint64_t":
		return cType{size: 8}
	}
	return cType{}
}

// maxExact is the largest integer a double holds exactly (2^53): JSON
// readers that parse numbers as doubles (JavaScript, jq before 1.7, most
// log pipelines) lose digits beyond it.
const maxExact = 1 << 53

// AppendJSONInt appends a signed integer as a JSON number, or as a string
// of its decimal digits when a double could not hold it exactly.
func AppendJSONInt(b []byte, n int64) []byte {
	if n > -maxExact && n < maxExact {
		return strconv.AppendInt(b, n, 10)
	}
	b = append(b, '"')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '"')
}

// AppendJSONUint is AppendJSONInt for an unsigned integer.
func AppendJSONUint(b []byte, n uint64) []byte {
	if n < maxExact {
		return strconv.AppendUint(b, n, 10)
	}
	b = append(b, '"')
	b = strconv.AppendUint(b, n, 10)
	return append(b, '"')
}

// AppendJSONAddr appends an address as a hex string ("0xffffffff8a2b1c40").
func AppendJSONAddr(b []byte, a uint64) []byte {
	b = append(b, `"0x`...)
	b = strconv.AppendUint(b, a, 16)
	return append(b, '"')
}
