package usdt

import "github.com/tracelet/tracelet/usdt/usdtarg"

// The argument types live in the pure leaf usdtarg, which the script
// language imports without this package's file reading.

// Kind says where an argument's value is.
type Kind = usdtarg.Kind

const (
	KindInvalid  = usdtarg.KindInvalid
	KindRegister = usdtarg.KindRegister
	KindMemory   = usdtarg.KindMemory
	KindConstant = usdtarg.KindConstant
	KindStatic   = usdtarg.KindStatic
)

// Arg is one probe argument (usdtarg.Arg).
type Arg = usdtarg.Arg

// ArgError is an argument string that cannot be turned into fetches.
type ArgError = usdtarg.ArgError
