package sshtest

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// accept serves the next channel of the server end with fn.
func accept(t *testing.T, server sshwire.Conn, fn func(sshwire.NewChannel)) {
	t.Helper()
	chans := server.HandleChannelOpen("")
	go func() {
		for nc := range chans {
			fn(nc)
		}
	}()
}

func TestPair(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, client, server sshwire.Conn)
	}{
		{"data both ways and EOF", func(t *testing.T, client, server sshwire.Conn) {
			accept(t, server, func(nc sshwire.NewChannel) {
				ch, reqs, _ := nc.Accept()
				go sshwire.DiscardRequests(reqs)
				b, _ := io.ReadAll(ch)
				ch.Write(append([]byte("echo:"), b...))
				ch.Stderr().Write([]byte("err"))
				ch.CloseWrite()
			})
			ch, reqs, err := client.OpenChannel(ctx, "x", []byte("extra"))
			if err != nil {
				t.Fatal(err)
			}
			go sshwire.DiscardRequests(reqs)
			ch.Write([]byte("hello "))
			ch.Write([]byte("world"))
			ch.CloseWrite()
			if _, err := ch.Write([]byte("late")); err == nil {
				t.Error("write after CloseWrite succeeded")
			}
			out, _ := io.ReadAll(ch)
			errOut, _ := io.ReadAll(ch.Stderr())
			if string(out) != "echo:hello world" || string(errOut) != "err" {
				t.Errorf("stdout %q stderr %q", out, errOut)
			}
		}},
		{"ReadPacket keeps message boundaries", func(t *testing.T, client, server sshwire.Conn) {
			accept(t, server, func(nc sshwire.NewChannel) {
				ch, reqs, _ := nc.Accept()
				go sshwire.DiscardRequests(reqs)
				for _, m := range []string{"one", "two", "three"} {
					ch.Write([]byte(m))
				}
				ch.CloseWrite()
			})
			ch, reqs, err := client.OpenChannel(ctx, "tun@openssh.com", nil)
			if err != nil {
				t.Fatal(err)
			}
			go sshwire.DiscardRequests(reqs)
			pr, ok := ch.(sshwire.PacketReader)
			if !ok {
				t.Fatal("channel is not a PacketReader")
			}
			var got []string
			for {
				p, err := pr.ReadPacket()
				if err != nil {
					break
				}
				got = append(got, string(p))
			}
			if len(got) != 3 || got[0] != "one" || got[1] != "two" || got[2] != "three" {
				t.Errorf("packets %q", got)
			}
		}},
		{"channel request and reply", func(t *testing.T, client, server sshwire.Conn) {
			accept(t, server, func(nc sshwire.NewChannel) {
				_, reqs, _ := nc.Accept()
				for r := range reqs {
					r.Reply(r.Type == "yes" && string(r.Payload) == "p", nil)
				}
			})
			ch, reqs, err := client.OpenChannel(ctx, "session", nil)
			if err != nil {
				t.Fatal(err)
			}
			go sshwire.DiscardRequests(reqs)
			if ok, err := ch.SendRequest("yes", true, []byte("p")); !ok || err != nil {
				t.Errorf("yes: %v %v", ok, err)
			}
			if ok, err := ch.SendRequest("no", true, nil); ok || err != nil {
				t.Errorf("no: %v %v", ok, err)
			}
			ch.Close()
			if _, err := ch.SendRequest("yes", true, nil); err == nil {
				t.Error("request on a closed channel succeeded")
			}
		}},
		{"rejected open", func(t *testing.T, client, server sshwire.Conn) {
			accept(t, server, func(nc sshwire.NewChannel) {
				nc.Reject(sshwire.ConnectionFailed, "connect failed: refused "+string(nc.ExtraData()))
			})
			_, _, err := client.OpenChannel(ctx, "direct-tcpip", []byte("x"))
			var oe *sshwire.OpenChannelError
			if !errors.As(err, &oe) || oe.Reason != sshwire.ConnectionFailed || oe.Message != "connect failed: refused x" {
				t.Errorf("err %v", err)
			}
		}},
		{"client refuses unknown channel types", func(t *testing.T, client, server sshwire.Conn) {
			_, _, err := server.OpenChannel(ctx, "x11", nil)
			var oe *sshwire.OpenChannelError
			if !errors.As(err, &oe) || oe.Reason != sshwire.UnknownChannelType {
				t.Errorf("err %v", err)
			}
			chans := client.HandleChannelOpen("x11")
			if client.HandleChannelOpen("x11") != nil {
				t.Error("second HandleChannelOpen not nil")
			}
			go func() {
				nc := <-chans
				_, reqs, _ := nc.Accept()
				sshwire.DiscardRequests(reqs)
			}()
			ch, _, err := server.OpenChannel(ctx, "x11", nil)
			if err != nil {
				t.Fatal(err)
			}
			ch.Close()
		}},
		{"global requests", func(t *testing.T, client, server sshwire.Conn) {
			go func() {
				for r := range server.GlobalRequests() {
					r.Reply(r.Type == "tcpip-forward", []byte{0, 0, 0, 7})
				}
			}()
			ok, reply, err := client.SendRequest(ctx, "tcpip-forward", true, nil)
			if !ok || err != nil || len(reply) != 4 || reply[3] != 7 {
				t.Errorf("tcpip-forward: %v %v %v", ok, reply, err)
			}
			if ok, _, _ := client.SendRequest(ctx, "keepalive@openssh.com", true, nil); ok {
				t.Error("keepalive answered true")
			}
			// The client end reads no global requests: answered false.
			if ok, _, err := server.SendRequest(ctx, "x", true, nil); ok || err != nil {
				t.Errorf("server to client: %v %v", ok, err)
			}
		}},
		{"session exit status and stderr", func(t *testing.T, client, server sshwire.Conn) {
			accept(t, server, func(nc sshwire.NewChannel) {
				ch, reqs, _ := nc.Accept()
				for r := range reqs {
					r.Reply(r.Type == "exec", nil)
					if r.Type == "exec" {
						ch.Stderr().Write([]byte("oops"))
						ch.SendRequest("exit-status", false, []byte{0, 0, 0, 3})
						ch.CloseWrite()
						ch.Close()
					}
				}
			})
			s, err := sshwire.NewSession(ctx, client)
			if err != nil {
				t.Fatal(err)
			}
			var errOut collect
			s.Stderr = &errOut
			err = s.Run("false")
			var ee *sshwire.ExitError
			if !errors.As(err, &ee) || ee.ExitStatus() != 3 || string(errOut) != "oops" {
				t.Errorf("err %v stderr %q", err, errOut)
			}
		}},
		{"close ends the connection", func(t *testing.T, client, server sshwire.Conn) {
			accept(t, server, func(nc sshwire.NewChannel) {
				_, reqs, _ := nc.Accept()
				go sshwire.DiscardRequests(reqs)
			})
			ch, reqs, err := client.OpenChannel(ctx, "x", nil)
			if err != nil {
				t.Fatal(err)
			}
			server.Close()
			for range reqs {
			}
			if _, err := io.ReadAll(ch); err != nil {
				t.Errorf("read after close: %v", err)
			}
			done := make(chan error)
			go func() { done <- client.Wait() }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Wait did not return")
			}
			if _, _, err := client.OpenChannel(ctx, "x", nil); err == nil {
				t.Error("open after close succeeded")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, server := Pair()
			defer client.Close()
			tt.run(t, client, server)
		})
	}
}

type collect []byte

func (c *collect) Write(p []byte) (int, error) { *c = append(*c, p...); return len(p), nil }
