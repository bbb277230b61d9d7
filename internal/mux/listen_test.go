package mux

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestListenPathTooLong: a control path the kernel cannot bind is named
// as too long, as ssh(1) does, not as bind's "invalid argument".
func TestListenPathTooLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("x", 100))
	_, err := Listen(path)
	if err == nil || !strings.Contains(err.Error(), "too long for Unix domain socket") {
		t.Fatalf("Listen(%d-byte path) = %v, want a too-long error", len(path), err)
	}
	short := filepath.Join(t.TempDir(), "ok")
	l, err := Listen(short)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}
