package mux

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDialMasterNotAnswering: a master that accepts nothing (stopped, or
// its queue of connections full) gives an error the client takes for "did
// not answer", never one it takes for "no master here".
func TestDialMasterNotAnswering(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// connect's EAGAIN is a timeout (syscall.Errno.Timeout) as much as the
	// deadline is: either way the master is not accepting.
	wantDeadline := func(t *testing.T, path string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if _, err := Dial(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Dial: %v, want context.DeadlineExceeded", err)
		}
	}

	t.Run("never accepts", func(t *testing.T) {
		path := filepath.Join(dir, "quiet")
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		wantDeadline(t, path)
	})

	t.Run("queue full", func(t *testing.T) {
		path := filepath.Join(dir, "full")
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(fd)
		if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Listen(fd, 0); err != nil {
			t.Fatal(err)
		}
		// A backlog of 0 holds one connection; the next is refused with EAGAIN.
		first, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		wantDeadline(t, path)
	})
}
