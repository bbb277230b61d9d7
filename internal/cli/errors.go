package cli

import (
	"errors"
	"fmt"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// Exit codes. They follow OpenSSH: the remote command's status passes
// through, a connection or authentication failure is 255, and jumpgate's
// own usage errors are 2.
const (
	exitUsage      = 2
	exitConnection = 255
)

// exitCode is the one place errors become exit codes.
func exitCode(err error) int {
	var (
		h   *hintedError
		st  *statusError
		cst *client.StatusError
		ee  *sshwire.ExitError
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &st):
		return st.code
	case errors.As(err, &cst):
		return cst.Code
	case errors.As(err, &ee):
		if ee.Signal() != "" {
			return exitConnection // as OpenSSH does for a remote signal
		}
		return ee.ExitStatus()
	case errors.As(err, &h) && h.code != 0:
		return h.code
	default:
		return exitConnection
	}
}

// hintedError is an error with lines that tell the user what to do about
// it, and the exit code it maps to (0 means the default).
type hintedError struct {
	err   error
	code  int
	hints []string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

// hint adds a line of advice.
func (e *hintedError) hint(format string, args ...any) *hintedError {
	e.hints = append(e.hints, fmt.Sprintf(format, args...))
	return e
}

// usageErrorf reports bad command-line usage (exit 2).
func usageErrorf(format string, args ...any) *hintedError {
	return &hintedError{err: fmt.Errorf(format, args...), code: exitUsage}
}

// withHint wraps err with advice, keeping its exit code unless code is set.
func withHint(err error, code int, hints ...string) error {
	return &hintedError{err: err, code: code, hints: hints}
}

// statusError ends the process with code and prints nothing: the message,
// if any, was already shown (a remote command's exit status, say).
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
