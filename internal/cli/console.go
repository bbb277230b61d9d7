package cli

// jumpgate console HOST/DOMAIN: libvirt on HOST names the domain's Spice or
// VNC display, a local forward serves it on a private Unix socket (0600 in
// a 0700 directory) through the jump chain, and remote-viewer is started
// on it; the forward ends when the viewer does.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/forward"
	"github.com/jumpgate/jumpgate/internal/libvirt"
	"github.com/jumpgate/jumpgate/internal/sshconf"
)

type consoleOptions struct {
	configFile string
	jump       string
	options    []string
	identities []string
	login      string
	port       int
	verbose    int

	print  bool
	pulse  bool
	viewer string
	uri    string
}

// AddFlags adds console's flags: ssh's connection flags, then its own.
func (o *consoleOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.configFile, "config", "F", "", "ssh_config `FILE` (as ssh -F)")
	fs.StringVarP(&o.jump, "jump", "J", "", "jump `HOSTS` to the hypervisor (as ssh -J)")
	fs.StringArrayVarP(&o.options, "option", "o", nil, "ssh_config `OPTION` for the hypervisor (as ssh -o; repeatable)")
	fs.StringArrayVarP(&o.identities, "identity", "i", nil, "identity `FILE` (as ssh -i; repeatable)")
	fs.StringVarP(&o.login, "login", "l", "", "`USER` on the hypervisor (as ssh -l)")
	fs.IntVarP(&o.port, "port", "p", 0, "SSH `PORT` of the hypervisor (as ssh -p)")
	fs.CountVarP(&o.verbose, "verbose", "v", "debug messages (as ssh -v; repeatable)")

	fs.BoolVar(&o.print, "print", false, "print the viewer URI and keep the forward up until interrupted, instead of starting a viewer")
	fs.BoolVar(&o.pulse, "pulse", false, "also forward the hypervisor's port 44713 to the local PulseAudio (4713), for ssh -X users")
	fs.StringVar(&o.viewer, "viewer", "remote-viewer", "viewer `COMMAND`, given the URI as its argument")
	fs.StringVarP(&o.uri, "connect", "c", libvirt.DefaultURI, "libvirt `URI` on the hypervisor (as virsh -c)")
}

const consoleUsage = `Usage: jumpgate console [-F FILE] [-J HOSTS] [-o OPTION]... [-i FILE] [-l USER] [-p PORT] [--print] [--pulse] HOST/DOMAIN

Opens the Spice or VNC console of libvirt domain DOMAIN on hypervisor HOST:
virsh on HOST (over SSH, nothing installed there) names the display, a
private local Unix socket forwards it through the jump chain, and
remote-viewer shows it. The forward ends when the viewer exits.

Flags:`

func runConsole(ctx context.Context, e *env, args []string) error {
	var o consoleOptions
	fs := pflag.NewFlagSet("console", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(e.io.Out, consoleUsage+"\n")
			fs.SetOutput(e.io.Out)
			fs.PrintDefaults()
			return nil
		}
		return usageErrorf("console: %v", err).hint("run 'jumpgate console --help' for the flags")
	}
	if fs.NArg() != 1 {
		return usageErrorf("console: want one HOST/DOMAIN, got %d arguments", fs.NArg()).hint("jumpgate console hyper1/vm1")
	}
	target := fs.Arg(0)
	host, domain, ok := dial.SplitDomain(target)
	if !ok {
		return usageErrorf("console: %q is not HOST/DOMAIN", target).hint("name the hypervisor and the libvirt domain: jumpgate console hyper1/vm1")
	}
	viewer := ""
	if !o.print {
		p, err := exec.LookPath(o.viewer)
		if err != nil {
			return withHint(fmt.Errorf("console: viewer %s: %w", o.viewer, err), exitUsage,
				"install virt-viewer (it provides remote-viewer), name another with --viewer, or use --print")
		}
		viewer = p
	}
	a, err := o.sshArgs(e, host)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	r := newClient(ctx, e, a)
	conn, _, err := r.DialDest(ctx)
	if err != nil {
		return err // printed as ssh(1) does
	}
	defer conn.Close()

	lv := &libvirt.Client{Run: libvirt.SSHRunner(conn.Client), Host: host, URI: o.uri}
	disp, err := lv.Display(ctx, domain)
	if err != nil {
		return withHint(fmt.Errorf("console %s: %w", target, err), exitConnection)
	}
	r.Log().Debugf("Display of %s on %s: %s", domain, host, disp)

	dir, err := consoleDir(e)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, disp.Type+".sock")
	fwd := forward.New(conn.Client, forward.Options{Log: r.Log(), BindMask: 0o177})
	defer fwd.Close()
	spec := sshconf.Forward{Kind: sshconf.Local, ListenPath: sock}
	if disp.Network == "unix" {
		spec.ConnectPath = disp.Address
	} else {
		spec.ConnectHost, spec.ConnectPort = splitHostPortNum(disp.Address)
	}
	if _, err := fwd.Start(ctx, spec); err != nil {
		return fmt.Errorf("console: forward %s: %w", disp, err)
	}
	if o.pulse {
		pa := sshconf.Forward{Kind: sshconf.Remote, ListenHost: "localhost", HasListenHost: true, ListenPort: 44713, ConnectHost: "localhost", ConnectPort: 4713}
		if _, err := fwd.Start(ctx, pa); err != nil {
			return withHint(fmt.Errorf("console: PulseAudio tunnel: %w", err), exitConnection,
				"is port 44713 taken on "+host+"? (PULSE_SERVER=tcp:localhost:44713 there uses it)")
		}
		fmt.Fprintf(e.io.ErrOut, "jumpgate: PulseAudio: set PULSE_SERVER=tcp:localhost:44713 on %s\n", host)
	}
	uri := disp.URI("unix", sock)

	// The connection's end (hypervisor gone) ends the console too.
	go func() {
		conn.Wait()
		stop()
	}()
	if o.print {
		fmt.Fprintln(e.io.Out, uri)
		<-ctx.Done()
		return nil
	}
	cmd := exec.Command(viewer, uri)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.io.In, e.io.Out, e.io.ErrOut
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("console: start %s: %w", o.viewer, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return withHint(fmt.Errorf("console: %s exited with status %d", o.viewer, ee.ExitCode()), ee.ExitCode())
		}
		return err
	case <-ctx.Done():
		// Interrupted, or the hypervisor went away: the viewer is ours to end.
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
		return nil
	}
}

// consoleDir makes a private directory for the console's socket.
func consoleDir(e *env) (string, error) {
	base := e.getenv("XDG_RUNTIME_DIR")
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

func splitHostPortNum(addr string) (string, int) {
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return host, n
}

// sshArgs turns the connection flags into jumpgate ssh's, for the hypervisor.
func (o *consoleOptions) sshArgs(e *env, host string) (*sshArgs, error) {
	var argv []string
	if o.configFile != "" {
		argv = append(argv, "-F", o.configFile)
	}
	if o.jump != "" {
		argv = append(argv, "-J", o.jump)
	}
	for _, x := range o.options {
		argv = append(argv, "-o", x)
	}
	for _, x := range o.identities {
		argv = append(argv, "-i", x)
	}
	if o.login != "" {
		argv = append(argv, "-l", o.login)
	}
	if o.port != 0 {
		argv = append(argv, "-p", strconv.Itoa(o.port))
	}
	for range o.verbose {
		argv = append(argv, "-v")
	}
	argv = append(argv, "-N", "--", host)
	home, _, _ := localUser(e)
	a, err := parseSSHArgs(argv, home, func(p string) error {
		_, err := os.Stat(p)
		return err
	})
	if err != nil {
		var ae *sshArgError
		if errors.As(err, &ae) && ae.msg != "" {
			return nil, usageErrorf("console: %s", ae.msg)
		}
		return nil, usageErrorf("console: bad connection flags or host %q", host)
	}
	for _, w := range a.warnings {
		fmt.Fprintln(e.io.ErrOut, w)
	}
	return a, nil
}
