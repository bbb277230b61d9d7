package sshconn

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// defaultHostKeyAlgorithms is OpenSSH 9.2's HostKeyAlgorithms, as ssh -G
// prints it. When the resolved value equals it the user did not choose,
// and we order by what known_hosts holds, as ssh(1) does.
const defaultHostKeyAlgorithms = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"

// algorithms reads KexAlgorithms, Ciphers, MACs, HostKeyAlgorithms and
// Compression, keeping what the engine supports (nil means its defaults).
func algorithms(s settings, p *hostKeyPolicy, log *vlog.Logger) (sshwire.AlgorithmList, error) {
	n := negotiable()
	var out sshwire.AlgorithmList
	var err error
	pick := func(key string, want, supported []string) []string {
		if err != nil {
			return nil
		}
		if len(want) == 0 {
			return nil
		}
		var keep, dropped []string
		for _, a := range want {
			if slices.Contains(supported, a) {
				keep = append(keep, a)
			} else {
				dropped = append(dropped, a)
			}
		}
		if len(dropped) > 0 {
			log.Debugf("%s: not supported by this client, dropped: %s", key, strings.Join(dropped, ","))
		}
		if len(keep) == 0 {
			err = fmt.Errorf("no supported algorithm in %s %s", key, strings.Join(want, ","))
		}
		return keep
	}
	out.KeyExchanges = pick("kexalgorithms", hybridInPlace(s.list("kexalgorithms", ""), n.KeyExchanges, log), n.KeyExchanges)
	out.Ciphers = pick("ciphers", s.list("ciphers", ""), n.Ciphers)
	out.MACs = pick("macs", s.list("macs", ""), n.MACs)
	hk := s.str("hostkeyalgorithms", defaultHostKeyAlgorithms)
	out.HostKeys = pick("hostkeyalgorithms", s.list("hostkeyalgorithms", defaultHostKeyAlgorithms), n.HostKeys)
	if s.flag("compression", false) {
		// ssh(1)'s list for Compression yes.
		out.Compressions = []string{"zlib@openssh.com", "zlib", "none"}
	}
	if err != nil {
		return sshwire.AlgorithmList{}, err
	}
	if hk == defaultHostKeyAlgorithms {
		kh := readKnownHosts(append(append([]string(nil), p.userFiles...), p.globalFiles...), nil)
		out.HostKeys = orderHostKeyAlgorithms(out.HostKeys, kh.forHost(p.name()))
		log.Debug2f("hostkeyalgorithms: %s", strings.Join(out.HostKeys, ","))
	}
	return out, nil
}

// Post-quantum hybrid key exchanges: ssh(1) 9.2's, which the engine does
// not implement, and the engine's, which 9.2's configuration does not know.
var (
	sntrupKexes = []string{"sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com"}
	mlkemKex    = "mlkem768x25519-sha256"
)

// hybridInPlace puts the engine's post-quantum hybrid where want names
// ssh(1) 9.2's (its default list does, and so every edit of it that
// keeps it), as the engine's own default list does: without it, the command
// line offered no post-quantum key exchange at all.
func hybridInPlace(want, supported []string, log *vlog.Logger) []string {
	if !slices.Contains(supported, mlkemKex) || slices.Contains(want, mlkemKex) {
		return want
	}
	out := make([]string, 0, len(want))
	placed := false
	for _, a := range want {
		if !slices.Contains(sntrupKexes, a) || slices.Contains(supported, a) {
			out = append(out, a)
			continue
		}
		if !placed {
			log.Debug2f("kexalgorithms: %s offered in place of %s", mlkemKex, a)
			out = append(out, mlkemKex)
			placed = true
		}
	}
	return out
}

// orderHostKeyAlgorithms puts first, keeping their order, the algorithms
// for which known_hosts holds a key for the host (all certificate
// algorithms when a @cert-authority matches), as order_hostkeyalgs() does.
func orderHostKeyAlgorithms(algs []string, entries []khEntry) []string {
	var first, rest []string
	for _, a := range algs {
		known := false
		for _, e := range entries {
			switch {
			case e.Marker == markerCA:
				known = known || strings.Contains(a, "-cert-v01@openssh.com")
			case e.Marker == markerNone:
				known = known || keyTypeForAlgorithm(a) == e.Key.Type()
			}
		}
		if known {
			first = append(first, a)
		} else {
			rest = append(rest, a)
		}
	}
	return append(first, rest...)
}

// keyTypeForAlgorithm maps a signature algorithm to its key type.
func keyTypeForAlgorithm(a string) string {
	switch a {
	case ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512:
		return ssh.KeyAlgoRSA
	}
	return a
}
