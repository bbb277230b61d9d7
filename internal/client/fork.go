package client

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// forkedEnv marks the background copy of `jumpgate ssh -f`; its value is
// the descriptor on which it reports that authentication succeeded.
const forkedEnv = "JUMPGATE_SSH_FORKED_FD"

// ForkToBackground is -f. Go cannot fork, so we start a copy of ourselves
// with the same arguments and stdin from /dev/null; it connects and
// authenticates (prompting on /dev/tty if it must, since it still has the
// terminal), tells us over a pipe, detaches with setsid and goes on. We
// exit 0 then, or with its status if it fails before that.
func (r *Client) ForkToBackground(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return r.fail("Cannot fork into background: %v", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return r.fail("Cannot fork into background: %v", err)
	}
	defer pr.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		pw.Close()
		return r.fail("Cannot fork into background: %v", err)
	}
	defer devnull.Close()
	cmd := &exec.Cmd{
		Path:       exe,
		Args:       os.Args,
		Env:        append(os.Environ(), forkedEnv+"=3"),
		Stdin:      devnull,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		ExtraFiles: []*os.File{pw},
	}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return r.fail("Cannot fork into background: %v", err)
	}
	pw.Close()
	ready := make(chan bool, 1)
	go func() {
		var b [1]byte
		n, _ := pr.Read(b[:])
		ready <- n == 1
	}()
	select {
	case ok := <-ready:
		if ok {
			cmd.Process.Release()
			return nil
		}
	case <-ctx.Done():
		cmd.Process.Signal(syscall.SIGTERM)
	}
	err = cmd.Wait()
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
// -f, it tells the parent to exit and leaves the terminal's session.
func NotifyForked() {
	if os.Getenv(forkedEnv) != "3" {
		return
	}
	os.Unsetenv(forkedEnv)
	f := os.NewFile(3, "fork-ready")
	f.Write([]byte{1})
	f.Close()
	syscall.Setsid()
}

// Forked reports whether this process is the background copy of -f.
func Forked() bool { return os.Getenv(forkedEnv) != "" }
