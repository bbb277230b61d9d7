package server

import (
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/creack/pty"
)

// ptyDrain bounds how long output is read after the command exits while
// something else (a background job) still holds the terminal.
const ptyDrain = time.Second

// startPTY runs cmd on a new pseudo-terminal as its controlling terminal.
func (s *session) startPTY(cmd *exec.Cmd) (func() error, error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, err
	}
	u := s.c.User
	if os.Getuid() == 0 && u.UID != 0 {
		// As sshd's pty_setowner: the user owns its terminal.
		tty.Chown(int(u.UID), -1)
		tty.Chmod(0o620)
	}
	p := s.pty
	setSize(ptmx, p.Cols, p.Rows, p.W, p.H)
	if err := applyModes(tty, []byte(p.Modes)); err != nil {
		s.c.Log.Warn("terminal modes", "err", err)
	}
	cmd.Env = setEnv(cmd.Env, "SSH_TTY", tty.Name())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0
	s.mu.Lock()
	err = cmd.Start()
	if err == nil {
		s.cmd, s.ptmx = cmd, ptmx
		s.closers = []io.Closer{ptmx}
	}
	s.mu.Unlock()
	tty.Close()
	if err != nil {
		ptmx.Close()
		return nil, err
	}
	s.c.wg.Go(func() { io.Copy(ptmx, s.ch) })
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		s.copyOut(s.ch, ptmx) // ends with EIO once no one holds the terminal
	}()
	return func() error {
		err := cmd.Wait()
		select {
		case <-outDone:
		case <-time.After(ptyDrain):
			ptmx.SetReadDeadline(time.Now())
			<-outDone
		}
		s.mu.Lock()
		ptmx.Close()
		s.mu.Unlock()
		return err
	}, nil
}

func setSize(f *os.File, cols, rows, w, h uint32) error {
	return pty.Setsize(f, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows), X: uint16(w), Y: uint16(h)})
}
