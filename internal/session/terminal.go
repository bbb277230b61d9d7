package session

import (
	"os"
	"sync"

	"golang.org/x/term"
)

// terminal is the local terminal of an interactive session. Its raw mode
// is entered and left under a lock, because the stdin pump leaves it for
// "~^Z" while Run may be restoring it on the way out; once closed, it
// stays restored.
type terminal struct {
	f *os.File // nil: no local terminal

	mu     sync.Mutex
	saved  *term.State // set while in raw mode
	closed bool
}

// enterRaw puts the terminal in raw mode (a no-op without one, when
// already raw, or after close).
func (t *terminal) enterRaw() error {
	if t.f == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.saved != nil {
		return nil
	}
	return control(t.f, func(fd int) error {
		st, err := term.MakeRaw(fd)
		if err == nil {
			t.saved = st
		}
		return err
	})
}

// leaveRaw restores the modes saved by enterRaw.
func (t *terminal) leaveRaw() error {
	if t.f == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.restoreLocked()
}

func (t *terminal) restoreLocked() error {
	if t.saved == nil {
		return nil
	}
	st := t.saved
	t.saved = nil
	return control(t.f, func(fd int) error { return term.Restore(fd, st) })
}

// close restores the terminal for good.
func (t *terminal) close() {
	if t.f == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	t.restoreLocked()
}

// control runs fn on f's descriptor without (*os.File).Fd, which would
// put a pollable file in blocking mode and end its read deadlines.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
