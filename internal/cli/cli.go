// Package cli implements jumpgate's command line: one file per subcommand,
// each turning flags into options for the feature packages under internal/.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/iostreams"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// env is what every subcommand gets from the process: its streams and its
// environment. Feature packages never read these themselves.
type env struct {
	io     *iostreams.IOStreams
	getenv func(string) string
	// argv0 is the name the binary was invoked as.
	argv0 string
	// forked and master mark a copy of ourselves that a client started
	// (client.ForkedEnv, client.MasterEnv).
	forked, master bool
	// ctx is Main's: a command a signal cut short exits 128+N.
	ctx context.Context
}

// command is one subcommand of jumpgate.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
	// help prints the usage of a command whose arguments are not flags
	// that answer --help themselves; nil for the others.
	help func(w io.Writer)
}

// commands lists the subcommands in the order `jumpgate --help` shows them.
func commands() []command {
	return []command{
		{"ssh", "connect to a host like ssh(1), with jump chains done natively", runSSH,
			func(w io.Writer) { io.WriteString(w, sshUsage+sshDefaults) }},
		{"ctl", "talk to a running master connection (check, stop, forward, list)", runCtl, nil},
		{"forward", "forward ports and sockets through a jump chain (ssh -N with -L/-R/-D)", runForward, nil},
		{"vpn", "layer-3 or layer-2 tunnel over SSH, configured on both ends", runVPN, nil},
		{"console", "open a VM's Spice/VNC console through the jump chain", runConsole, nil},
		{"serve", "run jumpgate's own SSH server (for hypervisors, labs and tests)", runServe, nil},
		{"net", "apply, plan and destroy declarative virtual networks", runNet, nil},
		{"topo", "discover and render the network topology of a host", runTopo, nil},
		{"fw", "generate and apply anti-spoofing bridge firewall rules", runFw, nil},
		{"lab", "a throw-away lab of network namespaces to try it all", runLab, nil},
		{"bench", "measure jumpgate against OpenSSH in one run", runBench, nil},
		{"version", "print the version and what it was built with", runVersion,
			func(w io.Writer) { io.WriteString(w, versionUsage) }},
	}
}

// Main runs jumpgate with the process's argv (argv[0] included) and returns
// the exit code. Called as "ssh" (through a link), it behaves as `jumpgate ssh`.
func Main(ctx context.Context, argv []string, streams *iostreams.IOStreams) int {
	argv0 := "jumpgate"
	if len(argv) > 0 {
		argv0 = filepath.Base(argv[0])
		argv = argv[1:]
	}
	e := &env{io: streams, getenv: os.Getenv, argv0: argv0, ctx: ctx,
		forked: takeMarker(client.ForkedEnv), master: takeMarker(client.MasterEnv)}
	// Called as "ssh" (a link), or with ssh's flags straight away, as
	// `scp -S jumpgate` and other programs that exec an ssh binary do.
	if argv0 == "ssh" || len(argv) > 0 && looksLikeSSHFlag(argv[0]) {
		return finish(e, runSSH(ctx, e, argv))
	}
	return Run(ctx, e, argv)
}

// takeMarker reads and clears an environment variable that marks a copy
// of ourselves, so that none of its children inherits it.
func takeMarker(name string) bool {
	v := os.Getenv(name)
	os.Unsetenv(name)
	return v == "3"
}

// looksLikeSSHFlag reports whether arg is an ssh(1) option rather than one
// of jumpgate's own (--help, --version, -h).
func looksLikeSSHFlag(arg string) bool {
	return len(arg) >= 2 && arg[0] == '-' && arg[1] != '-' && arg != "-h"
}

// Run dispatches args (without argv[0]) to a subcommand.
func Run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.io.ErrOut)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) == 1 || args[0] != "help" {
			usage(e.io.Out)
			return 0
		}
		// help COMMAND is COMMAND --help.
		args = []string{args[1], "--help"}
	case "--version":
		args = []string{"version"}
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		// Every command's --help (and -h) prints its usage on stdout and
		// exits 0: through its own flags, or through help.
		if len(args) == 2 && (args[1] == "--help" || args[1] == "-h") && c.help != nil {
			c.help(e.io.Out)
			return 0
		}
		return finish(e, c.run(ctx, e, args[1:]))
	}
	return finish(e, usageErrorf("unknown command %q", args[0]).hint("run 'jumpgate --help' for the list of commands"))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: jumpgate COMMAND [ARGS...]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'jumpgate COMMAND --help' for a command's flags.")
}

// finish prints err once, with its hints, and maps it to an exit code.
func finish(e *env, err error) int {
	if err == nil {
		return 0
	}
	if e.ctx != nil && errors.Is(err, context.Canceled) {
		if s, ok := signaled(e.ctx); ok {
			return 128 + int(s)
		}
	}
	var st *statusError
	if errors.As(err, &st) {
		return st.code
	}
	var cst *client.StatusError
	if errors.As(err, &cst) {
		return cst.Code
	}
	prog := "jumpgate"
	if e.argv0 == "ssh" {
		prog = "ssh"
	}
	msg := vlog.Clip(err.Error())
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	fmt.Fprintf(e.io.ErrOut, "%s: error: %s", prog, msg)
	var h *hintedError
	if errors.As(err, &h) {
		for _, l := range h.hints {
			fmt.Fprintf(e.io.ErrOut, "%s: hint: %s\n", prog, l)
		}
	}
	return exitCode(err)
}
