package authkeys

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// now is the tests' clock; certificates are valid an hour around it.
var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// certFor signs a user certificate for key's public key as ssh-keygen -s
// does by default (every permit-* extension), then lets edit change it
// before signing.
func certFor(t testing.TB, ca ssh.Signer, key ssh.PublicKey, edit func(*ssh.Certificate)) *ssh.Certificate {
	t.Helper()
	c := &ssh.Certificate{
		Key: key, Serial: 7, CertType: ssh.UserCert, KeyId: "test",
		ValidPrincipals: []string{"alice"},
		ValidAfter:      uint64(now.Add(-time.Hour).Unix()), ValidBefore: uint64(now.Add(time.Hour).Unix()),
		Permissions: ssh.Permissions{Extensions: map[string]string{
			"permit-pty": "", "permit-port-forwarding": "", "permit-agent-forwarding": "",
			"permit-X11-forwarding": "", "permit-user-rc": "",
		}},
	}
	if edit != nil {
		edit(c)
	}
	if len(c.ValidPrincipals) == 0 {
		// x/crypto refuses to sign these; ssh-keygen does (the lab test
		// checks one of its own), so sign the bytes PROTOCOL.certkeys says.
		c.Nonce, c.SignatureKey = make([]byte, 32), ca.PublicKey()
		rand.Read(c.Nonce)
		b := c.Marshal()
		sig, err := ca.Sign(rand.Reader, b[:len(b)-4])
		if err != nil {
			t.Fatal(err)
		}
		c.Signature = sig
		return c
	}
	if err := c.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return c
}

func line(t testing.TB, opts string, key ssh.PublicKey) Entry {
	t.Helper()
	l := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	if opts != "" {
		l = opts + " " + l
	}
	e, err := ParseLine(l)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAuthorize(t *testing.T) {
	ca, other, user := newSigner(t), newSigner(t), newSigner(t)
	cert := certFor(t, ca, user.PublicKey(), nil)
	addr := netip.MustParseAddr("192.0.2.7")
	tests := []struct {
		name  string
		lines []string // options of lines: "CA:" prefix lists ca's key, else user's
		key   ssh.PublicKey
		user  string
		line  int    // the line that lets in (1-based), 0 for none
		err   string // substring of a refusal reported
		perms *Perms // if set, the permissions granted
	}{
		{name: "plain key", lines: []string{""}, key: user.PublicKey(), line: 1},
		{name: "plain key on a cert-authority line", lines: []string{"cert-authority"}, key: user.PublicKey()},
		{name: "certificate on its key's plain line", lines: []string{""}, key: cert},
		{name: "certificate", lines: []string{"CA:cert-authority"}, key: cert, line: 1},
		{name: "CA line without cert-authority", lines: []string{"CA:"}, key: cert},
		{name: "another CA", lines: []string{"CA:cert-authority"}, key: certFor(t, other, user.PublicKey(), nil)},
		{name: "user not a principal", lines: []string{"CA:cert-authority"}, key: cert, user: "bob", err: "does not contain an authorized principal"},
		{name: "principals= replaces the user name", lines: []string{`CA:cert-authority,principals="ops,alice"`}, key: cert, user: "root", line: 1},
		{name: "principals= not in the certificate", lines: []string{`CA:cert-authority,principals="ops"`}, key: cert, user: "alice", err: "authorized principal"},
		{name: "no principals: any user", lines: []string{"CA:cert-authority"}, user: "bob", line: 1,
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.ValidPrincipals = nil })},
		{name: "no principals with principals=", lines: []string{`CA:cert-authority,principals="bob"`}, user: "bob", err: "principal",
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.ValidPrincipals = nil })},
		{name: "expired certificate", lines: []string{"CA:cert-authority"}, err: "expired",
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.ValidBefore = uint64(now.Unix()) })},
		{name: "certificate not yet valid", lines: []string{"CA:cert-authority"}, err: "not yet valid",
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.ValidAfter = uint64(now.Unix() + 1) })},
		{name: "host certificate", lines: []string{"CA:cert-authority"}, err: "not a user certificate",
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.CertType = ssh.HostCert })},
		{name: "expired line", lines: []string{`expiry-time="20260501115959Z"`}, key: user.PublicKey(), err: "expired"},
		{name: "line expiring this second", lines: []string{`expiry-time="20260501120000Z"`}, key: user.PublicKey(), line: 1},
		{name: "expired line, a later one lets in", lines: []string{`expiry-time="20200101Z"`, "no-pty"}, key: user.PublicKey(), line: 2, err: "expired",
			perms: &Perms{NoPTY: true}},
		{name: "expired CA line", lines: []string{`CA:cert-authority,expiry-time="20200101Z"`}, key: cert, err: "expired"},
		{name: "from= refuses", lines: []string{`from="10.0.0.0/8"`}, key: user.PublicKey(), err: "from="},
		{name: "from= on a CA line", lines: []string{`CA:cert-authority,from="192.0.2.0/24"`}, key: cert, line: 1},
		{name: "source-address allows", lines: []string{"CA:cert-authority"}, line: 1,
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) {
				c.CriticalOptions = map[string]string{"source-address": "10.0.0.1,192.0.2.0/24"}
			})},
		{name: "source-address refuses", lines: []string{"CA:cert-authority"}, err: "source-address does not allow",
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"source-address": "10.0.0.0/8"} })},
		{name: "malformed source-address", lines: []string{"CA:cert-authority"}, err: "source-address",
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"source-address": "192.0.2.7/8"} })},
		{name: "unknown critical option", lines: []string{"CA:cert-authority"}, err: `"no-such-option" is not supported`,
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"no-such-option": ""} })},
		{name: "verify-required refused", lines: []string{"CA:cert-authority"}, err: "verify-required",
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"verify-required": ""} })},
		{name: "force-command", lines: []string{`CA:cert-authority,no-agent-forwarding`}, line: 1,
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) {
				c.CriticalOptions = map[string]string{"force-command": "uptime"}
				delete(c.Extensions, "permit-pty")
			}),
			perms: &Perms{CertAuthority: true, NoPTY: true, NoAgentForwarding: true, Command: "uptime", HasCommand: true}},
		{name: "same forced command twice", lines: []string{`CA:cert-authority,command="uptime"`}, line: 1,
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"force-command": "uptime"} })},
		{name: "different forced commands", lines: []string{`CA:cert-authority,command="id"`}, err: "forced command options do not match",
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"force-command": "uptime"} })},
		{name: "no extensions: restricted", lines: []string{"CA:cert-authority,pty"}, line: 1,
			key:   certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.Extensions = nil }),
			perms: &Perms{CertAuthority: true, NoPTY: true, NoPortForwarding: true, NoAgentForwarding: true, NoX11Forwarding: true, NoUserRC: true}},
		{name: "forged signature", lines: []string{"CA:cert-authority"}, err: "signature",
			key: func() ssh.PublicKey {
				c := certFor(t, ca, user.PublicKey(), nil)
				c.ValidPrincipals = []string{"alice", "root"} // changed after signing
				return c
			}()},
		{name: "forged signature without principals", lines: []string{"CA:cert-authority"}, err: "signature",
			key: func() ssh.PublicKey {
				c := certFor(t, ca, user.PublicKey(), nil)
				c.ValidPrincipals = nil
				return c
			}()},
		{name: "SHA-1 CA signature", lines: []string{"CA:cert-authority"}, err: "CASignatureAlgorithms",
			key: func() ssh.PublicKey {
				c := certFor(t, ca, user.PublicKey(), nil)
				c.Signature.Format = ssh.KeyAlgoRSA
				return c
			}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var entries []Entry
			for i, opts := range tt.lines {
				k := user.PublicKey()
				if rest, ok := strings.CutPrefix(opts, "CA:"); ok {
					opts, k = rest, ca.PublicKey()
				}
				e := line(t, opts, k)
				e.Line = i + 1
				entries = append(entries, e)
			}
			u := tt.user
			if u == "" {
				u = "alice"
			}
			e, perms, refusals := Authorize(entries, Login{User: u, Key: tt.key, Addr: addr, Now: now})
			got := 0
			if e != nil {
				got = e.Line
			}
			if got != tt.line {
				t.Errorf("let in by line %d, want %d (refusals %v)", got, tt.line, refusals)
			}
			if tt.err != "" && !strings.Contains(errors.Join(refusals...).Error(), tt.err) {
				t.Errorf("refusals %v, want one containing %q", refusals, tt.err)
			}
			if tt.err == "" && len(refusals) > 0 {
				t.Errorf("unexpected refusals %v", refusals)
			}
			if tt.perms != nil && (perms == nil || !reflect.DeepEqual(*perms, *tt.perms)) {
				t.Errorf("perms = %+v, want %+v", perms, *tt.perms)
			}
		})
	}
}

func TestAuthorizeCert(t *testing.T) {
	ca, other, user := newSigner(t), newSigner(t), newSigner(t)
	cas := []ssh.PublicKey{other.PublicKey(), ca.PublicKey()}
	addr := netip.MustParseAddr("192.0.2.7")
	tests := []struct {
		name string
		key  ssh.PublicKey
		user string
		err  string
	}{
		{name: "listed CA", key: certFor(t, ca, user.PublicKey(), nil), user: "alice"},
		{name: "not a principal", key: certFor(t, ca, user.PublicKey(), nil), user: "root", err: "authorized principal"},
		{name: "no principals", user: "alice", err: "lacks principal list",
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.ValidPrincipals = nil })},
		{name: "CA not listed", key: certFor(t, newSigner(t), user.PublicKey(), nil), user: "alice", err: ErrUntrustedCA.Error()},
		{name: "plain key", key: user.PublicKey(), user: "alice", err: "not a certificate"},
		{name: "expired", user: "alice", err: "expired",
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.ValidBefore = uint64(now.Add(-time.Minute).Unix()) })},
		{name: "source-address", user: "alice", err: "source-address",
			key: certFor(t, ca, user.PublicKey(), func(c *ssh.Certificate) { c.CriticalOptions = map[string]string{"source-address": "::1"} })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			perms, err := AuthorizeCert(cas, Login{User: tt.user, Key: tt.key, Addr: addr, Now: now})
			if tt.err == "" {
				if err != nil || perms == nil {
					t.Fatalf("refused: %v", err)
				}
				if want := (Perms{}); !reflect.DeepEqual(*perms, want) {
					t.Errorf("perms = %+v, want every permission", *perms)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestParseExpiry(t *testing.T) {
	east := time.FixedZone("UTC+2", 2*3600)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "20300102", want: time.Date(2030, 1, 2, 0, 0, 0, 0, east)},
		{in: "203001021530", want: time.Date(2030, 1, 2, 15, 30, 0, 0, east)},
		{in: "20300102153045", want: time.Date(2030, 1, 2, 15, 30, 45, 0, east)},
		{in: "20300102Z", want: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)},
		{in: "20300102153045z", want: time.Date(2030, 1, 2, 15, 30, 45, 0, time.UTC)},
		{in: "203001021530UTC", want: time.Date(2030, 1, 2, 15, 30, 0, 0, time.UTC)},
		{in: "203001021530utc", want: time.Date(2030, 1, 2, 15, 30, 0, 0, time.UTC)},
		{in: "2030010", err: true},
		{in: "2030-1-02", err: true},
		{in: "+2030102", err: true},
		{in: "20300230", err: true},
		{in: "19600101Z", err: true},
		{in: "Z", err: true},
		{in: "", err: true},
	}
	for _, tt := range tests {
		got, err := ParseExpiry(tt.in, east)
		if tt.err {
			if err == nil {
				t.Errorf("ParseExpiry(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseCAKeys(t *testing.T) {
	ca := newSigner(t)
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ca.PublicKey())))
	data := "# CAs\n\n" + key + " ca@lab\nno-pty " + key + "\nssh-ed25519 AAAA\n"
	keys, errs := ParseCAKeys([]byte(data))
	if len(keys) != 1 || string(keys[0].Marshal()) != string(ca.PublicKey().Marshal()) {
		t.Errorf("keys = %v, want the CA's", keys)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "line 5") && !strings.Contains(errs[1].Error(), "line 4: options are not allowed") {
		t.Errorf("errs = %v, want lines 4 (options) and 5 (bad key)", errs)
	}
}

func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"20300102", "203001021530Z", "20300102153045UTC", "99991231235959", "0000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseExpiry(s, time.UTC)
		if err != nil {
			return
		}
		// An accepted time prints back to the same instant.
		again, err := ParseExpiry(got.Format("20060102150405")+"Z", time.Local)
		if err != nil || !again.Equal(got) {
			t.Fatalf("ParseExpiry(%q) = %v, but its print reads back as %v, %v", s, got, again, err)
		}
	})
}

func FuzzCAKeys(f *testing.F) {
	f.Add([]byte("# CA\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMCfJp37AO37Tu2A6T2OXVK6zKy8hKuY6xcVYYW+K2ab ca\n"))
	f.Add([]byte("no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMCfJp37AO37Tu2A6T2OXVK6zKy8hKuY6xcVYYW+K2ab\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, _ := ParseCAKeys(data)
		for _, k := range keys {
			if _, isCert := k.(*ssh.Certificate); isCert {
				t.Fatalf("a certificate was taken as a CA key")
			}
		}
	})
}

// FuzzSourceAddress checks a certificate's source-address list: whatever
// CertPerms accepts, AllowsFrom answers without panicking, and an address
// it accepts lets in a client at that very address.
func FuzzSourceAddress(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "10.0.0.0/8,::1", "192.0.2.7/8", "fe80::/10", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		c := &ssh.Certificate{Permissions: ssh.Permissions{CriticalOptions: map[string]string{"source-address": list}}}
		p, err := CertPerms(c)
		if err != nil {
			return
		}
		for _, e := range p.SourceAddress {
			pfx, err := parseAddrOrPrefix(e)
			if err != nil {
				t.Fatalf("accepted entry %q does not parse: %v", e, err)
			}
			if !p.AllowsFrom(pfx.Addr(), "") {
				t.Fatalf("list %q refuses its own address %s", list, pfx.Addr())
			}
		}
	})
}
