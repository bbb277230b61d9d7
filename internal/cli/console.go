package cli

// jumpgate console HOST/DOMAIN: libvirt on HOST names the domain's Spice or
// VNC display, a local forward serves it on a private Unix socket (0600 in
// a 0700 directory) through the jump chain, and remote-viewer is started
// on it; the forward ends when the viewer does.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/libvirt"
	"github.com/jumpgate/jumpgate/internal/rawio"
)

type consoleOptions struct {
	connFlags

	print      bool
	pulse      bool
	viewer     string
	uri        string
	screenshot string
	compress   string
	peer       string // the far peer's display address (hidden)
}

// AddFlags adds console's flags: ssh's connection flags, then its own.
func (o *consoleOptions) AddFlags(fs *pflag.FlagSet) {
	o.connFlags.add(fs, "the hypervisor")

	fs.BoolVar(&o.print, "print", false, "print the viewer URI and keep the forward up until interrupted, instead of starting a viewer")
	fs.BoolVar(&o.pulse, "pulse", false, "also forward the hypervisor's port 44713 to the local PulseAudio (4713), for ssh -X users")
	fs.StringVar(&o.viewer, "viewer", "remote-viewer", "viewer `COMMAND`, given the URI as its argument")
	fs.StringVarP(&o.uri, "connect", "c", libvirt.DefaultURI, "libvirt `URI` on the hypervisor (as virsh -c)")
	fs.StringVarP(&o.compress, "compress", "C", "", "compress the display: -C through the SSH connection (zlib@openssh.com, any sshd), --compress=zstd through a copy of jumpgate on the hypervisor (faster, fewer bytes)")
	fs.Lookup("compress").NoOptDefVal = "zlib"
	fs.StringVar(&o.peer, "serve-peer", "", "")
	fs.MarkHidden("serve-peer")
	fs.StringVar(&o.screenshot, "screenshot", "", "write the screen to `FILE` (PNG; - for standard output) instead of showing it, no display needed")
}

const consoleUsage = `Usage: jumpgate console [-F FILE] [-J HOSTS] [-o OPTION]... [-i FILE] [-l USER] [-p PORT] [-C|--compress=zstd] [--print] [--pulse] [--screenshot FILE] HOST/DOMAIN

Opens the Spice or VNC console of libvirt domain DOMAIN on hypervisor HOST:
virsh on HOST (over SSH, nothing installed there) names the display, a
private local Unix socket forwards it through the jump chain, and
remote-viewer shows it. The forward ends when the viewer exits.

Flags:`

func runConsole(ctx context.Context, e *env, args []string) error {
	var o consoleOptions
	fs := pflag.NewFlagSet("console", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := parseFlags(e, fs, consoleUsage, args); err != nil {
		return helpOr(err)
	}
	if o.peer != "" {
		in, out := e.io.In, e.io.Out
		// Run by sshd, on its pipes: raw reads and writes (see rawio).
		if in == os.Stdin && out == os.Stdout {
			in, out = rawio.Stdio()
		}
		return libvirt.ServePeer(ctx, o.peer, in, out)
	}
	switch o.compress {
	case "zlib":
		o.options, o.compress = append(o.options, "Compression=yes"), ""
	case "", "zstd":
	default:
		return usageErrorf("console: unknown --compress %q", o.compress).hint("-C (zlib@openssh.com) or --compress=zstd")
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
	if !o.print && o.screenshot == "" {
		p, err := exec.LookPath(o.viewer)
		if err != nil {
			return withHint(fmt.Errorf("console: viewer %s: %w", o.viewer, err), exitUsage,
				"install virt-viewer (it provides remote-viewer), name another with --viewer, or use --print")
		}
		viewer = p
	}
	a, err := o.sshArgs(e, "console", "host", host)
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
	err = libvirt.Console(ctx, conn, libvirt.ConsoleOptions{Host: host, Domain: domain, URI: o.uri, Pulse: o.pulse,
		Viewer: viewer, Screenshot: o.screenshot, Compress: o.compress, RuntimeDir: e.getenv("XDG_RUNTIME_DIR"), Log: r.Log(), In: e.io.In, Out: e.io.Out, Err: e.io.ErrOut})
	var (
		de *libvirt.DisplayError
		ee *exec.ExitError
	)
	switch {
	case errors.As(err, &de):
		return withHint(fmt.Errorf("console %s: %w", target, err), exitConnection)
	case errors.Is(err, libvirt.ErrPulse):
		return withHint(err, exitConnection, "is port 44713 taken on "+host+"? (PULSE_SERVER=tcp:localhost:44713 there uses it)")
	case errors.As(err, &ee):
		return withHint(fmt.Errorf("console: %s exited with status %d", o.viewer, ee.ExitCode()), ee.ExitCode())
	}
	return err
}
