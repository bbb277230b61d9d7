package libvirt

// A domain's console through the jump chain: libvirt on the hypervisor
// names the domain's Spice or VNC display, a local forward serves it on a
// private Unix socket (0600 in a 0700 directory), and the viewer is
// started on it; the forward ends when the viewer does.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/forward"
	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// ErrPulse is a PulseAudio tunnel that could not be set up.
var ErrPulse = errors.New("PulseAudio tunnel")

// ConsoleOptions is what [Console] shows and where.
type ConsoleOptions struct {
	Host, Domain string
	URI          string // libvirt's URI on the hypervisor
	// Pulse also forwards the hypervisor's port 44713 to the local
	// PulseAudio (4713).
	Pulse bool
	// Viewer is the viewer's path, given the URI; "" prints the URI on
	// Out and keeps the forward up until ctx ends.
	Viewer     string
	RuntimeDir string // $XDG_RUNTIME_DIR, "" for the system's temporary directory
	// Screenshot, when set, names a PNG file ("-": Out) to write the
	// domain's screen to, instead of forwarding the display.
	Screenshot string
	// Compress "zstd" carries the display through a copy of Binary ("":
	// this executable) on the hypervisor that compresses it with zstd
	// (see [ServePeer]); "" forwards it as it is.
	Compress, Binary string
	Log              *vlog.Logger
	In               io.Reader
	Out, Err         io.Writer
}

// Console shows the domain's display over conn until the viewer exits
// (its *exec.ExitError, if it fails), ctx ends or the connection does.
// Display errors come back wrapped in a *DisplayError.
func Console(ctx context.Context, conn *dial.Conn, o ConsoleOptions) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	lv := &Client{Run: SSHRunner(conn.Conn), Host: o.Host, URI: o.URI}
	if o.Screenshot != "" {
		return screenshot(ctx, lv, o)
	}
	disp, err := lv.Display(ctx, o.Domain)
	if err != nil {
		return &DisplayError{Err: err}
	}
	o.Log.Debugf("Display of %s on %s: %s", o.Domain, o.Host, disp)

	dir, err := consoleDir(o.RuntimeDir)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, disp.Type+".sock")
	fwd := forward.New(conn.Conn, forward.Options{Log: o.Log, BindMask: 0o177})
	defer fwd.Close()
	spec := sshconf.Forward{Kind: sshconf.Local, ListenPath: sock}
	if disp.Network == "unix" {
		spec.ConnectPath = disp.Address
	} else {
		spec.ConnectHost, spec.ConnectPort = splitHostPortNum(disp.Address)
	}
	switch o.Compress {
	case "":
		if _, err := fwd.Start(ctx, spec); err != nil {
			return fmt.Errorf("console: forward %s: %w", disp, err)
		}
	case "zstd":
		helper, err := installPeer(ctx, conn.Conn, o.Binary, o.Err)
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		ln, err := listenPrivate(sock)
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		defer ln.Close()
		go serveCompressed(ctx, conn.Conn, ln, helper, disp, o.Log, o.Err)
	default:
		return fmt.Errorf("console: unknown compression %q (want zstd)", o.Compress)
	}
	if o.Pulse {
		pa := sshconf.Forward{Kind: sshconf.Remote, ListenHost: "localhost", HasListenHost: true, ListenPort: 44713, ConnectHost: "localhost", ConnectPort: 4713}
		if _, err := fwd.Start(ctx, pa); err != nil {
			return fmt.Errorf("console: %w: %w", ErrPulse, err)
		}
		fmt.Fprintf(o.Err, "jumpgate: PulseAudio: set PULSE_SERVER=tcp:localhost:44713 on %s\n", o.Host)
	}
	uri := disp.URI("unix", sock)

	// The connection's end (hypervisor gone) ends the console too.
	go func() {
		conn.Wait()
		stop()
	}()
	if o.Viewer == "" {
		fmt.Fprintln(o.Out, uri)
		<-ctx.Done()
		return nil
	}
	cmd := exec.Command(o.Viewer, uri)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.In, o.Out, o.Err
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("console: start %s: %w", o.Viewer, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// Interrupted, or the hypervisor went away: the viewer is ours to end.
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
		return nil
	}
}

// DisplayError is a failure to find the domain's display.
type DisplayError struct{ Err error }

func (e *DisplayError) Error() string { return e.Err.Error() }
func (e *DisplayError) Unwrap() error { return e.Err }

// consoleDir makes a private directory for the console's socket.
func consoleDir(runtimeDir string) (string, error) {
	base := runtimeDir
	if base != "" {
		base = filepath.Join(base, "jumpgate")
		if err := os.MkdirAll(base, 0o700); err != nil {
			return "", err
		}
	}
	dir, err := os.MkdirTemp(base, "console-")
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o700)
}

// listenPrivate listens on a Unix socket only its owner may use (its
// directory is private too).
func listenPrivate(path string) (net.Listener, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

func splitHostPortNum(addr string) (string, int) {
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return host, n
}
