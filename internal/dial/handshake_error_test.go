package dial

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

type fakeRefusal struct{ tried []string }

func (f fakeRefusal) Error() string              { return "refused" }
func (f fakeRefusal) AttemptedMethods() []string { return f.tried }

var _ sshwire.AuthFailure = fakeRefusal{}

// TestHandshakeErrorMethods: "Permission denied (…)" lists the methods an
// engine's refusal names, without "none"; other failures are no refusal.
func TestHandshakeErrorMethods(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		err        error
		wantFailed bool
		want       string
	}{
		{"our engine", &engine.AuthError{Tried: []string{"none", "publickey", "password"}}, true, "publickey,password"},
		{"wrapped", fmt.Errorf("hop: %w", fakeRefusal{[]string{"none", "keyboard-interactive"}}), true, "keyboard-interactive"},
		{"only none", fakeRefusal{[]string{"none"}}, true, "publickey"},
		{"no refusal", errors.New("ssh: handshake failed: EOF"), false, "publickey"},
	} {
		e := &HandshakeError{Method: "publickey", Err: tc.err}
		if got := e.AuthFailed(); got != tc.wantFailed {
			t.Errorf("%s: AuthFailed() = %v, want %v", tc.name, got, tc.wantFailed)
		}
		if got := e.Methods(); got != tc.want {
			t.Errorf("%s: Methods() = %q, want %q", tc.name, got, tc.want)
		}
	}
}
