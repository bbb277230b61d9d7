package sshconn

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// pwServer is an in-process x/crypto server accepting password "pw" and
// keyboard-interactive answer "pw" (Debian's sshd here has no PAM and no
// user with a password).
func pwServer(t *testing.T) (addr string, hostKey ssh.PublicKey) {
	t.Helper()
	hk := testSigner(t, "pw-host")
	cfg := &sshwire.ServerConfig{
		HostKeys: []ssh.Signer{hk},
		PasswordCallback: func(_ sshwire.ConnMetadata, p []byte) (*sshwire.Permissions, error) {
			if string(p) == "pw" {
				return nil, nil
			}
			return nil, errors.New("bad password")
		},
		KeyboardInteractiveCallback: func(_ sshwire.ConnMetadata, ch sshwire.KeyboardInteractiveChallenge) (*sshwire.Permissions, error) {
			ans, err := ch("", "", []string{"Code: "}, []bool{false})
			if err == nil && len(ans) == 1 && ans[0] == "pw" {
				return nil, nil
			}
			return nil, errors.New("bad answer")
		},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc, err := engine.Server(c, cfg)
				if err != nil {
					return
				}
				defer sc.Close()
				go sshwire.DiscardRequests(sc.GlobalRequests())
				for nc := range sc.HandleChannelOpen("") {
					nc.Reject(sshwire.Prohibited, "no channels")
				}
			}()
		}
	}()
	return l.Addr().String(), hk.PublicKey()
}

func TestPasswordAndKeyboardInteractive(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		pref     string
		answers  []string
		ok       bool
		prompt   string
		nPrompts int
		extra    []string
	}{
		{"password", "password", []string{"pw"}, true, "alice@127.0.0.1's password: ", 1, nil},
		{"password-retry", "password", []string{"no", "pw"}, true, "alice@127.0.0.1's password: ", 2, nil},
		{"password-gives-up", "password", []string{"a", "b", "c", "d"}, false, "alice@127.0.0.1's password: ", 3, nil},
		{"number-of-prompts", "password", []string{"a", "pw"}, false, "alice@127.0.0.1's password: ", 1, []string{"numberofpasswordprompts", "1"}},
		{"kbd-interactive", "keyboard-interactive", []string{"pw"}, true, "Code: ", 1, nil},
		{"batchmode", "password,keyboard-interactive", []string{"pw"}, false, "", 0, []string{"batchmode", "yes"}},
		{"password-disabled", "password", []string{"pw"}, false, "", 0, []string{"passwordauthentication", "no"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr, hk := pwServer(t)
			host, port, _ := net.SplitHostPort(addr)
			p, _ := strconv.Atoi(port)
			h := newMapHost(t.TempDir(), append([]string{"user", "alice", "hostname", host, "port", port,
				"stricthostkeychecking", "yes", "globalknownhostsfile", "none", "identityagent", "none",
				"preferredauthentications", tc.pref}, tc.extra...)...)
			kh := h.home + "/kh"
			h.set("userknownhostsfile", kh)
			if err := appendKnownHosts(kh, knownHostsName(host, p)+" "+authorizedLine(hk)+"\n"); err != nil {
				t.Fatal(err)
			}
			pr := &scriptPrompter{answers: tc.answers}
			warn := &sshtest.Buffer{}
			c, err := newClient(context.Background(), Config{Prompter: pr, Warn: warn}, h)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conn, err := engine.Dial("tcp", addr, 10*time.Second, c.Config)
			if (err == nil) != tc.ok {
				t.Fatalf("dial err = %v, want ok=%v\n%s", err, tc.ok, warn)
			}
			if conn != nil {
				conn.Close()
				if c.Method() != tc.pref {
					t.Errorf("Method() = %q, want %q", c.Method(), tc.pref)
				}
			}
			if len(pr.prompts) != tc.nPrompts {
				t.Fatalf("prompts = %q, want %d", pr.prompts, tc.nPrompts)
			}
			for _, got := range pr.prompts {
				if got != tc.prompt {
					t.Errorf("prompt %q, want %q", got, tc.prompt)
				}
			}
			if tc.name == "password-retry" && !strings.Contains(warn.String(), "Permission denied, please try again.") {
				t.Errorf("no retry notice: %q", warn)
			}
		})
	}
}
