package client

import (
	"os"
	"os/exec"
	"strings"

	"github.com/jumpgate/jumpgate/internal/sshconf"
)

// runLocalCommand is ssh(1)'s LocalCommand: once connected (forwards up,
// before the session), and only when PermitLocalCommand allows it, the
// expanded command runs under $SHELL -c with our standard streams, and
// ssh waits for it.
func (r *Client) runLocalCommand(h *sshconf.Host) {
	lc := h.Get("localcommand")
	if lc == "" || strings.EqualFold(lc, "none") || h.Get("permitlocalcommand") != "yes" {
		return
	}
	cmd, err := h.Expand(lc)
	if err != nil {
		r.log.Errorf("LocalCommand: %v", err)
		return
	}
	shell := r.e.Getenv("SHELL")
	if shell == "" {
		shell = "/bin/sh"
	}
	r.log.Debugf("Executing %s -c \"%s\"", shell, cmd)
	c := exec.Command(shell, "-c", cmd)
	// Only a real descriptor: a reader would be drained by a goroutine
	// that takes the session's input.
	if f, ok := r.e.IO.In.(*os.File); ok {
		c.Stdin = f
	}
	c.Stdout, c.Stderr = r.e.IO.Out, r.e.IO.ErrOut
	if err := c.Run(); err != nil {
		r.log.Debugf("LocalCommand %s: %v", cmd, err)
	}
}
