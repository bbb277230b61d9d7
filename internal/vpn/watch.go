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
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/jumpgate/jumpgate/internal/selfexec"
)

// LocalWatcher is the pipe to a running watcher.
type LocalWatcher struct {
	w     io.WriteCloser
	child *selfexec.Child
}

// WatchLocal starts a watcher for what t's near end would leave behind,
// or returns nil if nothing would be. command is the watcher's command
// line after the program name; the flags for what to remove follow it.
func WatchLocal(t *Tunnel, command []string) (*LocalWatcher, error) {
	bridge, ports := t.Near.Leftovers()
	if bridge == "" && len(ports) == 0 {
		return nil, nil
	}
	args := append(slices.Clone(command), "--bridge", t.Near.Config().Bridge)
	if bridge != "" {
		args = append(args, "--remove-bridge")
	}
	for _, p := range ports {
		args = append(args, "--port", p)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// Its own session: the Ctrl-C or SIGHUP meant for the tunnel does not
	// end the watcher before the tunnel's own cleanup is done.
	child, err := selfexec.Start(selfexec.Options{Args: args, Stdin: pr, Setsid: true})
	pr.Close()
	if err != nil {
		pw.Close()
		return nil, fmt.Errorf("start local watcher: %w", err)
	}
	// It says "watching" once its signals are set up.
	ok, _ := child.WaitReady(context.Background(), func(rd io.Reader) bool {
		line, _ := bufio.NewReader(rd).ReadString('\n')
		return strings.TrimSpace(line) == "watching"
	})
	if !ok {
		pw.Close()
		return nil, fmt.Errorf("local watcher did not start")
	}
	return &LocalWatcher{w: pw, child: child}, nil
}

// Done tells the watcher the tunnel cleaned up after itself.
func (l *LocalWatcher) Done() {
	if l == nil {
		return
	}
	io.WriteString(l.w, "done\n")
	l.w.Close()
	l.child.Wait()
}

// Watch is the watcher: it tells the tunnel's process it is watching,
// then waits for in to say "done"; anything else (the pipe closed by
// a kill -9) and it removes what the tunnel left behind.
func Watch(in io.Reader, bridge string, remove bool, ports []string) error {
	// Only the pipe ends it.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	selfexec.Notify([]byte("watching\n"))
	line, _ := bufio.NewReader(in).ReadString('\n')
	if strings.TrimSpace(line) == "done" {
		return nil
	}
	if err := RemoveLeftovers(bridge, remove, ports); err != nil {
		return fmt.Errorf("vpn watch: %w", err)
	}
	return nil
}
