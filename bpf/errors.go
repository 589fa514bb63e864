package bpf

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// ErrNotSupported is wrapped by every error that reports a kernel feature
// this kernel lacks. The message names the first kernel that has it.
var ErrNotSupported = errors.New("not supported by this kernel")

// ErrKeyNotExist is returned by map lookups, deletes and iteration for a
// missing key. It matches fs.ErrNotExist and unix.ENOENT with errors.Is.
var ErrKeyNotExist error = &sentinel{"key does not exist", []error{fs.ErrNotExist, unix.ENOENT}}

// ErrKeyExist is returned by Update with UpdateNoExist for a present key.
var ErrKeyExist error = &sentinel{"key already exists", []error{fs.ErrExist, unix.EEXIST}}

type sentinel struct {
	msg string
	is  []error
}

func (s *sentinel) Error() string { return s.msg }

func (s *sentinel) Is(target error) bool {
	for _, e := range s.is {
		if e == target {
			return true
		}
	}
	return false
}

// Error says which operation failed on which object and why.
type Error struct {
	Op     string // "create map", "lookup", "attach"
	Object string // the map or program name, or a perf event
	Err    error
}

func (e *Error) Error() string { return e.Op + " " + e.Object + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

func wrap(op, obj string, err error) error {
	switch errnoOf(err) {
	case unix.ENOENT:
		err = ErrKeyNotExist
	case unix.EEXIST:
		err = ErrKeyExist
	}
	return &Error{Op: op, Object: obj, Err: err}
}

// notSupported builds the error for a missing feature.
func notSupported(what, minKernel string) error {
	if minKernel == "" {
		return fmt.Errorf("%s (a kernel newer than this one): %w", what, ErrNotSupported)
	}
	return fmt.Errorf("%s (Linux %s or later): %w", what, minKernel, ErrNotSupported)
}
