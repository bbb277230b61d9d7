package sshconn

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// remote is a documentation-range address: used as a value, never dialled.
var remote = &net.TCPAddr{IP: net.ParseIP("198.18.0.10"), Port: 2222}

type hkFixture struct {
	dir, kh     string
	host        *mapHost
	warn        *sshtest.Buffer
	server, old ssh.Signer
}

func newHKFixture(t *testing.T, strict string, khLines ...string) *hkFixture {
	t.Helper()
	dir := t.TempDir()
	f := &hkFixture{
		dir:    dir,
		kh:     filepath.Join(dir, "known_hosts"),
		warn:   &sshtest.Buffer{},
		server: testSigner(t, "server"),
		old:    testSigner(t, "old"),
	}
	if len(khLines) > 0 {
		if err := os.WriteFile(f.kh, []byte(strings.Join(khLines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.host = newMapHost(dir,
		"hostname", "example.test", "port", "2222", "user", "alice",
		"userknownhostsfile", f.kh+" "+filepath.Join(dir, "known_hosts2"),
		"globalknownhostsfile", filepath.Join(dir, "global"),
		"stricthostkeychecking", strict, "hashknownhosts", "no")
	return f
}

func (f *hkFixture) policy(t *testing.T, p Prompter) *hostKeyPolicy {
	t.Helper()
	s := settings{f.host}
	out := &output{w: f.warn}
	pol, err := newHostKeyPolicy(s, Config{}, out, p, s.flag("batchmode", false), new(atomic.Bool))
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

func (f *hkFixture) content(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(f.kh)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

func hostCert(t *testing.T, ca ssh.Signer, key ssh.PublicKey, principals ...string) *ssh.Certificate {
	t.Helper()
	c := &ssh.Certificate{Key: key, CertType: ssh.HostCert, ValidPrincipals: principals, ValidBefore: ssh.CertTimeInfinity, KeyId: "host"}
	if err := c.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHostKeyModes(t *testing.T) {
	t.Parallel()
	server := testSigner(t, "server").PublicKey()
	old := testSigner(t, "old").PublicKey()
	ca := testSigner(t, "ca")
	name := "[example.test]:2222"
	known := name + " " + authorizedLine(server)
	changed := name + " " + authorizedLine(old)
	revoked := "@revoked * " + authorizedLine(server)
	caLine := "@cert-authority [*.test]:* " + authorizedLine(ca.PublicKey())
	hashed := hashedLine(t, name, server)

	type want struct {
		ok    bool
		added int    // lines appended to known_hosts
		say   string // substring of the warnings
	}
	cases := []struct {
		name  string
		lines []string
		key   func(t *testing.T) ssh.PublicKey
		modes map[string]want
	}{
		{"known", []string{known}, nil, map[string]want{
			"yes": {ok: true}, "ask": {ok: true}, "accept-new": {ok: true}, "no": {ok: true}}},
		{"hashed", []string{hashed}, nil, map[string]want{
			"yes": {ok: true}, "ask": {ok: true}, "accept-new": {ok: true}, "no": {ok: true}}},
		{"unknown", nil, nil, map[string]want{
			"yes":        {say: "No ED25519 host key is known for [example.test]:2222 and you have requested strict checking."},
			"ask":        {ok: true, added: 1, say: "Warning: Permanently added '[example.test]:2222' (ED25519) to the list of known hosts."},
			"accept-new": {ok: true, added: 1, say: "Warning: Permanently added '[example.test]:2222' (ED25519) to the list of known hosts."},
			"no":         {ok: true, added: 1, say: "Warning: Permanently added"}}},
		{"changed", []string{changed}, nil, map[string]want{
			"yes":        {say: "Host key for [example.test]:2222 has changed and you have requested strict checking."},
			"ask":        {say: "REMOTE HOST IDENTIFICATION HAS CHANGED"},
			"accept-new": {say: "Offending ED25519 key in "},
			"no":         {ok: true, say: "Password authentication is disabled to avoid man-in-the-middle attacks."}}},
		{"revoked", []string{known, revoked}, nil, map[string]want{
			"yes":        {say: "ED25519 host key for [example.test]:2222 was revoked and you have requested strict checking."},
			"ask":        {say: "WARNING: REVOKED HOST KEY DETECTED!"},
			"accept-new": {say: "is marked as revoked"},
			"no":         {ok: true, say: "Keyboard-interactive authentication is disabled"}}},
		{"cert-authority", []string{caLine}, func(t *testing.T) ssh.PublicKey {
			return hostCert(t, ca, server, "example.test")
		}, map[string]want{
			"yes": {ok: true}, "ask": {ok: true}, "accept-new": {ok: true}, "no": {ok: true}}},
		{"cert-wrong-principal-falls-back-to-plain", []string{caLine, known}, func(t *testing.T) ssh.PublicKey {
			return hostCert(t, ca, server, "other.test")
		}, map[string]want{
			"yes": {ok: true, say: "Certificate invalid"}, "no": {ok: true}}},
		{"cert-unknown-ca-unknown-key", nil, func(t *testing.T) ssh.PublicKey {
			return hostCert(t, ca, server, "example.test")
		}, map[string]want{
			"yes": {say: "No ED25519 host key is known"}, "accept-new": {ok: true, added: 1}}},
		{"revoked-ca", []string{caLine, "@revoked * " + authorizedLine(ca.PublicKey())}, func(t *testing.T) ssh.PublicKey {
			return hostCert(t, ca, server, "example.test")
		}, map[string]want{
			"yes": {say: "is marked as revoked"}, "ask": {say: "requested strict checking"}}},
	}
	for _, tc := range cases {
		for mode, w := range tc.modes {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				f := newHKFixture(t, mode, tc.lines...)
				before := f.content(t)
				p := &scriptPrompter{answers: []string{"yes"}}
				key := server
				if tc.key != nil {
					key = tc.key(t)
				}
				err := f.policy(t, p).callback("example.test:2222", remote, key)
				if w.ok != (err == nil) {
					t.Fatalf("callback = %v, want ok=%v; warnings:\n%s", err, w.ok, f.warn)
				}
				var hke *HostKeyError
				if err != nil && !errors.As(err, &hke) {
					t.Fatalf("error %v is not a *HostKeyError", err)
				}
				after := f.content(t)
				if !strings.HasPrefix(after, before) {
					t.Fatalf("known_hosts rewritten:\nbefore %q\nafter %q", before, after)
				}
				added := strings.Count(after[len(before):], "\n")
				if added != w.added {
					t.Errorf("added %d lines, want %d: %q", added, w.added, after[len(before):])
				}
				if !strings.Contains(f.warn.String(), w.say) {
					t.Errorf("warnings lack %q:\n%s", w.say, f.warn)
				}
				if mode == "ask" && tc.name == "unknown" && len(p.prompts) != 1 {
					t.Errorf("prompts = %q, want one", p.prompts)
				}
				if mode != "ask" && len(p.prompts) != 0 {
					t.Errorf("mode %s prompted: %q", mode, p.prompts)
				}
			})
		}
	}
}

func hashedLine(t *testing.T, name string, k ssh.PublicKey) string {
	t.Helper()
	f := &hostKeyPolicy{userFiles: []string{filepath.Join(t.TempDir(), "kh")}, hashNew: true}
	if err := f.add([]string{name}, k); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.userFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestAcceptNewHashes(t *testing.T) {
	t.Parallel()
	f := newHKFixture(t, "accept-new")
	f.host.v["hashknownhosts"] = []string{"yes"}
	if err := f.policy(t, nil).callback("", remote, f.server.PublicKey()); err != nil {
		t.Fatal(err)
	}
	got := f.content(t)
	if strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "|1|") || strings.Contains(got, "example.test") {
		t.Fatalf("known_hosts = %q, want one hashed line", got)
	}
	e, ok, err := parseKnownHostsLine([]byte(got))
	if err != nil || !ok || !matchHostField(e.Hosts, "[example.test]:2222") || !keysEqual(e.Key, f.server.PublicKey()) {
		t.Fatalf("written line does not match back: %v %v %+v", ok, err, e)
	}
	// A second connection finds it and writes nothing.
	if err := f.policy(t, nil).callback("", remote, f.server.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if again := f.content(t); again != got {
		t.Fatalf("second connect changed known_hosts: %q", again)
	}
}

func TestAskAnswers(t *testing.T) {
	t.Parallel()
	fp := ssh.FingerprintSHA256(testSigner(t, "server").PublicKey())
	cases := []struct {
		name    string
		answers []string
		ok      bool
		prompts int
		batch   bool
	}{
		{"yes", []string{"yes"}, true, 1, false},
		{"YES", []string{"YES"}, true, 1, false},
		{"fingerprint", []string{fp}, true, 1, false},
		{"no", []string{"no"}, false, 1, false},
		{"empty-is-no", []string{""}, false, 1, false},
		{"retry-then-yes", []string{"maybe", "yes"}, true, 2, false},
		{"batchmode-refuses", []string{"yes"}, false, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newHKFixture(t, "ask")
			if tc.batch {
				f.host.set("batchmode", "yes")
			}
			p := &scriptPrompter{answers: tc.answers}
			err := f.policy(t, p).callback("", remote, f.server.PublicKey())
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if len(p.prompts) != tc.prompts {
				t.Fatalf("prompts = %q, want %d", p.prompts, tc.prompts)
			}
			if tc.prompts > 0 {
				want := "The authenticity of host '[example.test]:2222 ([198.18.0.10]:2222)' can't be established.\n" +
					"ED25519 key fingerprint is " + fp + ".\n" +
					"This key is not known by any other names.\n" +
					"Are you sure you want to continue connecting (yes/no/[fingerprint])? "
				if p.prompts[0] != want {
					t.Errorf("prompt =\n%q\nwant\n%q", p.prompts[0], want)
				}
			}
			if tc.prompts > 1 && p.prompts[1] != "Please type 'yes', 'no' or the fingerprint: " {
				t.Errorf("second prompt = %q", p.prompts[1])
			}
			if !tc.ok && f.content(t) != "" {
				t.Errorf("refusal wrote known_hosts: %q", f.content(t))
			}
		})
	}
}

func TestChangedKeyBannerGolden(t *testing.T) {
	t.Parallel()
	f := newHKFixture(t, "yes", "# comment", "[example.test]:2222 "+authorizedLine(testSigner(t, "old").PublicKey()))
	err := f.policy(t, nil).callback("", remote, f.server.PublicKey())
	if err == nil {
		t.Fatal("changed key accepted")
	}
	got := strings.ReplaceAll(f.warn.String(), f.dir, "DIR")
	golden := filepath.Join("testdata", "changed-key.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("banner differs from %s:\n%s", golden, got)
	}
}

func TestHostKeyAliasAndOtherNames(t *testing.T) {
	t.Parallel()
	f := newHKFixture(t, "ask", "[example.test]:2222 "+authorizedLine(testSigner(t, "server").PublicKey()))
	f.host.set("hostkeyalias", "vm1")
	p := &scriptPrompter{answers: []string{"no"}}
	if err := f.policy(t, p).callback("", remote, f.server.PublicKey()); err == nil {
		t.Fatal("alias unknown but accepted")
	}
	want := "The authenticity of host 'vm1 ([198.18.0.10]:2222)' can't be established."
	if len(p.prompts) != 1 || !strings.HasPrefix(p.prompts[0], want) ||
		!strings.Contains(p.prompts[0], "This host key is known by the following other names/addresses:\n    "+f.kh+":1: [example.test]:2222\n") {
		t.Fatalf("prompt = %q", p.prompts)
	}
}

func TestCheckHostIP(t *testing.T) {
	t.Parallel()
	server := testSigner(t, "server").PublicKey()
	old := testSigner(t, "old").PublicKey()
	t.Run("adds-ip", func(t *testing.T) {
		t.Parallel()
		f := newHKFixture(t, "yes", "[example.test]:2222 "+authorizedLine(server))
		f.host.set("checkhostip", "yes")
		if err := f.policy(t, nil).callback("", remote, server); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(f.content(t), "[198.18.0.10]:2222 ssh-ed25519") {
			t.Errorf("IP not added: %q", f.content(t))
		}
		if !strings.Contains(f.warn.String(), "Warning: Permanently added the ED25519 host key for IP address '[198.18.0.10]:2222' to the list of known hosts.") {
			t.Errorf("warnings: %s", f.warn)
		}
	})
	t.Run("ip-differs-strict", func(t *testing.T) {
		t.Parallel()
		f := newHKFixture(t, "yes", "[example.test]:2222 "+authorizedLine(server), "[198.18.0.10]:2222 "+authorizedLine(old))
		f.host.set("checkhostip", "yes")
		if err := f.policy(t, nil).callback("", remote, server); err == nil {
			t.Fatal("accepted")
		}
		for _, s := range []string{"Warning: the ED25519 host key for '[example.test]:2222' differs from the key for the IP address '[198.18.0.10]:2222'",
			"Offending key for IP in " + f.kh + ":2", "Matching host key in " + f.kh + ":1", "Exiting, you have requested strict checking."} {
			if !strings.Contains(f.warn.String(), s) {
				t.Errorf("warnings lack %q:\n%s", s, f.warn)
			}
		}
	})
	t.Run("unknown-adds-host-and-ip", func(t *testing.T) {
		t.Parallel()
		f := newHKFixture(t, "accept-new")
		f.host.set("checkhostip", "yes")
		if err := f.policy(t, nil).callback("", remote, server); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(f.content(t), "[example.test]:2222,[198.18.0.10]:2222 ssh-ed25519 ") {
			t.Errorf("known_hosts = %q", f.content(t))
		}
	})
	t.Run("loopback-skips-ip", func(t *testing.T) {
		t.Parallel()
		f := newHKFixture(t, "yes", "[example.test]:2222 "+authorizedLine(server), "[127.0.0.1]:2222 "+authorizedLine(old))
		f.host.set("checkhostip", "yes")
		if err := f.policy(t, nil).callback("", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2222}, server); err != nil {
			t.Fatalf("loopback IP checked: %v\n%s", err, f.warn)
		}
	})
}

func TestQuietHidesBanner(t *testing.T) {
	t.Parallel()
	f := newHKFixture(t, "yes")
	s := settings{f.host}
	out := &output{w: f.warn, log: vlog.New(f.warn, vlog.Quiet)}
	pol, err := newHostKeyPolicy(s, Config{}, out, nil, false, new(atomic.Bool))
	if err != nil {
		t.Fatal(err)
	}
	if pol.callback("", remote, f.server.PublicKey()) == nil {
		t.Fatal("accepted")
	}
	if f.warn.String() != "" {
		t.Errorf("quiet printed %q", f.warn)
	}
}

func TestHostKeyAlgorithmOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rsaLine := "[example.test]:2222 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDYUHXBnWmRyFfFHk7Cfb1Z1Kjmj3B4Ie3a3uOrtK5QgKPgz4WuZEpCgRAkzEBFkGTcW1NZhBaC0EqrW4XtBxFGB9eZnRW7UYLfSctQXU8KkI41XkTT9Q1I0U8+8s7Bs+9D3T2v3ZTgEkzM1PWyq5VQWwR0V0Hkp0P9o1lXoYQ8Pw=="
	if err := os.WriteFile(filepath.Join(dir, "kh"), []byte(rsaLine+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, set string
		first     string
	}{
		{"default-ordered-by-known", "", "rsa-sha2-512"},
		{"explicit-kept", "ssh-ed25519,rsa-sha2-256", "ssh-ed25519"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newMapHost(dir, "hostname", "example.test", "port", "2222", "userknownhostsfile", filepath.Join(dir, "kh"), "globalknownhostsfile", "none")
			if tc.set != "" {
				h.set("hostkeyalgorithms", tc.set)
			}
			c, err := newClient(context.Background(), Config{}, h)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.Config.Algorithms.HostKeys; len(got) == 0 || got[0] != tc.first {
				t.Fatalf("HostKeyAlgorithms = %v, want %s first", got, tc.first)
			}
		})
	}
}

func TestAlgorithmsFiltered(t *testing.T) {
	t.Parallel()
	h := newMapHost(t.TempDir(), "kexalgorithms", "sntrup761x25519-sha512,curve25519-sha256", "ciphers", "aes128-ctr,bogus-cipher")
	c, err := newClient(context.Background(), Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// sntrup761 is not ours: the engine's hybrid takes its place.
	if got := strings.Join(c.Config.Algorithms.KeyExchanges, ","); got != mlkemKex+",curve25519-sha256" {
		t.Errorf("KeyExchanges = %v", got)
	}
	if got := c.Config.Algorithms.Ciphers; len(got) != 1 || got[0] != "aes128-ctr" {
		t.Errorf("Ciphers = %v, want the one supported", got)
	}
	h = newMapHost(t.TempDir(), "ciphers", "bogus-cipher")
	if _, err := newClient(context.Background(), Config{}, h); err == nil || !strings.Contains(err.Error(), "no supported algorithm in ciphers") {
		t.Errorf("err = %v, want no supported algorithm", err)
	}
}
