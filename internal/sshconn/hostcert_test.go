package sshconn

import (
	"crypto/rand"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// TestCheckHostCert: a host certificate naming no principals is valid for
// any host, as in ssh(1), but its signature, dates and critical options
// are still checked.
func TestCheckHostCert(t *testing.T) {
	t.Parallel()
	ca, other := testSigner(t, "host-ca"), testSigner(t, "other-ca")
	host := testSigner(t, "host").PublicKey()
	sign := func(principals []string, after, before uint64, crit map[string]string, by ssh.Signer) *ssh.Certificate {
		c := &ssh.Certificate{Key: host, CertType: ssh.HostCert, ValidPrincipals: principals, ValidAfter: after, ValidBefore: before,
			Permissions: ssh.Permissions{CriticalOptions: crit}}
		// x/crypto signs no certificate without principals: sign what
		// PROTOCOL.certkeys says is signed, by hand.
		c.Nonce = make([]byte, 32)
		c.SignatureKey = by.PublicKey()
		c.Signature = &ssh.Signature{}
		all, stub := c.Marshal(), ssh.Marshal(c.Signature)
		sig, err := by.Sign(rand.Reader, all[:len(all)-4-len(stub)])
		if err != nil {
			t.Fatal(err)
		}
		c.Signature = sig
		return c
	}
	now := uint64(time.Now().Unix())
	forged := sign(nil, 0, ssh.CertTimeInfinity, nil, other)
	forged.SignatureKey = ca.PublicKey() // claims the CA, signed by another key
	for _, tc := range []struct {
		name string
		cert *ssh.Certificate
		ok   bool
	}{
		{"listed principal", sign([]string{"example.test"}, 0, ssh.CertTimeInfinity, nil, ca), true},
		{"other principal", sign([]string{"other.test"}, 0, ssh.CertTimeInfinity, nil, ca), false},
		{"no principals", sign(nil, 0, ssh.CertTimeInfinity, nil, ca), true},
		{"no principals, expired", sign(nil, 0, now-10, nil, ca), false},
		{"no principals, not yet valid", sign(nil, now+3600, ssh.CertTimeInfinity, nil, ca), false},
		{"no principals, critical option", sign(nil, 0, ssh.CertTimeInfinity, map[string]string{"force-command": "false"}, ca), false},
		{"no principals, bad signature", forged, false},
	} {
		err := checkHostCert(&ssh.CertChecker{}, "example.test", tc.cert)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
