package cli

// `jumpgate lab`: a throw-away lab of network namespaces (see package lab)
// driven from the command line: up, down, status, exec and the demo.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/lab"
)

const labUsage = `Usage: jumpgate lab COMMAND [FLAGS]

A throw-away lab of network namespaces on this machine:

  laptop ──veth── hyper1 ──veth── hyper2
                    │               │
               bridge "wire"   bridge "virbr6"
                    │              │      │
                  lan1            vm1    vm2

Commands:
  up      build the lab and start an SSH server on every host but laptop
  down    remove everything up made
  status  show the hosts, their addresses and servers
  exec    run a command inside a host: jumpgate lab exec HOST -- CMD...
  demo    build a lab, run a command on vm1 from laptop through two hops, tear it down

Run 'jumpgate lab COMMAND --help' for a command's flags. All but status need root.
`

// runLab is `jumpgate lab`.
func runLab(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.io.ErrOut, labUsage)
		return &statusError{exitUsage}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprint(e.io.Out, labUsage)
		return nil
	case "up":
		return runLabUp(ctx, e, rest)
	case "down":
		return runLabDown(ctx, e, rest)
	case "status":
		return runLabStatus(e, rest)
	case "exec":
		return runLabExec(ctx, e, rest)
	case "demo":
		return runLabDemo(ctx, e, rest)
	}
	return usageErrorf("unknown lab command %q", sub).hint("run 'jumpgate lab --help' for the list")
}

// labFlags are the flags every lab command shares.
type labFlags struct {
	name, stateDir string
}

func (f *labFlags) add(flags *pflag.FlagSet, defName string) {
	flags.StringVar(&f.name, "name", defName, "the lab's `name`, prefix of its namespaces")
	flags.StringVar(&f.stateDir, "state-dir", "", "the lab's state `dir` (default "+lab.BaseDir+"/NAME)")
}

// parseFlags parses a command's args: --help prints usage, a blank line
// and the flags, and returns errHelp; a bad flag is a usage error.
func parseFlags(e *env, fs *pflag.FlagSet, usage string, args []string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintf(e.io.Out, "%s\n\n%s", strings.TrimRight(usage, "\n"), fs.FlagUsages())
		return errHelp
	}
	if err != nil {
		return usageErrorf("%s: %v", fs.Name(), err).hint("run 'jumpgate %s --help'", fs.Name())
	}
	return nil
}

// parseNoArgs is parseFlags for a command that takes flags only.
func parseNoArgs(e *env, fs *pflag.FlagSet, usage string, args []string) error {
	if err := parseFlags(e, fs, usage, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("%s takes no arguments, got %q", fs.Name(), fs.Args()).hint("run 'jumpgate %s --help'", fs.Name())
	}
	return nil
}

// writeJSON writes v indented, as every --json does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// errHelp ends a command after it printed its help.
var errHelp = &statusError{0}

func helpOr(err error) error {
	if err == errHelp {
		return nil
	}
	return err
}

// labWhy is why a lab command needs root.
const labWhy = "creates network namespaces, links and mounts"

// needRoot explains that `jumpgate cmd` needs root, and why.
func needRoot(cmd, why string) error {
	if os.Geteuid() == 0 {
		return nil
	}
	return withHint(fmt.Errorf("'jumpgate %s' needs root: it %s", cmd, why), 1, "run it as root: sudo jumpgate "+cmd)
}

// rootBinary is needRoot, then this binary's path (labs run copies of it).
func rootBinary(cmd, why string) (string, error) {
	if err := needRoot(cmd, why); err != nil {
		return "", err
	}
	bin, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the jumpgate binary: %w", err)
	}
	return bin, nil
}

func runLabUp(ctx context.Context, e *env, args []string) error {
	flags := pflag.NewFlagSet("lab up", pflag.ContinueOnError)
	var f labFlags
	f.add(flags, lab.DefaultName)
	server := flags.String("server", "openssh", "SSH server on the hosts: `openssh` (Debian's sshd) or jumpgate (jumpgate serve)")
	virt := flags.Bool("libvirt", false, "also run libvirtd in hyper2 with a small qemu guest, hyper2/guest")
	if err := parseNoArgs(e, flags, "Usage: jumpgate lab up [--name N] [--server openssh|jumpgate] [--libvirt] [--state-dir D]", args); err != nil {
		return helpOr(err)
	}
	kind, err := lab.ParseServerKind(*server)
	if err != nil {
		return usageErrorf("lab up: %v", err)
	}
	bin, err := rootBinary("lab up", labWhy)
	if err != nil {
		return err
	}
	t := time.Now()
	l, err := lab.Up(ctx, lab.Options{Name: f.name, Server: kind, Binary: bin, StateDir: f.stateDir, Log: e.io.ErrOut, Libvirt: *virt})
	if err != nil {
		return labHint(err, kind)
	}
	took := time.Since(t)
	w := e.io.Out
	fmt.Fprintf(w, "lab %s is up (%s servers) in %v\n\n", l.Name(), kind, took.Round(time.Millisecond))
	l.WriteHosts(w)
	self := "jumpgate"
	if e.argv0 != "" && e.argv0 != "ssh" {
		self = e.argv0
	}
	l.WriteTry(w, self+" lab", nameFlag(l.Name()), bin)
	return nil
}

func nameFlag(name string) string {
	if name == lab.DefaultName {
		return ""
	}
	return " --name " + name
}

// labHint adds advice to errors from lab.Up.
func labHint(err error, kind lab.ServerKind) error {
	var me *lab.MissingError
	if errors.As(err, &me) {
		return withHint(err, 1, "apt-get install "+strings.Join(me.Packages, " ")+" (scripts/deps.sh installs them all)")
	}
	if errors.Is(err, lab.ErrNotStatic) {
		return withHint(err, 1, "build it static: CGO_ENABLED=0 go build ./cmd/jumpgate (make build does)")
	}
	if kind == lab.OpenSSH && strings.Contains(err.Error(), "find sshd") {
		return withHint(err, 1, "install OpenSSH's server: apt-get install openssh-server", "or use jumpgate's own: --server jumpgate")
	}
	return err
}

func openLab(f labFlags) (*lab.Lab, error) {
	l, err := lab.Open(f.name, f.stateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, withHint(fmt.Errorf("no lab %q is up", f.name), 1, "start one: sudo jumpgate lab up"+nameFlag(f.name))
	}
	if errors.Is(err, fs.ErrPermission) {
		return nil, withHint(err, 1, "lab state is root's: run it as root")
	}
	return l, err
}

func runLabDown(ctx context.Context, e *env, args []string) error {
	flags := pflag.NewFlagSet("lab down", pflag.ContinueOnError)
	var f labFlags
	f.add(flags, lab.DefaultName)
	if err := parseNoArgs(e, flags, "Usage: jumpgate lab down [--name N] [--state-dir D]", args); err != nil {
		return helpOr(err)
	}
	if err := needRoot("lab down", labWhy); err != nil {
		return err
	}
	l, err := lab.Open(f.name, f.stateDir)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(e.io.ErrOut, "lab %s is not up: nothing to do\n", f.name)
		return nil
	}
	if err != nil {
		return err
	}
	l.SetLog(e.io.ErrOut)
	t := time.Now()
	if err := l.Down(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.io.ErrOut, "lab %s removed in %v\n", l.Name(), time.Since(t).Round(time.Millisecond))
	return nil
}

func runLabStatus(e *env, args []string) error {
	flags := pflag.NewFlagSet("lab status", pflag.ContinueOnError)
	var f labFlags
	f.add(flags, lab.DefaultName)
	asJSON := flags.Bool("json", false, "print JSON")
	if err := parseNoArgs(e, flags, "Usage: jumpgate lab status [--name N] [--state-dir D] [--json]", args); err != nil {
		return helpOr(err)
	}
	l, err := openLab(f)
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(e.io.Out, "lab %s (%s servers), state in %s\n\n", l.Name(), l.Server(), l.Dir())
		l.WriteHosts(e.io.Out)
		return nil
	}
	return writeJSON(e.io.Out, l.Status())
}

func runLabExec(ctx context.Context, e *env, args []string) error {
	flags := pflag.NewFlagSet("lab exec", pflag.ContinueOnError)
	flags.SetInterspersed(false)
	var f labFlags
	f.add(flags, lab.DefaultName)
	if err := parseFlags(e, flags, "Usage: jumpgate lab exec [--name N] HOST -- CMD [ARGS...]", args); err != nil {
		return helpOr(err)
	}
	rest := flags.Args()
	if len(rest) > 1 && rest[1] == "--" {
		rest = append(rest[:1:1], rest[2:]...)
	}
	if len(rest) < 2 {
		return usageErrorf("lab exec needs a host and a command").hint("jumpgate lab exec laptop -- ssh -F %s/%s/ssh_config vm1 hostname", lab.BaseDir, f.name)
	}
	if err := needRoot("lab exec", labWhy); err != nil {
		return err
	}
	l, err := openLab(f)
	if err != nil {
		return err
	}
	if l.Addr(rest[0]) == "" {
		return usageErrorf("lab %s has no host %q", l.Name(), rest[0]).hint("hosts: %s", strings.Join(l.Hosts(), ", "))
	}
	cmd := l.Command(ctx, rest[0], rest[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.io.In, e.io.Out, e.io.ErrOut
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if code < 0 { // killed by a signal, as a shell reports it
			code = exitConnection
		}
		return &statusError{code}
	}
	if err != nil {
		return fmt.Errorf("lab exec on %s: %w", rest[0], err)
	}
	return nil
}

func runLabDemo(ctx context.Context, e *env, args []string) error {
	flags := pflag.NewFlagSet("lab demo", pflag.ContinueOnError)
	var f labFlags
	f.add(flags, "demo")
	client := flags.String("client", "jumpgate", "the SSH client in laptop: `jumpgate` (jumpgate ssh) or openssh (ssh)")
	server := flags.String("server", "jumpgate", "SSH server on the hosts: `jumpgate` (jumpgate serve) or openssh (sshd)")
	virt := flags.Bool("libvirt", false, "also boot a libvirt guest on hyper2 and reach it as hyper2/guest (jumpgate client)")
	if err := parseNoArgs(e, flags, "Usage: jumpgate lab demo [--client jumpgate|openssh] [--server jumpgate|openssh] [--libvirt] [--name N]", args); err != nil {
		return helpOr(err)
	}
	kind, err := lab.ParseServerKind(*server)
	if err != nil {
		return usageErrorf("lab demo: %v", err)
	}
	if *client != "jumpgate" && *client != "openssh" {
		return usageErrorf("lab demo: unknown client %q (want jumpgate or openssh)", *client)
	}
	bin, err := rootBinary("lab demo", labWhy)
	if err != nil {
		return err
	}
	_, err = lab.Demo(ctx, lab.DemoOptions{Name: f.name, StateDir: f.stateDir, Binary: bin, Client: *client,
		Server: kind, Out: e.io.Out, Log: io.Discard, Libvirt: *virt})
	if ctx.Err() != nil {
		return withHint(errors.New("demo interrupted; its lab was removed"), 130)
	}
	if err != nil {
		return labHint(fmt.Errorf("demo: %w", err), kind)
	}
	return nil
}
