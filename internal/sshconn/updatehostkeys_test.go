package sshconn

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// hostKeysServer plays an OpenSSH server's part: it lists keys in
// hostkeys-00@openssh.com and proves the ones it holds when asked.
func hostKeysServer(t *testing.T, conn sshwire.Conn, list []ssh.PublicKey, holds []ssh.Signer) {
	t.Helper()
	var payload []byte
	for _, k := range list {
		payload = appendString(payload, k.Marshal())
	}
	go func() {
		for r := range conn.GlobalRequests() {
			if r.Type != reqHostKeysProve {
				r.Reply(false, nil)
				continue
			}
			var out []byte
			rest := r.Payload
			for len(rest) > 0 {
				blob, next, ok := cutString(rest)
				if !ok {
					r.Reply(false, nil)
					break
				}
				rest = next
				var signer ssh.Signer
				for _, s := range holds {
					if bytes.Equal(s.PublicKey().Marshal(), blob) {
						signer = s
					}
				}
				if signer == nil {
					r.Reply(false, nil)
					break
				}
				data := appendString(nil, []byte(reqHostKeysProve))
				data = appendString(data, conn.SessionID())
				data = appendString(data, blob)
				sig, err := signer.Sign(rand.Reader, data)
				if err != nil {
					r.Reply(false, nil)
					break
				}
				out = appendString(out, ssh.Marshal(sig))
			}
			if len(rest) == 0 {
				r.Reply(true, out)
			}
		}
	}()
	if _, _, err := conn.SendRequest(context.Background(), reqHostKeys, false, payload); err != nil {
		t.Fatal(err)
	}
	// Requests are served in order, the update inline: once a later
	// request is answered, the update is done (it wants no reply itself,
	// and the session could otherwise end before it arrived).
	if _, _, err := conn.SendRequest(context.Background(), "keepalive@openssh.com", true, nil); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateHostKeys: the server's new key, once proven, is added for
// the host, the key it dropped is removed, other hosts' lines stay; a key
// the server cannot prove changes nothing; a key not vouched for by
// known_hosts (just accepted) disables the update.
func TestUpdateHostKeys(t *testing.T) {
	t.Parallel()
	current, fresh, old, other := testSigner(t, "current"), testSigner(t, "fresh"), testSigner(t, "old"), testSigner(t, "other")
	const host = "[hk.test]:2222"
	for _, tc := range []struct {
		name        string
		known       string
		holds       []ssh.Signer
		strict      string
		want, wantN []string
	}{
		{name: "rotate", strict: "yes",
			known: "other.test " + authorizedLine(other.PublicKey()) + "\n" +
				host + " " + authorizedLine(current.PublicKey()) + "\n" +
				"# a comment\n" +
				host + " " + authorizedLine(old.PublicKey()) + "\n",
			holds: []ssh.Signer{current, fresh},
			want: []string{"other.test " + authorizedLine(other.PublicKey()), "# a comment",
				host + " " + authorizedLine(current.PublicKey()), host + " " + authorizedLine(fresh.PublicKey())},
			wantN: []string{authorizedLine(old.PublicKey())}},
		{name: "unproven", strict: "yes",
			known: host + " " + authorizedLine(current.PublicKey()) + "\n",
			holds: []ssh.Signer{current},
			want:  []string{host + " " + authorizedLine(current.PublicKey())},
			wantN: []string{authorizedLine(fresh.PublicKey())}},
		{name: "just accepted", strict: "accept-new", holds: []ssh.Signer{current, fresh},
			want:  []string{host + " " + authorizedLine(current.PublicKey())},
			wantN: []string{authorizedLine(fresh.PublicKey())}},
		{name: "wildcard", strict: "yes",
			known: "[*.test]:2222 " + authorizedLine(current.PublicKey()) + "\n",
			holds: []ssh.Signer{current, fresh},
			want:  []string{"[*.test]:2222 " + authorizedLine(current.PublicKey())},
			wantN: []string{authorizedLine(fresh.PublicKey())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			kh := filepath.Join(dir, "known_hosts")
			if tc.known != "" {
				if err := os.WriteFile(kh, []byte(tc.known), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			h := newMapHost(dir, "hostname", "hk.test", "port", "2222", "userknownhostsfile", kh,
				"globalknownhostsfile", "none", "stricthostkeychecking", tc.strict, "updatehostkeys", "yes",
				"hashknownhosts", "no", "hostkeyalgorithms", "ssh-ed25519")
			var logs bytes.Buffer
			c, err := newClient(context.Background(), Config{Log: vlog.New(&logs, vlog.Debug3), Warn: &logs}, h)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Config.HostKeyCallback("hk.test:2222", remote, current.PublicKey()); err != nil {
				t.Fatal(err)
			}
			client, server := sshtest.Pair()
			defer client.Close()
			wait := c.ServeGlobalRequests(client)
			hostKeysServer(t, server, []ssh.PublicKey{current.PublicKey(), fresh.PublicKey()}, tc.holds)
			wait()
			data, err := os.ReadFile(kh)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSpace(string(data)), "\n")
			for _, w := range tc.want {
				if !strings.Contains(string(data), w+"\n") {
					t.Errorf("known_hosts lacks %q:\n%s\nlog:\n%s", w, data, logs.String())
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("known_hosts has %d lines, want %d:\n%s\nlog:\n%s", len(got), len(tc.want), data, logs.String())
			}
			for _, w := range tc.wantN {
				if strings.Contains(string(data), w) {
					t.Errorf("known_hosts still has %q:\n%s", w, data)
				}
			}
		})
	}
}

// FuzzHostKeysMessages: the server's key list and its proofs are read
// without panicking, whatever they hold.
func FuzzHostKeysMessages(f *testing.F) {
	k := testSigner(f, "fuzz").PublicKey()
	f.Add(appendString(nil, k.Marshal()))
	f.Add(appendString(appendString(nil, []byte("ssh-ed25519")), []byte("sig")))
	f.Add([]byte{0, 0, 0, 9, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &Client{policy: &hostKeyPolicy{}, hostKeyAlgs: []string{"ssh-ed25519"}}
		c.offeredHostKeys(b)
		for rest := b; len(rest) > 0; {
			s, next, ok := cutString(rest)
			if !ok {
				break
			}
			parseSignature(s)
			rest = next
		}
	})
}
