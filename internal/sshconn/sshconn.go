// Package sshconn turns a resolved [sshconf.Host] into what
// golang.org/x/crypto/ssh needs to connect to it: authentication methods
// (agent, identity files, certificates, password, keyboard-interactive) and
// host key verification (known_hosts, StrictHostKeyChecking), following
// OpenSSH 9.2's ssh(1) and ssh_config(5).
package sshconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/ssh/agent"

	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshwire"
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
	// the changed-host-key banner). Usually stderr. Lines are written only
	// when Log is nil or its level shows OpenSSH's error/info lines (so -q
	// hides them, as in ssh(1)).
	Warn io.Writer
	// Getenv reads SSH_AUTH_SOCK and friends.
	Getenv func(string) string
}

// HostKeyError reports a host key that was refused. The explanation
// (OpenSSH's banner or "No … host key is known …" line) has already been
// written to Config.Warn; the CLI prints "Host key verification failed."
// and exits 255.
type HostKeyError struct {
	Host string // the known_hosts name: HostKeyAlias or [host]:port
	Err  error
}

func (e *HostKeyError) Error() string { return "host key verification failed" }
func (e *HostKeyError) Unwrap() error { return e.Err }

// Client is one hop's client configuration with the state that lives
// beyond the handshake.
type Client struct {
	// Config is the handshake's configuration.
	Config *sshwire.ClientConfig

	agentConn    net.Conn
	agent        agent.ExtendedAgent
	log          *vlog.Logger
	policy       *hostKeyPolicy
	update       bool     // UpdateHostKeys yes
	hostKeyAlgs  []string // HostKeyAlgorithms, for the keys it learns
	auth         *authBuilder
	unsafe       *atomic.Bool
	forwardAgent string // ForwardAgent as configured
	getenv       func(string) string
}

// Close releases the agent connection, if any.
func (c *Client) Close() error {
	if c.agentConn != nil {
		return c.agentConn.Close()
	}
	return nil
}

// Method returns the authentication method last tried, which after a
// successful handshake is the one that authenticated ("publickey"…), for
// OpenSSH's `Authenticated to host ([addr]:port) using "publickey".`.
func (c *Client) Method() string {
	c.auth.mu.Lock()
	defer c.auth.mu.Unlock()
	return c.auth.method
}

// HostKeyUnsafe reports whether the handshake went on past a changed or
// revoked host key (StrictHostKeyChecking=no). As ssh(1) does, the caller
// must then refuse port, X11 and tunnel forwarding; password,
// keyboard-interactive and agent forwarding are already refused here.
func (c *Client) HostKeyUnsafe() bool { return c.unsafe.Load() }

// ClientConfig returns the client handshake configuration for cfg.Host:
// user, auth methods in PreferredAuthentications order, host key callback
// and algorithms (KexAlgorithms, Ciphers, MACs, HostKeyAlgorithms ordered by
// what known_hosts already holds). The returned Closer (a [*Client])
// releases the agent connection, if any; it is never nil when err is nil.
func ClientConfig(ctx context.Context, cfg Config) (*sshwire.ClientConfig, io.Closer, error) {
	c, err := NewClient(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return c.Config, c, nil
}

// NewClient is [ClientConfig] returning the [Client], for callers that want
// Method, HostKeyUnsafe or ForwardAgent.
func NewClient(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Host == nil {
		return nil, errors.New("ssh client config: no host")
	}
	return newClient(ctx, cfg, cfg.Host)
}

func newClient(ctx context.Context, cfg Config, h hostConfig) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	s := settings{h}
	out := &output{log: cfg.Log, w: cfg.Warn}
	unsafe := new(atomic.Bool)
	batch := s.flag("batchmode", false)
	prompter := cfg.Prompter
	if batch {
		prompter = nil
	}
	user := s.str("user", "")
	hostName := s.str("hostname", "")
	fwd := s.str("forwardagent", "no")

	policy, err := newHostKeyPolicy(s, cfg, out, prompter, batch, unsafe)
	if err != nil {
		return nil, err
	}
	policy.forwardAgent = !strings.EqualFold(fwd, "no") && !strings.EqualFold(fwd, "false")

	ab := &authBuilder{
		s: s, out: out, log: cfg.Log, prompter: prompter, batch: batch,
		identitiesOnly:  s.flag("identitiesonly", false),
		passwordPrompts: s.int("numberofpasswordprompts", 3),
		user:            user, host: hostName, unsafe: unsafe,
	}
	c := &Client{auth: ab, unsafe: unsafe, forwardAgent: fwd, getenv: getenv, log: cfg.Log}

	if s.flag("pubkeyauthentication", true) {
		sock, err := agentSocket(s, getenv)
		if err != nil {
			return nil, fmt.Errorf("identity agent: %w", err)
		}
		if sock != "" {
			ag, conn, err := dialAgent(sock)
			if err != nil {
				cfg.Log.Debugf("Error connecting to agent: %v", err)
			} else if keys, signers, err := agentSignersFrom(ag); err != nil {
				cfg.Log.Debugf("ssh_fetch_identitylist: %v", err)
				conn.Close()
			} else {
				cfg.Log.Debugf("get_agent_identities: agent returned %d keys", len(keys))
				ab.agentKeys, ab.agentSigners, c.agentConn, c.agent = keys, signers, conn, ag
			}
		}
	}
	c.policy = policy
	c.update = strings.EqualFold(s.str("updatehostkeys", "no"), "yes") || strings.EqualFold(s.str("updatehostkeys", "no"), "true")
	c.hostKeyAlgs = s.list("hostkeyalgorithms", defaultHostKeyAlgorithms)
	methods, names := ab.methods()

	algs, err := algorithms(s, policy, cfg.Log)
	if err != nil {
		c.Close()
		return nil, err
	}
	rekeyBytes, rekeyEvery := rekeyLimit(s)
	c.Config = &sshwire.ClientConfig{
		User:            user,
		Auth:            methods,
		AuthCallback:    ab.authCallback(methods, names),
		HostKeyCallback: policy.callback,
		Algorithms:      algs,
		RekeyLimit:      rekeyBytes,
		RekeyInterval:   rekeyEvery,
		Debugf:          engineTrace(cfg.Log),
		KexDone:         c.kexDone,
		BannerCallback: func(msg string) error {
			if cfg.Log == nil || cfg.Log.Enabled(vlog.Info) {
				if cfg.Warn != nil {
					io.WriteString(cfg.Warn, msg)
				}
			}
			return nil
		},
	}
	return c, nil
}

// newHostKeyPolicy reads the host key settings.
func newHostKeyPolicy(s settings, cfg Config, out *output, prompter Prompter, batch bool, unsafe *atomic.Bool) (*hostKeyPolicy, error) {
	userFiles, err := s.paths("userknownhostsfile", []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"})
	if err != nil {
		return nil, err
	}
	globalFiles, err := s.paths("globalknownhostsfile", []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"})
	if err != nil {
		return nil, err
	}
	strict := strings.ToLower(s.str("stricthostkeychecking", "ask"))
	switch strict {
	case "yes", "true":
		strict = "yes"
	case "no", "off", "false":
		strict = "no"
	case "ask", "accept-new":
	default:
		return nil, fmt.Errorf("unsupported StrictHostKeyChecking value %q", strict)
	}
	proxy := s.str("proxycommand", "none")
	jump := s.str("proxyjump", "none")
	command, err := newKnownHostsCommand(s)
	if err != nil {
		return nil, err
	}
	revoked := s.str("revokedhostkeys", "none")
	if strings.EqualFold(revoked, "none") {
		revoked = ""
	} else if revoked, err = s.h.Expand(revoked); err != nil {
		return nil, fmt.Errorf("RevokedHostKeys: %w", err)
	}
	return &hostKeyPolicy{
		command:         command,
		revokedFile:     revoked,
		hostName:        s.str("hostname", ""),
		port:            s.int("port", 22),
		alias:           s.str("hostkeyalias", ""),
		proxied:         !strings.EqualFold(proxy, "none") || !strings.EqualFold(jump, "none"),
		userFiles:       userFiles,
		globalFiles:     globalFiles,
		strict:          strict,
		checkHostIP:     s.flag("checkhostip", false),
		hashNew:         s.flag("hashknownhosts", false),
		batch:           batch,
		noAuthLocalhost: s.flag("nohostauthenticationforlocalhost", false),
		fpHash:          s.str("fingerprinthash", "sha256"),
		password:        s.flag("passwordauthentication", true),
		kbdInteractive:  s.flag("kbdinteractiveauthentication", true),
		prompter:        prompter,
		out:             out,
		unsafe:          unsafe,
	}, nil
}

// ForwardAgent arranges for agent requests on client to reach the local
// agent and asks for agent forwarding on session (-A, ForwardAgent yes,
// a socket path, or $VAR naming one). It does nothing for "no". Prefer
// [Client.ForwardAgent], which also refuses after an unsafe host key.
func ForwardAgent(client sshwire.Conn, session *sshwire.Session, cfg Config) error {
	if cfg.Host == nil {
		return errors.New("forward agent: no host")
	}
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return forwardAgent(client, session, settings{cfg.Host}, settings{cfg.Host}.str("forwardagent", "no"), getenv)
}

// ForwardAgent is the package ForwardAgent for this hop; after a changed
// host key was let through (StrictHostKeyChecking=no) it does nothing, as
// ssh(1) disables agent forwarding then.
func (c *Client) ForwardAgent(client sshwire.Conn, session *sshwire.Session) error {
	if c.unsafe.Load() {
		return nil
	}
	return forwardAgent(client, session, c.auth.s, c.forwardAgent, c.getenv)
}

func forwardAgent(client sshwire.Conn, session *sshwire.Session, s settings, v string, getenv func(string) string) error {
	var sock string
	switch {
	case strings.EqualFold(v, "no"), strings.EqualFold(v, "false"), v == "":
		return nil
	case strings.EqualFold(v, "yes"), strings.EqualFold(v, "true"):
		sock = getenv("SSH_AUTH_SOCK")
	case strings.HasPrefix(v, "$"):
		sock = expandEnv(v, getenv)
	default:
		p, err := s.h.Expand(v)
		if err != nil {
			return fmt.Errorf("forward agent: expand %q: %w", v, err)
		}
		sock = p
	}
	// No agent (SSH_AUTH_SOCK unset, or nothing listening) is no error,
	// as in ssh(1): forwarding is requested all the same, and each agent
	// connection the server opens is refused.
	chans := client.HandleChannelOpen(agentChannel)
	if chans == nil {
		return errors.New("forward agent: agent forwarding already set up")
	}
	var proof sshwire.HostProof
	if p, ok := client.(sshwire.HostProver); ok {
		proof = p.HostProof()
	}
	go serveAgentChannels(chans, sock, proof)
	if err := session.RequestAgentForwarding(); err != nil {
		return fmt.Errorf("forward agent: %w", err)
	}
	return nil
}

// agentChannel is the channel the server opens for each agent
// connection (OpenSSH PROTOCOL 2.1).
const agentChannel = "auth-agent@openssh.com"

// serveAgentChannels connects each agent channel to the agent at sock.
func serveAgentChannels(chans <-chan sshwire.NewChannel, sock string, proof sshwire.HostProof) {
	for nc := range chans {
		if sock == "" {
			nc.Reject(sshwire.ConnectionFailed, "no authentication agent")
			continue
		}
		agentConn, err := net.Dial("unix", sock)
		if err != nil {
			nc.Reject(sshwire.ConnectionFailed, err.Error())
			continue
		}
		if err := bindForwarded(agentConn, proof); err != nil {
			agentConn.Close()
			nc.Reject(sshwire.ConnectionFailed, err.Error())
			continue
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			agentConn.Close()
			continue
		}
		go sshwire.DiscardRequests(reqs)
		go func() {
			go func() {
				io.Copy(agentConn, ch)
				agentConn.(*net.UnixConn).CloseWrite()
			}()
			io.Copy(ch, agentConn)
			ch.CloseWrite()
			ch.Close()
			agentConn.Close()
		}()
	}
}
