package cfgfile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok")
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(ok, []byte("Host x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, make([]byte, Limit+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(context.Background(), ok); err != nil || string(b) != "Host x\n" {
		t.Errorf("Read(ok) = %q, %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "exact"), make([]byte, Limit), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(context.Background(), filepath.Join(dir, "exact")); err != nil {
		t.Errorf("a file of exactly the limit: %v", err)
	}
	for _, name := range []string{big, "/dev/zero"} {
		_, err := Read(context.Background(), name)
		var tl *TooLargeError
		if !errors.As(err, &tl) || !strings.HasPrefix(err.Error(), name+": larger than 4 MiB") || !strings.Contains(err.Error(), "split it") {
			t.Errorf("Read(%s) = %v, want the size limit", name, err)
		}
	}
	if _, err := Read(context.Background(), filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestReadEndsWithContext checks that a FIFO nobody writes, or whose
// writer never ends, gives up when the context ends.
func TestReadEndsWithContext(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "F")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, tc := range []struct {
		name   string
		writer bool
	}{{"no-writer", false}, {"silent-writer", true}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.writer {
				w, err := os.OpenFile(fifo, os.O_RDWR, 0) // never blocks, holds the FIFO open
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() { _, err := Read(ctx, fifo); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Read = %v, want the context's error", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Read still waits 5 s after its context ended")
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := FS(ctx).Open(strings.TrimPrefix(fifo, "/")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FS.Open = %v, want the context's error", err)
	}
}
