package xssh

import (
	"errors"
	"slices"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// TestAuthFailure: x/crypto's refusal, known only by its words, becomes
// sshwire.AuthFailure with the methods it lists; other errors stay.
func TestAuthFailure(t *testing.T) {
	t.Parallel()
	refused := errors.New("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain")
	var af sshwire.AuthFailure
	if !errors.As(authFailure(refused), &af) || !slices.Equal(af.AttemptedMethods(), []string{"none", "publickey"}) {
		t.Fatalf("authFailure(%q) = %v", refused, authFailure(refused))
	}
	if !errors.Is(authFailure(refused), refused) {
		t.Error("the refusal no longer unwraps to x/crypto's error")
	}
	other := errors.New("ssh: handshake failed: EOF")
	if errors.As(authFailure(other), &af) {
		t.Errorf("authFailure(%q) is a refusal", other)
	}
}
