package client

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/sshconf"
)

// muxIdentityKeys are the settings that name jumpgate's default
// ControlPath (a ControlPath the user gives keeps OpenSSH's semantics:
// %C and the rest, whatever else the command line says). A master is
// shared only by command lines that would have made the same connection
// themselves: the same account on the same server reached the same way
// (User, HostName, Port, the jump chain or ProxyCommand, the local
// address), authenticated with the same credentials (keys, certificates,
// agent, the methods allowed), trusting the same host keys (known_hosts
// files, strictness, algorithms, alias), and offering the same services
// (ForwardAgent: a master forwards the agent it started with). Anything
// else (ciphers, keepalives, forwards, the session itself) is the
// client's own or harmless to share. X11 sessions never go through a
// master, so ForwardX11 is not part of it.
var muxIdentityKeys = []string{
	"user", "hostname", "port", "proxyjump", "proxycommand",
	"bindaddress", "bindinterface", "addressfamily",
	"identityfile", "certificatefile", "identitiesonly", "identityagent",
	"pkcs11provider", "securitykeyprovider", "preferredauthentications",
	"pubkeyauthentication", "passwordauthentication", "kbdinteractiveauthentication",
	"hostbasedauthentication", "pubkeyacceptedalgorithms",
	"userknownhostsfile", "globalknownhostsfile", "stricthostkeychecking",
	"hostkeyalgorithms", "hostkeyalias", "knownhostscommand", "checkhostip",
	"verifyhostkeydns", "forwardagent",
}

// maxIdentityDepth bounds the jump chain followed into a path's name (a
// ProxyJump loop is dial's to report).
const maxIdentityDepth = 10

// defaultControlPath is jumpgate's ControlPath for h when the config
// names none: a hash, under dir, of everything in muxIdentityKeys for h
// and for every host of its jump chain (each resolved as dial resolves
// it, so a hop's own IdentityFile or known_hosts counts), the agent
// socket, the local host name and the network namespace (a master reaches
// its host from the namespace it runs in, and two namespaces, two labs or
// a VPN's netns, can hold the same addresses for different machines).
func (r *Client) defaultControlPath(dir string, h *sshconf.Host) string {
	netns, _ := os.Readlink("/proc/self/ns/net")
	var b strings.Builder
	b.WriteString("jumpgate-mux-1\x00" + r.base.LocalHost + "\x00" + netns + "\x00" + r.e.Getenv("SSH_AUTH_SOCK") + "\x00")
	r.writeIdentity(&b, h, 0)
	sum := sha256.Sum256([]byte(b.String()))
	return filepath.Join(dir, hex.EncodeToString(sum[:12]))
}

func (r *Client) writeIdentity(b *strings.Builder, h *sshconf.Host, depth int) {
	for _, k := range muxIdentityKeys {
		b.WriteString(k + "=" + strings.Join(h.GetAll(k), "\x01") + "\x00")
	}
	pj := h.Get("proxyjump")
	if pj == "" || strings.EqualFold(pj, "none") || depth >= maxIdentityDepth {
		return
	}
	hops, err := dial.ParseJumpList(pj)
	if err != nil || len(hops) == 0 {
		return
	}
	hop, err := r.resolveHop(hops[len(hops)-1], dial.JoinJumpList(hops[:len(hops)-1]))
	if err != nil {
		return
	}
	b.WriteString("via\x00")
	r.writeIdentity(b, hop, depth+1)
}

// route names h and the hosts of its jump chain as user@address:port,
// first hop first, for a client's debug lines: the connection it shares
// was made by its master, which logged it elsewhere (or not at all).
func (r *Client) route(h *sshconf.Host) []string {
	var out []string
	for depth := 0; h != nil && depth <= maxIdentityDepth; depth++ {
		out = append([]string{h.Get("user") + "@" + net.JoinHostPort(h.Hostname(), h.Get("port"))}, out...)
		if pc := h.Get("proxycommand"); pc != "" && !strings.EqualFold(pc, "none") {
			out = append([]string{"ProxyCommand " + pc}, out...)
		}
		pj := h.Get("proxyjump")
		if pj == "" || strings.EqualFold(pj, "none") {
			break
		}
		hops, err := dial.ParseJumpList(pj)
		if err != nil || len(hops) == 0 {
			break
		}
		h, _ = r.resolveHop(hops[len(hops)-1], dial.JoinJumpList(hops[:len(hops)-1]))
	}
	return out
}
