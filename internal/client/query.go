package client

import (
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Query is `ssh -Q`: the algorithms this client supports, without
// repeats; false for a query ssh(1) does not know.
func Query(what string) ([]string, bool) {
	sup := ssh.SupportedAlgorithms()
	ins := ssh.InsecureAlgorithms()
	all := func(a, b []string) []string { return slices.Concat(a, b) }
	var list []string
	switch strings.ToLower(what) {
	case "cipher":
		list = all(sup.Ciphers, ins.Ciphers)
	case "cipher-auth":
		for _, c := range sup.Ciphers {
			if strings.Contains(c, "gcm") || strings.Contains(c, "poly1305") {
				list = append(list, c)
			}
		}
	case "mac":
		list = all(sup.MACs, ins.MACs)
	case "kex":
		list = all(sup.KeyExchanges, ins.KeyExchanges)
	case "key", "key-sig", "sig", "hostkeyalgorithms", "pubkeyacceptedalgorithms":
		list = all(sup.HostKeys, ins.HostKeys)
	case "key-plain":
		for _, k := range all(sup.HostKeys, ins.HostKeys) {
			if !strings.Contains(k, "-cert-") {
				list = append(list, k)
			}
		}
	case "key-cert":
		for _, k := range all(sup.HostKeys, ins.HostKeys) {
			if strings.Contains(k, "-cert-") {
				list = append(list, k)
			}
		}
	case "protocol-version":
		list = []string{"2"}
	case "help":
		list = []string{"cipher", "cipher-auth", "kex", "key", "key-cert", "key-plain", "key-sig", "mac", "protocol-version", "sig"}
	default:
		return nil, false
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, true
}
