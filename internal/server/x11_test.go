package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// x11User is root with a fresh home, so that xauth writes the session's
// cookie there and not into the machine's ~/.Xauthority.
func x11User(home string) func(string) (*User, error) {
	return func(name string) (*User, error) {
		u, err := testUser(name)
		if err != nil {
			return nil, err
		}
		u.Home = home
		return u, nil
	}
}

func requireXAuth(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("xauth"); err != nil {
		t.Skip("xauth is not installed (scripts/deps.sh installs it)")
	}
}

// TestX11Forwarding asks for X11 forwarding with an x/crypto client: the
// session's DISPLAY is a loopback display whose cookie xauth now holds,
// and a connection to it arrives as an x11 channel carrying what was
// written. Refusals follow the server flag and authorized_keys options.
func TestX11Forwarding(t *testing.T) {
	requireXAuth(t)
	t.Parallel()
	key := newKey(t, t.TempDir())
	cookie := strings.Repeat("5a", 16)
	tests := []struct {
		name    string
		enabled bool
		opts    string
		ok      bool
	}{
		{"enabled", true, "", true},
		{"disabled in the server", false, "", false},
		{"no-X11-forwarding", true, "no-X11-forwarding", false},
		{"restrict", true, "restrict", false},
		{"restrict with X11-forwarding", true, "restrict,X11-forwarding", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			ts := startServer(t, key.authLine(tt.opts), func(c *Config) {
				c.X11Forwarding = tt.enabled
				c.LookupUser = x11User(home)
			})
			c := ts.mustDial(t, key.signer)
			chans := c.HandleChannelOpen("x11")
			s, err := sshwire.NewSession(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ok, err := s.SendRequest("x11-req", true, ssh.Marshal(&x11ReqMsg{
				Proto: "MIT-MAGIC-COOKIE-1", Cookie: cookie, Screen: 0}))
			if err != nil || ok != tt.ok {
				t.Fatalf("x11-req: %v, %v; want %v", ok, err, tt.ok)
			}
			// The display lives as long as the session: keep it open
			// (cat) until the test is done.
			stdin, _ := s.StdinPipe()
			defer stdin.Close()
			stdout, _ := s.StdoutPipe()
			if err := s.Start(`echo "$DISPLAY"; xauth list; echo .; cat`); err != nil {
				t.Fatal(err)
			}
			var out []byte
			br := bufio.NewReader(stdout)
			for {
				line, err := br.ReadBytes('\n')
				if err != nil {
					t.Fatalf("session output %q: %v", out, err)
				}
				if string(line) == ".\n" {
					break
				}
				out = append(out, line...)
			}
			if !tt.ok {
				if strings.TrimSpace(string(out)) != "" {
					t.Fatalf("refused x11-req, yet the session has %q", out)
				}
				return
			}
			m := regexp.MustCompile(`^localhost:(\d+)\.0\n.*/unix:(\d+)\s+MIT-MAGIC-COOKIE-1\s+([0-9a-f]+)\n$`).FindSubmatch(out)
			if m == nil || string(m[1]) != string(m[2]) || string(m[3]) != cookie {
				t.Fatalf("DISPLAY and xauth list: %q", out)
			}
			// An X client on the server side connects to the display.
			n, _ := strconv.Atoi(string(m[1]))
			conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(6000+n), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write([]byte("setup"))
			select {
			case nc := <-chans:
				var msg x11ChannelMsg
				if err := ssh.Unmarshal(nc.ExtraData(), &msg); err != nil || msg.OrigAddr != "127.0.0.1" {
					t.Fatalf("x11 channel open %+v, %v", msg, err)
				}
				ch, reqs, err := nc.Accept()
				if err != nil {
					t.Fatal(err)
				}
				go sshwire.DiscardRequests(reqs)
				got := make([]byte, 5)
				if _, err := io.ReadFull(ch, got); err != nil || !bytes.Equal(got, []byte("setup")) {
					t.Fatalf("x11 channel carried %q, %v", got, err)
				}
				ch.Close()
			case <-time.After(10 * time.Second):
				t.Fatal("no x11 channel for a connection to the display")
			}
		})
	}
}

// TestX11BadRequests: invalid cookie text (it goes on xauth's input) and
// a second x11-req on one session are refused.
func TestX11BadRequests(t *testing.T) {
	requireXAuth(t)
	t.Parallel()
	key := newKey(t, t.TempDir())
	home := t.TempDir()
	ts := startServer(t, key.authLine(""), func(c *Config) {
		c.X11Forwarding = true
		c.LookupUser = x11User(home)
	})
	c := ts.mustDial(t, key.signer)
	s, err := sshwire.NewSession(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req := func(proto, cookie string) bool {
		ok, err := s.SendRequest("x11-req", true, ssh.Marshal(&x11ReqMsg{Proto: proto, Cookie: cookie}))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if req("MIT-MAGIC-COOKIE-1", "00\nadd evil") {
		t.Error("a cookie with a newline was accepted")
	}
	if req("", "00") {
		t.Error("an empty protocol was accepted")
	}
	if !req("MIT-MAGIC-COOKIE-1", "0011") {
		t.Fatalf("a good x11-req was refused; log:\n%s", ts.log)
	}
	if req("MIT-MAGIC-COOKIE-1", "0011") {
		t.Error("a second x11-req was accepted")
	}
}
