package sshconn

// Authentication methods in PreferredAuthentications order: publickey
// (agent and identity files), keyboard-interactive and password through the
// Prompter. gssapi-with-mic and hostbased are skipped.

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

const defaultPreferredAuth = "gssapi-with-mic,publickey,keyboard-interactive,password"

type authBuilder struct {
	s               settings
	out             *output
	log             *vlog.Logger
	prompter        Prompter
	batch           bool
	identitiesOnly  bool
	passwordPrompts int
	user, host      string
	unsafe          *atomic.Bool

	agentKeys    []*agent.Key
	agentSigners []ssh.Signer

	mu     sync.Mutex
	method string // the method being tried, for "Authenticated … using"
}

// agentSocket resolves IdentityAgent (or SSH_AUTH_SOCK) to a socket path;
// "" means no agent.
func agentSocket(s settings, getenv func(string) string) (string, error) {
	v := s.str("identityagent", "")
	switch {
	case strings.EqualFold(v, "none"):
		return "", nil
	case v == "" || v == "SSH_AUTH_SOCK":
		return getenv("SSH_AUTH_SOCK"), nil
	case strings.HasPrefix(v, "$"):
		name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(v, "$"), "{"), "}")
		return getenv(name), nil
	}
	return s.h.Expand(v)
}

// dialAgent connects to the agent at path.
func dialAgent(path string) (agent.ExtendedAgent, net.Conn, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to agent %s: %w", path, err)
	}
	return agent.NewClient(c), c, nil
}

// methods builds the ssh.AuthMethods, in PreferredAuthentications order,
// and their protocol names.
func (a *authBuilder) methods() ([]sshwire.AuthMethod, []string) {
	s := a.s
	var out []sshwire.AuthMethod
	var names []string
	for _, m := range s.list("preferredauthentications", defaultPreferredAuth) {
		switch m {
		case "publickey":
			if s.flag("pubkeyauthentication", true) {
				out = append(out, sshwire.PublicKeys{Signers: a.publicKeys})
				names = append(names, m)
			}
		case "keyboard-interactive":
			if s.flag("kbdinteractiveauthentication", true) && !a.batch && a.prompter != nil && a.passwordPrompts > 0 {
				out = append(out, sshwire.Retry{Method: sshwire.KeyboardInteractive{Challenge: a.kbdInteractive()}, Max: a.passwordPrompts})
				names = append(names, m)
			}
		case "password":
			if s.flag("passwordauthentication", true) && !a.batch && a.prompter != nil && a.passwordPrompts > 0 {
				out = append(out, sshwire.Retry{Method: sshwire.Password{Password: a.password()}, Max: a.passwordPrompts})
				names = append(names, m)
			}
		default:
			a.log.Debug2f("authentication method %s not supported, skipped", m)
		}
	}
	return out, names
}

// publicKeys lists the signers publickey auth offers.
func (a *authBuilder) publicKeys() ([]ssh.Signer, error) {
	accepted := a.s.list("pubkeyacceptedalgorithms", "")
	var out []ssh.Signer
	for _, id := range a.identities() {
		if id.pub == nil {
			// An encrypted PEM key without a .pub: its public half is
			// only known once decrypted, so ask now ("Trying private key").
			if a.batch || a.prompter == nil {
				continue
			}
			a.log.Debugf("Trying private key: %s", id.file)
			s, err := a.loadPrivate(id)
			if err != nil {
				a.log.Debugf("%v", err)
				continue
			}
			id.pub = s.PublicKey()
			id.signer = s
		}
		var signer ssh.Signer
		if id.signer != nil {
			signer = id.signer
		} else {
			if id.privFile == "" {
				a.log.Debugf("Skipping %s: no private key and not in the agent", id.describe())
				continue
			}
			if a.batch || a.prompter == nil {
				a.log.Debugf("Skipping encrypted key %s: no prompts allowed", id.describe())
				continue
			}
			signer = &lazySigner{a: a, id: id, algos: signatureAlgorithms(algorithmsForKey(id.pub))}
		}
		if len(accepted) > 0 {
			algos := slices.DeleteFunc(algorithmsForKey(id.pub), func(al string) bool { return !slices.Contains(accepted, al) })
			if len(algos) == 0 {
				a.log.Debugf("Skipping %s key %s - corresponding algo not in PubkeyAcceptedAlgorithms", keyTypeName(id.pub), id.file)
				continue
			}
			as, ok := signer.(ssh.AlgorithmSigner)
			if !ok {
				continue
			}
			ms, err := ssh.NewSignerWithAlgorithms(as, signatureAlgorithms(algos))
			if err != nil {
				a.log.Debugf("Skipping %s: %v", id.describe(), err)
				continue
			}
			signer = ms
		}
		a.log.Debugf("Will attempt key: %s", id.describe())
		out = append(out, signer)
	}
	return out, nil
}

// algorithmsForKey lists the signature algorithms a key can use.
func algorithmsForKey(pk ssh.PublicKey) []string {
	switch pk.Type() {
	case ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	case ssh.CertAlgoRSAv01:
		return []string{ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01}
	}
	return []string{pk.Type()}
}

// signatureAlgorithms names the signatures of algos: a certificate's
// algorithm (ssh-ed25519-cert-v01@openssh.com) signs as its key does
// (ssh-ed25519), which is what x/crypto's signers list.
func signatureAlgorithms(algos []string) []string {
	out := make([]string, len(algos))
	for i, al := range algos {
		if base, ok := strings.CutSuffix(al, "-cert-v01@openssh.com"); ok {
			if strings.HasPrefix(base, "sk-") {
				base += "@openssh.com"
			}
			al = base
		}
		out[i] = al
	}
	return out
}

func (a *authBuilder) password() func() (string, error) {
	tries := 0
	return func() (string, error) {
		if a.unsafe.Load() {
			return "", fmt.Errorf("password authentication is disabled to avoid man-in-the-middle attacks")
		}
		if tries > 0 {
			a.out.errorf("Permission denied, please try again.")
		}
		tries++
		return a.prompter.Prompt(fmt.Sprintf("%s@%s's password: ", a.user, a.host), false)
	}
}

func (a *authBuilder) kbdInteractive() sshwire.KeyboardInteractiveChallenge {
	return func(name, instruction string, questions []string, echos []bool) ([]string, error) {
		if a.unsafe.Load() {
			return nil, fmt.Errorf("keyboard-interactive authentication is disabled to avoid man-in-the-middle attacks")
		}
		if name != "" {
			a.out.infof("%s", name)
		}
		if instruction != "" {
			a.out.infof("%s", instruction)
		}
		answers := make([]string, len(questions))
		for i, q := range questions {
			ans, err := a.prompter.Prompt(q, i < len(echos) && echos[i])
			if err != nil {
				return nil, err
			}
			answers[i] = ans
		}
		return answers, nil
	}
}

// authCallback picks the next method as x/crypto would (first untried one
// the server allows) and remembers it, so the caller can say which method
// authenticated.
func (a *authBuilder) authCallback(methods []sshwire.AuthMethod, names []string) func(sshwire.AuthContext) (sshwire.AuthMethod, error) {
	return func(ctx sshwire.AuthContext) (sshwire.AuthMethod, error) {
		a.log.Debugf("Authentications that can continue: %s", strings.Join(ctx.Allowed, ","))
		for i, m := range methods {
			if slices.Contains(ctx.Tried, names[i]) || !slices.Contains(ctx.Allowed, names[i]) {
				continue
			}
			a.log.Debugf("Next authentication method: %s", names[i])
			a.mu.Lock()
			a.method = names[i]
			a.mu.Unlock()
			return m, nil
		}
		return nil, nil
	}
}

// expandEnv is used for ForwardAgent $VAR values.
func expandEnv(v string, getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	return getenv(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(v, "$"), "{"), "}"))
}
