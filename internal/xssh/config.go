package xssh

import (
	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

func clientConfig(c *sshwire.ClientConfig) *ssh.ClientConfig {
	cfg := &ssh.ClientConfig{
		User:              c.User,
		HostKeyCallback:   c.HostKeyCallback,
		ClientVersion:     c.ClientVersion,
		HostKeyAlgorithms: c.Algorithms.HostKeys,
		Config: ssh.Config{
			KeyExchanges: c.Algorithms.KeyExchanges,
			Ciphers:      c.Algorithms.Ciphers,
			MACs:         c.Algorithms.MACs,
			// x/crypto rekeys by volume only.
			RekeyThreshold: c.RekeyLimit,
		},
	}
	if c.BannerCallback != nil {
		cfg.BannerCallback = ssh.BannerCallback(c.BannerCallback)
	}
	for _, m := range c.Auth {
		if am := authMethod(m); am != nil {
			cfg.Auth = append(cfg.Auth, am)
		}
	}
	if c.AuthCallback != nil {
		cfg.AuthCallback = func(ac *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
			m, err := c.AuthCallback(sshwire.AuthContext{Allowed: ac.AllowedMethods, Tried: ac.TriedMethods})
			if err != nil || m == nil {
				return nil, err
			}
			return authMethod(m), nil
		}
	}
	return cfg
}

// authMethod is x/crypto's method for ours; nil for "none", which
// x/crypto always tries first.
func authMethod(m sshwire.AuthMethod) ssh.AuthMethod {
	switch m := m.(type) {
	case sshwire.PublicKeys:
		return ssh.PublicKeysCallback(m.Signers)
	case sshwire.Password:
		return ssh.PasswordCallback(m.Password)
	case sshwire.KeyboardInteractive:
		return ssh.KeyboardInteractive(ssh.KeyboardInteractiveChallenge(m.Challenge))
	case sshwire.Retry:
		inner := authMethod(m.Method)
		if inner == nil {
			return nil
		}
		return ssh.RetryableAuthMethod(inner, m.Max)
	}
	return nil
}

// permsKey holds our Permissions in x/crypto's.
type permsKey struct{}

func serverConfig(c *sshwire.ServerConfig) *ssh.ServerConfig {
	perms := func(p *sshwire.Permissions, err error) (*ssh.Permissions, error) {
		if err != nil {
			return nil, err
		}
		if p == nil {
			p = &sshwire.Permissions{}
		}
		return &ssh.Permissions{Extensions: p.Extensions, ExtraData: map[any]any{permsKey{}: p}}, nil
	}
	cfg := &ssh.ServerConfig{
		MaxAuthTries:  c.MaxAuthTries,
		ServerVersion: c.ServerVersion,
		Config: ssh.Config{
			KeyExchanges: c.Algorithms.KeyExchanges,
			Ciphers:      c.Algorithms.Ciphers,
			MACs:         c.Algorithms.MACs,
		},
	}
	if f := c.PublicKeyCallback; f != nil {
		cfg.PublicKeyCallback = func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			return perms(f(meta, key))
		}
	}
	if f := c.PasswordCallback; f != nil {
		cfg.PasswordCallback = func(meta ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			return perms(f(meta, pw))
		}
	}
	if f := c.KeyboardInteractiveCallback; f != nil {
		cfg.KeyboardInteractiveCallback = func(meta ssh.ConnMetadata, ch ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			return perms(f(meta, sshwire.KeyboardInteractiveChallenge(ch)))
		}
	}
	if f := c.AuthLogCallback; f != nil {
		cfg.AuthLogCallback = func(meta ssh.ConnMetadata, method string, err error) { f(meta, method, err) }
	}
	if f := c.BannerCallback; f != nil {
		cfg.BannerCallback = func(meta ssh.ConnMetadata) string { return f(meta) }
	}
	for _, k := range c.HostKeys {
		cfg.AddHostKey(k)
	}
	return cfg
}
