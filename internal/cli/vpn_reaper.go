package cli

// The near side's watcher. A tun or tap device dies with the process that
// holds it, but a bridge `jumpgate vpn --l2 --local-bridge` created, and
// ports it added, would outlive a kill -9. So once they exist, jumpgate
// starts a copy of itself, `jumpgate vpn --watch-local …` (hidden), in its
// own session, holding a pipe from it: a clean exit removes them itself and
// writes "done" on the pipe; a pipe that closes without it means the
// tunnel's process died, and the watcher removes them.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/vpn"
)

// vpnWatchFlag starts the watcher; it is not in any usage text.
const vpnWatchFlag = "--watch-local"

// localWatcher is the pipe to a running watcher.
type localWatcher struct {
	w   io.WriteCloser
	cmd *exec.Cmd
}

// watchLocal starts a watcher for what t's near end would leave behind,
// or returns nil if nothing would be.
func watchLocal(t *vpn.Tunnel) (*localWatcher, error) {
	bridge, ports := t.Near.Leftovers()
	if bridge == "" && len(ports) == 0 {
		return nil, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"vpn", vpnWatchFlag, "--bridge", t.Near.Config().Bridge}
	if bridge != "" {
		args = append(args, "--remove-bridge")
	}
	for _, p := range ports {
		args = append(args, "--port", p)
	}
	cmd := exec.Command(exe, args...)
	// Its own session: the Ctrl-C or SIGHUP meant for the tunnel does not
	// end the watcher before the tunnel's own cleanup is done.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start local watcher: %w", err)
	}
	// It says "watching" once its signals are set up.
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "watching" {
		w.Close()
		cmd.Wait()
		return nil, fmt.Errorf("local watcher did not start")
	}
	return &localWatcher{w: w, cmd: cmd}, nil
}

// done tells the watcher the tunnel cleaned up after itself.
func (l *localWatcher) done() {
	if l == nil {
		return
	}
	io.WriteString(l.w, "done\n")
	l.w.Close()
	l.cmd.Wait()
}

// runVPNWatch is the watcher.
func runVPNWatch(_ context.Context, e *env, args []string) error {
	var (
		bridge string
		remove bool
		ports  []string
	)
	fs := pflag.NewFlagSet("vpn-watch", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&bridge, "bridge", "", "")
	fs.BoolVar(&remove, "remove-bridge", false, "")
	fs.StringArrayVar(&ports, "port", nil, "")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("vpn watch: %v", err)
	}
	// Only the pipe ends it.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	fmt.Fprintln(e.io.Out, "watching")
	line, _ := bufio.NewReader(e.io.In).ReadString('\n')
	if strings.TrimSpace(line) == "done" {
		return nil
	}
	if err := vpn.RemoveLeftovers(bridge, remove, ports); err != nil {
		return fmt.Errorf("vpn watch: %w", err)
	}
	return nil
}
