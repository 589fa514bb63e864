package cli

import "strings"

// ExitCoder is an error that carries the process's exit status. The
// application does not exit by itself: Run returns the error and the
// caller prints it and exits, so that deferred cleanups run first.
type ExitCoder interface {
	error
	ExitCode() int
}

type exitError struct {
	msg  string
	code int
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) ExitCode() int { return e.code }

// Exit returns an error that makes the program print message (when it is
// not empty) on standard error and exit with code.
func Exit(message string, code int) ExitCoder {
	return &exitError{msg: message, code: code}
}

// UsageStatus is the exit status of a mistake in argv: an unknown flag or
// command, a malformed value, a required flag left out. 2, as Go's flag
// package and most shell tools exit on bad usage.
const UsageStatus = 2

// UsageError is a mistake in argv. Its message names the command and ends
// with where to find that command's help.
type UsageError struct {
	Command string // the command's full name, e.g. "tracelet probe add"
	Err     string // what was wrong, e.g. "flag provided but not defined: -x"
}

func (e *UsageError) Error() string {
	msg := e.Err
	// The program prints its own name in front; the subcommand's is ours.
	if _, sub, ok := strings.Cut(e.Command, " "); ok {
		msg = sub + ": " + msg
	}
	return msg + "\nRun '" + e.Command + " --help' for usage."
}

// ExitCode is UsageStatus.
func (e *UsageError) ExitCode() int { return UsageStatus }
