package mux

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// A mux client's session through a master whose connection is the
// in-memory seam: no root, no sshd. The far end answers exec "script"
// by echoing stdin, writing "oops\n" to stderr and exiting 3.
func TestSessionThroughMasterOverPair(t *testing.T) {
	t.Parallel()
	client, server := sshtest.Pair()
	t.Cleanup(func() { client.Close() })
	go sshwire.DiscardRequests(server.GlobalRequests())
	go func() {
		for nc := range server.HandleChannelOpen("") {
			ch, reqs, err := nc.Accept()
			if err != nil {
				continue
			}
			go func() {
				for r := range reqs {
					var m struct{ Command string }
					if r.Type != "exec" || ssh.Unmarshal(r.Payload, &m) != nil || m.Command != "script" {
						r.Reply(false, nil)
						continue
					}
					r.Reply(true, nil)
					go func() {
						in, _ := io.ReadAll(ch)
						ch.Write(in)
						ch.Stderr().Write([]byte("oops\n"))
						ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, 3))
						ch.CloseWrite()
						ch.Close()
					}()
				}
			}()
		}
	}()
	dir, err := os.MkdirTemp("", "jg-mux-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tm := startMasterOn(t, client, dir, nil)
	c := dialMaster(t, tm.path)
	ctx := context.Background()
	out, stdout := outPipe(t)
	errw, stderr := outPipe(t)
	status, err := c.Session(ctx, NewSession{Command: "script", EscapeChar: NoEscape},
		inPipe(t, "hello\n"), out, errw, SessionEvents{})
	if err != nil {
		t.Fatal(err)
	}
	if status != 3 {
		t.Errorf("status %d, want 3", status)
	}
	if got := stdout(); got != "hello\n" {
		t.Errorf("stdout %q", got)
	}
	if got := stderr(); got != "oops\n" {
		t.Errorf("stderr %q", got)
	}
}
