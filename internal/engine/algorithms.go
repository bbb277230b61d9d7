package engine

import (
	"slices"
	"strings"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// DefaultAlgorithms is what the engine offers when a list is left empty:
// OpenSSH 9.2's defaults (a client's host key list; a server offers what
// its keys sign).
func DefaultAlgorithms() sshwire.AlgorithmList {
	return sshwire.AlgorithmList{
		KeyExchanges: defaultKexes(),
		Ciphers:      defaultCiphers(),
		MACs:         defaultMACs(),
		HostKeys:     defaultHostKeyAlgs(),
	}
}

// SupportedAlgorithms is every algorithm the engine completes when asked
// for it, the defaults first, then the legacy ones OpenSSH 9.2 completes
// only when configured to: what a configured list is filtered against.
// Security-key host keys are offered by default, as OpenSSH does, but not
// listed: no test has a key to prove them.
func SupportedAlgorithms() sshwire.AlgorithmList {
	hk := slices.DeleteFunc(defaultHostKeyAlgs(), func(a string) bool { return strings.HasPrefix(a, "sk-") })
	return sshwire.AlgorithmList{
		KeyExchanges: slices.Concat(defaultKexes(), legacyKexes()),
		Ciphers:      slices.Concat(defaultCiphers(), legacyCiphers()),
		MACs:         slices.Concat(defaultMACs(), legacyMACs()),
		HostKeys:     append(hk, "ssh-rsa", "ssh-rsa"+certSuffix),
		Compressions: []string{"none", "zlib@openssh.com", "zlib"},
	}
}
