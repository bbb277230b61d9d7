package client

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"syscall"

	"github.com/jumpgate/jumpgate/internal/selfexec"
)

// ForkedEnv marks the background copy of `jumpgate ssh -f`; its value is
// the descriptor on which it reports that authentication succeeded. The
// command line reads and clears it at start ([Env.Forked]), so no child
// of ours inherits it.
const ForkedEnv = "JUMPGATE_SSH_FORKED_FD"

// ForkToBackground is -f. Go cannot fork, so we start a copy of ourselves
// with the same arguments and stdin from /dev/null; it connects and
// authenticates (prompting on /dev/tty if it must, since it still has the
// terminal), tells us over a pipe, detaches with setsid and goes on. We
// exit 0 then, or with its status if it fails before that.
func (r *Client) ForkToBackground(ctx context.Context) error {
	child, err := selfexec.Start(selfexec.Options{
		Argv0:  r.e.Argv[0],
		Args:   r.e.Argv[1:],
		Env:    append(r.e.Environ(), ForkedEnv+"=3"),
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	})
	if err != nil {
		return r.fail("Cannot fork into background: %v", err)
	}
	ok, err := child.WaitReady(ctx, func(rd io.Reader) bool {
		var b [1]byte
		n, _ := rd.Read(b[:])
		return n == 1
	})
	if ok {
		child.Release()
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &StatusError{ee.ExitCode()}
	}
	if err != nil {
		return r.fail("background ssh: %v", err)
	}
	return &StatusError{exitConnection}
}

// NotifyForked is called once authenticated: in the background copy of
// -f, it tells the parent to exit (once) and leaves the terminal's session.
func (r *Client) NotifyForked() {
	if !r.e.Forked || r.notified {
		return
	}
	r.notified = true
	selfexec.Notify([]byte{1})
	syscall.Setsid()
}

// Forked reports whether this process is the background copy of -f.
func (r *Client) Forked() bool { return r.e.Forked }
