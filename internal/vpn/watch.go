package vpn

// The near side's watcher. A tun or tap device dies with the process that
// holds it, but a bridge `jumpgate vpn --l2 --local-bridge` created, and
// ports it added, would outlive a kill -9. So once they exist, jumpgate
// starts a copy of itself, `jumpgate vpn --watch-local …` (hidden), in its
// own session, holding a pipe from it: a clean exit removes them itself and
// writes "done" on the pipe; a pipe that closes without it means the
// tunnel's process died, and the watcher removes them.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

// LocalWatcher is the pipe to a running watcher.
type LocalWatcher struct {
	w   io.WriteCloser
	cmd *exec.Cmd
}

// WatchLocal starts a watcher for what t's near end would leave behind,
// or returns nil if nothing would be. command is the watcher's command
// line after the program name; the flags for what to remove follow it.
func WatchLocal(t *Tunnel, command []string) (*LocalWatcher, error) {
	bridge, ports := t.Near.Leftovers()
	if bridge == "" && len(ports) == 0 {
		return nil, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := append(slices.Clone(command), "--bridge", t.Near.Config().Bridge)
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
	return &LocalWatcher{w: w, cmd: cmd}, nil
}

// Done tells the watcher the tunnel cleaned up after itself.
func (l *LocalWatcher) Done() {
	if l == nil {
		return
	}
	io.WriteString(l.w, "done\n")
	l.w.Close()
	l.cmd.Wait()
}

// Watch is the watcher: it tells the tunnel's process it is watching on
// out, then waits for in to say "done"; anything else (the pipe closed by
// a kill -9) and it removes what the tunnel left behind.
func Watch(in io.Reader, out io.Writer, bridge string, remove bool, ports []string) error {
	// Only the pipe ends it.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	fmt.Fprintln(out, "watching")
	line, _ := bufio.NewReader(in).ReadString('\n')
	if strings.TrimSpace(line) == "done" {
		return nil
	}
	if err := RemoveLeftovers(bridge, remove, ports); err != nil {
		return fmt.Errorf("vpn watch: %w", err)
	}
	return nil
}
