// Package selfexec starts a copy of this program and waits until it says
// it is ready. Go cannot fork, so going to the background (ssh -f, a
// persistent master) or leaving a watcher behind means starting ourselves
// again: the copy gets the write end of a pipe as descriptor [ReadyFD] and
// reports on it once it is ready, or exits.
package selfexec

import (
	"context"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// ReadyFD is the copy's descriptor for its readiness report.
const ReadyFD = 3

// Options is how to start the copy.
type Options struct {
	Argv0 string   // "" means this executable's path
	Args  []string // after argv[0]
	Env   []string // nil means ours
	// Stdin, Stdout and Stderr are as in [exec.Cmd]; nil is /dev/null.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Setsid starts the copy in a session of its own.
	Setsid bool
}

// Child is a started copy.
type Child struct {
	cmd   *exec.Cmd
	ready *os.File
}

// Start starts a copy of this executable.
func Start(o Options) (*Child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	argv0 := o.Argv0
	if argv0 == "" {
		argv0 = exe
	}
	cmd := &exec.Cmd{Path: exe, Args: append([]string{argv0}, o.Args...), Env: o.Env,
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, ExtraFiles: []*os.File{pw}}
	if o.Setsid {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, err
	}
	return &Child{cmd: cmd, ready: pr}, nil
}

// WaitReady calls ready with the copy's readiness pipe; ready reads its
// report and says whether the copy is ready. If not, or if ctx ends first
// (the copy then gets SIGTERM), WaitReady waits for the copy to exit and
// returns false and [exec.Cmd.Wait]'s error.
func (c *Child) WaitReady(ctx context.Context, ready func(io.Reader) bool) (bool, error) {
	defer c.ready.Close()
	done := make(chan bool, 1)
	go func() { done <- ready(c.ready) }()
	select {
	case ok := <-done:
		if ok {
			return true, nil
		}
	case <-ctx.Done():
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	return false, c.cmd.Wait()
}

// Release lets the copy run on its own.
func (c *Child) Release() { c.cmd.Process.Release() }

// Wait waits for the copy to exit.
func (c *Child) Wait() error { return c.cmd.Wait() }

// Notify is the copy's side: it reports msg on [ReadyFD] and closes it.
func Notify(msg []byte) {
	f := os.NewFile(ReadyFD, "ready")
	f.Write(msg)
	f.Close()
}
