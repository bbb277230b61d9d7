package engine

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// traceLines collects a transport's trace as "level: line".
type traceLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *traceLines) debugf(level int, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf("%d: "+format, append([]any{level}, args...)...))
}

func (l *traceLines) count(line string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if s == line {
			n++
		}
	}
	return n
}

func (l *traceLines) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestKexTrace: the client's trace has ssh(1)'s lines, which OpenSSH's
// regression tests read: one "SSH2_MSG_NEWKEYS sent" per exchange, and
// for the group exchange the sizes asked and the group's size.
func TestKexTrace(t *testing.T) {
	t.Parallel()
	keys := newTestHostKeys(t)
	for _, tc := range []struct {
		kex, cipher string
		want        []string
		re          string
	}{
		{kex: "curve25519-sha256", cipher: "aes128-ctr", want: []string{
			"1: SSH2_MSG_KEXINIT sent", "1: SSH2_MSG_KEXINIT received",
			"1: kex: algorithm: curve25519-sha256", "1: kex: host key algorithm: ssh-ed25519",
			"1: kex: server->client cipher: aes128-ctr MAC: umac-64-etm@openssh.com compression: none",
			"1: kex: client->server cipher: aes128-ctr MAC: umac-64-etm@openssh.com compression: none",
			"1: expecting SSH2_MSG_KEX_ECDH_REPLY", "1: SSH2_MSG_KEX_ECDH_REPLY received",
			"1: expecting SSH2_MSG_NEWKEYS", "1: SSH2_MSG_NEWKEYS received"}},
		{kex: "diffie-hellman-group-exchange-sha256", cipher: "chacha20-poly1305@openssh.com", want: []string{
			"1: kex: server->client cipher: chacha20-poly1305@openssh.com MAC: <implicit> compression: none",
			"1: SSH2_MSG_KEX_DH_GEX_REQUEST(2048<8192<8192) sent", "1: SSH2_MSG_KEX_DH_GEX_GROUP received",
			"1: SSH2_MSG_KEX_DH_GEX_INIT sent", "1: SSH2_MSG_KEX_DH_GEX_REPLY received"},
			re: `(?m)^2: bits set: \d+/8192$`},
	} {
		t.Run(tc.kex, func(t *testing.T) {
			t.Parallel()
			ccfg, scfg := pairConfigs([]ssh.Signer{keys.ed25519}, sshwire.AlgorithmList{
				KeyExchanges: []string{tc.kex}, Ciphers: []string{tc.cipher}, HostKeys: []string{"ssh-ed25519"}})
			var trace traceLines
			ccfg.debugf = trace.debugf
			client, server := newPipePair(t, ccfg, scfg)
			client.authenticated()
			server.authenticated()
			r := startReaders(client, server)
			exchange(t, r, 2)
			client.(*transport).requestRekey()
			exchange(t, r, 2)
			waitFor(t, func() bool { return trace.count("1: SSH2_MSG_NEWKEYS received") == 2 })
			for _, w := range tc.want {
				if trace.count(w) == 0 {
					t.Errorf("no %q in the trace:\n%s", w, trace.all())
				}
			}
			if n := trace.count("1: SSH2_MSG_NEWKEYS sent"); n != 2 {
				t.Errorf("%d SSH2_MSG_NEWKEYS sent, want 2:\n%s", n, trace.all())
			}
			if tc.re != "" && !regexp.MustCompile(tc.re).MatchString(trace.all()) {
				t.Errorf("no line matching %s:\n%s", tc.re, trace.all())
			}
		})
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRekeyByTimeIdle: RekeyLimit's time starts an exchange on a
// connection that carries nothing, as ssh(1)'s does; before
// authentication no limit starts one.
func TestRekeyByTimeIdle(t *testing.T) {
	keys := newTestHostKeys(t)
	synctest.Test(t, func(t *testing.T) {
		ccfg, scfg := pairConfigs(keys.all(), sshwire.AlgorithmList{KeyExchanges: []string{"curve25519-sha256"}})
		ccfg.rekeyInterval = time.Hour
		ccfg.rekeyBytes = 16
		cc, sc := net.Pipe()
		client, server, cerr, serr := handshakePair(t, cc, sc, ccfg, scfg)
		if cerr != nil || serr != nil {
			t.Fatalf("handshake: client %v, server %v", cerr, serr)
		}
		defer server.close()
		defer client.close()
		r := startReaders(client, server)
		exchange(t, r, 2)
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		count := func() int {
			tr := client.(*transport)
			tr.mu.Lock()
			defer tr.mu.Unlock()
			return tr.kexCount
		}
		if n := count(); n != 1 {
			t.Fatalf("%d key exchanges before authentication, want 1", n)
		}
		client.authenticated()
		server.authenticated()
		time.Sleep(61 * time.Minute)
		synctest.Wait()
		if n := count(); n != 2 {
			t.Fatalf("%d key exchanges after an idle hour, want 2", n)
		}
	})
}
