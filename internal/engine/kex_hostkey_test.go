package engine

import (
	"slices"
	"testing"
)

// TestServerHostKeyAlgs: an RSA key signs with SHA-1 (ssh-rsa) only when
// the configuration names it, as sshd's HostKeyAlgorithms +ssh-rsa; it
// was never offered, so old clients could not connect at all.
func TestServerHostKeyAlgs(t *testing.T) {
	t.Parallel()
	keys := newTestHostKeys(t).all()
	if got := serverHostKeyAlgs(keys, nil); slices.Contains(got, "ssh-rsa") || !slices.Contains(got, "rsa-sha2-512") {
		t.Errorf("default offer %q", got)
	}
	want := []string{"ssh-rsa", "ssh-ed25519", "ssh-dss"}
	if got := serverHostKeyAlgs(keys, want); !slices.Equal(got, want[:2]) {
		t.Errorf("offer for %q: %q", want, got)
	}
}
