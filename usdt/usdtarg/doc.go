// Package usdtarg holds what a USDT probe's argument is once parsed from
// its note (Arg: a register, memory at a register plus an offset, a
// constant or a static variable, with its size and sign) and how a
// uprobe_events fetcharg spells it. It reads no file and makes no system
// call, so that the script language (package script) can type and compile
// arguments that the runtime read with package usdt, which aliases these
// types.
package usdtarg
