package cli

import (
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/xssh"
)

// debugEngineEnv chooses the SSH engine of the client and the server:
// unset (or "jumpgate"), our own engine, as the feature packages; "xssh",
// x/crypto/ssh's adapter, kept while it helps compare (docs/perf.md).
// Copies of ourselves (-f, a master) inherit it.
const debugEngineEnv = "JUMPGATE_DEBUG_ENGINE"

// handshakes are the client and server handshakes the environment
// chooses; nil means each feature package's default, our engine.
func handshakes(getenv func(string) string) (sshwire.ClientHandshake, sshwire.ServerHandshake) {
	if getenv(debugEngineEnv) == "xssh" {
		return xssh.Client, xssh.Server
	}
	return nil, nil
}
