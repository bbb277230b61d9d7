package bench

import (
	"os/exec"

	"github.com/jumpgate/jumpgate/internal/nsexec"
)

// startInNetns starts cmd inside the network namespace at path. A child
// process inherits the namespace of the thread that forks it, so the fork
// happens on a thread switched there for the moment of Start; no nsenter
// process sits in the time measured.
func startInNetns(path string, cmd *exec.Cmd) error {
	return nsexec.Do(path, cmd.Start)
}
