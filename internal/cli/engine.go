package cli

import (
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/xssh"
)

// debugEngineEnv, set to "xssh", runs the client's and the server's SSH
// through x/crypto/ssh's adapter instead of our engine, to compare the
// two; unset (or "jumpgate") is our engine. Copies of ourselves (-f, a
// master) inherit it.
const debugEngineEnv = "JUMPGATE_DEBUG_ENGINE"

// handshakes are the client and server handshakes the environment
// chooses; nil means each feature package's default, our engine.
func handshakes(getenv func(string) string) (sshwire.ClientHandshake, sshwire.ServerHandshake) {
	if getenv(debugEngineEnv) == "xssh" {
		return xssh.Client, xssh.Server
	}
	return nil, nil
}
