// Package sshconn turns a resolved [sshconf.Host] into what
// golang.org/x/crypto/ssh needs to connect to it: authentication methods
// (agent, identity files, certificates, password, keyboard-interactive) and
// host key verification (known_hosts, StrictHostKeyChecking).
package sshconn

// API CONTRACT (stub written by the lead; the sshconn owner fills it in and
// may add to it, but must keep these names and meanings):
//
//	ClientConfig(ctx, Config) (*ssh.ClientConfig, io.Closer, error)
//	*HostKeyError                refused host key (changed, revoked, unknown under yes)
//	ForwardAgent(client, session, Config) error   -A / ForwardAgent

import (
	"context"
	"errors"
	"io"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// Prompter asks the user something on the terminal (/dev/tty), as ssh(1)
// does for passphrases, passwords and unknown host keys.
type Prompter interface {
	// Prompt shows prompt and reads one line; echo=false hides the input.
	Prompt(prompt string, echo bool) (string, error)
}

// Config is what building a client configuration for one hop needs.
type Config struct {
	Host     *sshconf.Host
	Prompter Prompter // nil: no prompts possible (as BatchMode)
	Log      *vlog.Logger
	// Warn receives user-facing warnings ("Warning: Permanently added …",
	// the changed-host-key banner). Usually stderr.
	Warn io.Writer
	// Getenv reads SSH_AUTH_SOCK and friends.
	Getenv func(string) string
}

// HostKeyError reports a host key that was refused. Its message is
// OpenSSH's; callers exit 255.
type HostKeyError struct {
	Host string
	Err  error
}

func (e *HostKeyError) Error() string { return "host key verification failed" }
func (e *HostKeyError) Unwrap() error { return e.Err }

var errUnimplemented = errors.New("sshconn: not implemented yet")

// ClientConfig returns the x/crypto/ssh client configuration for cfg.Host:
// user, auth methods in PreferredAuthentications order, host key callback
// and algorithms (KexAlgorithms, Ciphers, MACs, HostKeyAlgorithms ordered by
// what known_hosts already holds). The returned Closer releases the agent
// connection, if any; it is never nil when err is nil.
func ClientConfig(ctx context.Context, cfg Config) (*ssh.ClientConfig, io.Closer, error) {
	return nil, nil, errUnimplemented
}

// ForwardAgent arranges for agent requests on client to reach the local
// agent and asks for agent forwarding on session (-A, ForwardAgent).
func ForwardAgent(client *ssh.Client, session *ssh.Session, cfg Config) error {
	return errUnimplemented
}
