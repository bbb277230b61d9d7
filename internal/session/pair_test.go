package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// scriptedServer answers one session on the server end of a pair: it
// checks env, echoes stdin upper-cased, writes stderr, then ends as end
// says. Global requests (the keepalive Run sends to tell a dead
// connection from a server without an exit status) are answered false.
func scriptedServer(t *testing.T, server sshwire.Conn, end func(ch sshwire.Channel)) {
	go sshwire.DiscardRequests(server.GlobalRequests())
	go func() {
		for nc := range server.HandleChannelOpen("") {
			ch, reqs, err := nc.Accept()
			if err != nil {
				return
			}
			env := map[string]string{}
			for r := range reqs {
				switch r.Type {
				case "env":
					var m struct{ Name, Value string }
					ssh.Unmarshal(r.Payload, &m)
					env[m.Name] = m.Value
				case "exec":
					var m struct{ Command string }
					ssh.Unmarshal(r.Payload, &m)
					r.Reply(m.Command == "script" && env["LANG"] == "C.UTF-8", nil)
					go func() {
						in, _ := io.ReadAll(ch)
						ch.Write(bytes.ToUpper(in))
						io.WriteString(ch.Stderr(), "to stderr")
						end(ch)
						ch.CloseWrite()
						ch.Close()
					}()
					continue
				}
				r.Reply(false, nil)
			}
		}
	}()
}

// Run over the in-memory seam: output, stderr and how the command ended.
func TestRunOverPair(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		end   func(ch sshwire.Channel)
		check func(t *testing.T, err error)
	}{
		{"exit status", func(ch sshwire.Channel) {
			ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, 3))
		}, func(t *testing.T, err error) {
			var ee *sshwire.ExitError
			if !errors.As(err, &ee) || ee.ExitStatus() != 3 || ee.Signal() != "" {
				t.Errorf("err %v, want exit status 3", err)
			}
		}},
		{"exit zero", func(ch sshwire.Channel) {
			ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, 0))
		}, func(t *testing.T, err error) {
			if err != nil {
				t.Errorf("err %v, want nil", err)
			}
		}},
		{"exit signal", func(ch sshwire.Channel) {
			ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
				Signal     string
				CoreDumped bool
				Msg, Lang  string
			}{"TERM", false, "", ""}))
		}, func(t *testing.T, err error) {
			var ee *sshwire.ExitError
			if !errors.As(err, &ee) || ee.Signal() != "TERM" || ee.ExitStatus() != 128+15 {
				t.Errorf("err %v, want signal TERM", err)
			}
		}},
		{"no exit status", func(sshwire.Channel) {}, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "without an exit status") {
				t.Errorf("err %v, want a closed-without-status error", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, server := sshtest.Pair()
			defer client.Close()
			scriptedServer(t, server, tt.end)
			var out, errOut bytes.Buffer
			err := Run(context.Background(), client, Options{
				Command: "script", Env: []string{"LANG=C.UTF-8"}, EscapeChar: -1,
				Stdin: strings.NewReader("hello"), Stdout: &out, Stderr: &errOut, Host: "pair",
			})
			tt.check(t, err)
			if out.String() != "HELLO" || errOut.String() != "to stderr" {
				t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
			}
		})
	}
}
