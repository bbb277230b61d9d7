package cli

import (
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/xssh"
)

// debugEngineEnv chooses the SSH engine of the client and the server:
// unset (or "xssh"), x/crypto/ssh's adapter; "jumpgate", our own engine,
// which the feature packages already default to and their tests run on.
// The command line stays on x/crypto until the benchmarks against OpenSSH
// have been run with our engine (docs/perf.md); the knob compares the two.
// Copies of ourselves (-f, a master) inherit it.
const debugEngineEnv = "JUMPGATE_DEBUG_ENGINE"

// handshakes are the client and server handshakes the environment
// chooses; nil means each feature package's default, our engine.
func handshakes(getenv func(string) string) (sshwire.ClientHandshake, sshwire.ServerHandshake) {
	if getenv(debugEngineEnv) == "jumpgate" {
		return nil, nil
	}
	return xssh.Client, xssh.Server
}
