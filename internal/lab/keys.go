package lab

// The lab's credentials and client configuration: a host key per host, one
// client key that every server accepts for root, a known_hosts file with
// every host key (by name and by address) and an ssh_config with ProxyJump
// chains, usable by OpenSSH and jumpgate alike.

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// writeKey generates an ed25519 key pair and writes it in OpenSSH format to
// path and path.pub.
func writeKey(path, comment string) (ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key %s: %w", path, err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, fmt.Errorf("encode key %s: %w", path, err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, fmt.Errorf("write key: %w", err)
	}
	spub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode key %s: %w", path, err)
	}
	line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(spub)), "\n") + " " + comment + "\n"
	if err := os.WriteFile(path+".pub", []byte(line), 0o644); err != nil {
		return nil, fmt.Errorf("write key: %w", err)
	}
	return spub, nil
}

// hostDir is where host's key, home and server files live.
func (l *Lab) hostDir(host string) string { return filepath.Join(l.dir, "hosts", host) }

func (l *Lab) hostKey(host string) string {
	return filepath.Join(l.hostDir(host), "ssh_host_ed25519_key")
}

func (l *Lab) authorizedKeys() string { return filepath.Join(l.dir, "authorized_keys") }

// writeCredentials makes the keys and the files that name them.
func (l *Lab) writeCredentials() error {
	for _, d := range []string{"hosts", "logs"} {
		if err := os.Mkdir(filepath.Join(l.dir, d), 0o700); err != nil {
			return fmt.Errorf("create state: %w", err)
		}
	}
	client, err := writeKey(l.IdentityFile(), "jumpgate-lab-"+l.m.Name)
	if err != nil {
		return err
	}
	ak := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(client)), "\n") + " jumpgate-lab-" + l.m.Name + "\n"
	if err := os.WriteFile(l.authorizedKeys(), []byte(ak), 0o600); err != nil {
		return fmt.Errorf("write authorized_keys: %w", err)
	}
	var kh strings.Builder
	for _, h := range topology() {
		if !h.server {
			continue
		}
		// home is bind-mounted over /root in the server's mount namespace:
		// empty, so the machine's own dotfiles never run in the lab.
		if err := os.MkdirAll(filepath.Join(l.hostDir(h.name), "home"), 0o700); err != nil {
			return fmt.Errorf("create state: %w", err)
		}
		pub, err := writeKey(l.hostKey(h.name), "root@"+h.name)
		if err != nil {
			return err
		}
		fmt.Fprintf(&kh, "%s,%s %s", h.name, h.addr, ssh.MarshalAuthorizedKey(pub))
	}
	if err := os.WriteFile(l.KnownHosts(), []byte(kh.String()), 0o600); err != nil {
		return fmt.Errorf("write known_hosts: %w", err)
	}
	if err := os.WriteFile(l.SSHConfig(), []byte(l.sshConfig()), 0o600); err != nil {
		return fmt.Errorf("write ssh_config: %w", err)
	}
	return nil
}

// jumps says which hops lead to a host from the laptop.
func jumps(host string) string {
	switch host {
	case "hyper2":
		return "hyper1"
	case "vm1", "vm2":
		return "hyper1,hyper2"
	}
	return ""
}

// sshConfig renders the client configuration. Every Host block repeats
// its options rather than relying on `Host *`, so that each entry reads
// on its own.
func (l *Lab) sshConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# ssh_config for jumpgate lab %q, for use inside its laptop:\n", l.m.Name)
	fmt.Fprintf(&b, "#   jumpgate lab exec laptop -- ssh -F %s vm1 hostname\n", l.SSHConfig())
	for _, h := range topology() {
		if !h.server {
			continue
		}
		fmt.Fprintf(&b, "\nHost %s\n", h.name)
		if h.name == "lan1" {
			b.WriteString("  # reachable only at layer 2, on hyper1's bridge \"wire\" (join it with a layer-2 VPN)\n")
		}
		fmt.Fprintf(&b, "  HostName %s\n", h.addr)
		b.WriteString("  User root\n")
		fmt.Fprintf(&b, "  IdentityFile %s\n", l.IdentityFile())
		b.WriteString("  IdentitiesOnly yes\n")
		fmt.Fprintf(&b, "  UserKnownHostsFile %s\n", l.KnownHosts())
		b.WriteString("  StrictHostKeyChecking yes\n")
		if j := jumps(h.name); j != "" {
			fmt.Fprintf(&b, "  ProxyJump %s\n", j)
		}
	}
	if g := l.m.Guest; g != nil {
		// HOST/DOMAIN: libvirt on the hypervisor names the address.
		fmt.Fprintf(&b, "\nHost %s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n", g.Target(), l.IdentityFile())
		fmt.Fprintf(&b, "  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n", l.KnownHosts())
	}
	return b.String()
}

// sshdConfig renders the OpenSSH server configuration for host.
func (l *Lab) sshdConfig(host string, strictModes bool) string {
	strict := "yes"
	if !strictModes {
		strict = "no"
	}
	lines := []string{
		"# sshd_config for host " + host + " of jumpgate lab " + l.m.Name,
		"Port 22",
		"ListenAddress 0.0.0.0",
		"HostKey " + l.hostKey(host),
		"PidFile " + filepath.Join(l.hostDir(host), "server.pid"),
		"AuthorizedKeysFile " + l.authorizedKeys(),
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes " + strict,
		"AcceptEnv LANG LC_*",
		"Subsystem sftp /usr/lib/openssh/sftp-server",
		"PermitTunnel yes",
		"AllowTcpForwarding yes",
		"AllowStreamLocalForwarding yes",
		"X11Forwarding yes",
		"PrintMotd no",
		"PrintLastLog no",
		"UseDNS no",
		"MaxStartups 100:30:200",
		"MaxSessions 100",
		"LogLevel INFO",
	}
	return strings.Join(lines, "\n") + "\n"
}

// insecureAncestor returns the first directory above (and including) dir
// that is group- or world-writable, which sshd's StrictModes refuses.
func insecureAncestor(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o022 != 0 {
			return d
		}
		if d == filepath.Dir(d) {
			return ""
		}
	}
}
