package libvirt

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPeerCarriesBothWays runs both ends of the compressed console over
// pipes, with an echo server as the display.
func TestPeerCarriesBothWays(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "display.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	toFarR, toFarW := io.Pipe()
	toNearR, toNearW := io.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	farDone := make(chan error, 1)
	go func() { farDone <- ServePeer(ctx, "unix:"+sock, toFarR, toNearW) }()
	viewer, local := net.Pipe()
	nearDone := make(chan error, 1)
	go func() { nearDone <- splice(local, toNearR, toFarW) }()

	buf := make([]byte, 1<<16)
	for _, msg := range []string{"REDQ", strings.Repeat("tile ", 2000), "x"} {
		if _, err := viewer.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		viewer.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(viewer, buf[:len(msg)]); err != nil {
			t.Fatalf("echo of %d bytes: %v", len(msg), err)
		}
		if !bytes.Equal(buf[:len(msg)], []byte(msg)) {
			t.Fatalf("echo changed the message")
		}
	}
	viewer.Close()
	for name, ch := range map[string]chan error{"near": nearDone, "far": farDone} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Errorf("%s end did not finish after the viewer closed", name)
		}
	}
}

func TestServePeerAddress(t *testing.T) {
	t.Parallel()
	for _, a := range []string{"", "udp:1.2.3.4:5", "nocolon"} {
		if err := ServePeer(context.Background(), a, strings.NewReader(""), io.Discard); err == nil {
			t.Errorf("ServePeer(%q) took a bad address", a)
		}
	}
}
