package rawio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

func TestConnCarriesDataAndEOF(t *testing.T) {
	a, b := sshtest.TCPPair(t)
	ra, rb := NewConn(a), NewConn(b)
	if _, ok := ra.(*Conn); !ok {
		t.Fatalf("NewConn(TCP) = %T, want *Conn", ra)
	}
	want := bytes.Repeat([]byte("jumpgate"), 1<<17) // 1 MiB: more than a socket buffer
	go func() {
		if n, err := ra.Write(want); n != len(want) || err != nil {
			t.Errorf("write: %d, %v", n, err)
		}
		// Through the wrapper, as a splice half-closes what it wraps.
		if err := ra.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
			t.Errorf("CloseWrite: %v", err)
		}
	}()
	got, err := io.ReadAll(rb)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (%v), want the %d written", len(got), err, len(want))
	}
}

func TestConnDeadlineAndClose(t *testing.T) {
	a, _ := sshtest.TCPPair(t)
	ra := NewConn(a)
	ra.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := ra.Read(make([]byte, 10))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past the deadline: %v, want %v", err, os.ErrDeadlineExceeded)
	}
	ra.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := ra.Read(make([]byte, 10))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	ra.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read interrupted by Close: %v, want %v", err, net.ErrClosed)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a blocked read")
	}
}

func TestFile(t *testing.T) {
	r, w, err := os.Pipe() // non-blocking, from the poller
	if err != nil {
		t.Fatal(err)
	}
	fr, fw := NewFile(r), NewFile(w)
	if _, ok := fr.(*File); !ok {
		t.Fatalf("NewFile(pipe) = %T, want *File", fr)
	}
	go func() {
		fw.Write([]byte("hello"))
		fw.Close()
	}()
	got, err := io.ReadAll(fr)
	if err != nil || string(got) != "hello" {
		t.Errorf("read %q, %v", got, err)
	}
	fr.Close()
	if _, err := fr.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read after close: %v, want %v", err, os.ErrClosed)
	}

	// A blocking file is left as it is: a raw read of it would block a
	// thread outside the scheduler's knowledge.
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if g := NewFile(f); g != io.ReadWriteCloser(f) {
		t.Errorf("NewFile(blocking %s) = %T, want the file itself", os.DevNull, g)
	}
}
