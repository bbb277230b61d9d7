package lab

// The demo: the main job of jumpgate as a user sees it. A lab comes up, the
// laptop runs a command on vm1 through hyper1 and hyper2, every step is
// printed with what it ran, what it printed and how long it took, and the
// lab goes away again, also when the context is cancelled (Ctrl-C).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jumpgate/jumpgate/internal/shquote"
)

// DemoOptions configure [Demo].
type DemoOptions struct {
	// Name and StateDir are the demo lab's; Name defaults to "demo".
	Name     string
	StateDir string
	// Binary is the jumpgate binary: the servers, and the client when
	// Client is "jumpgate".
	Binary string
	// Client is "jumpgate" (`Binary ssh`, the default) or "openssh" (ssh).
	Client string
	// Server defaults to [Jumpgate]: the demo needs no OpenSSH.
	Server ServerKind
	// Out receives the transcript; Log progress lines (nil discards).
	Out io.Writer
	Log io.Writer
	// Libvirt also boots the libvirt guest ([Options.Libvirt]) and shows
	// it by name (with jumpgate's client).
	Libvirt bool
}

// DemoStep is one timed step of the demo.
type DemoStep struct {
	What   string
	Output string
	Took   time.Duration
	// Err is why the step failed; the demo stops at the first.
	Err error
}

// demoCommand is one command the demo runs in laptop: args follow the
// client (and its -F), note says what it shows.
type demoCommand struct {
	args     []string
	note     string
	jumpgate bool   // only with jumpgate's client
	sub      string // jumpgate subcommand ("ssh" unless set)
}

// demoScript is the demo's story: the main job, then (with jumpgate's
// client) what multiplexing, hop reuse and discovery add to it.
func demoScript(labName string, guest *Guest) []demoCommand {
	cmds := []demoCommand{
		{args: []string{"hyper1", "true"}},
		{args: []string{"-J", "hyper1", "hyper2", "true"}},
		{args: []string{"-J", "hyper1,hyper2", "vm1", "hostname; uname -sr"}},
		{args: []string{"-J", "hyper1,hyper2", "vm1", "true"}, jumpgate: true,
			note: "again: through the master the first connection left, no new handshake"},
		{args: []string{"-J", "hyper1,hyper2", "vm2", "hostname"}, jumpgate: true,
			note: "another VM: the hops' masters are reused, only vm2 authenticates"},
		{sub: "ctl", args: []string{"list"}, jumpgate: true,
			note: "the masters behind those commands"},
		{sub: "topo", args: []string{"hyper2", "--netns", labName + "-vm*"}, jumpgate: true,
			note: "hyper2's network, discovered through the jump chain with its own iproute2"},
	}
	if guest == nil {
		return cmds
	}
	return append(cmds,
		demoCommand{args: []string{guest.Target(), "hostname; uname -sr"}, jumpgate: true,
			note: "a libvirt domain by name: virsh on " + guest.Host + " gives its address"},
		demoCommand{sub: "console", args: []string{"--screenshot", demoScreenshot, guest.Target()}, jumpgate: true,
			note: "its screen without a display, from virsh screenshot: " + demoScreenshot},
		demoCommand{sub: "topo", args: []string{guest.Host, "--netns", "none"}, jumpgate: true,
			note: "the hypervisor's libvirt: the domain, its network and bridge"})
}

// demoScreenshot is where the demo leaves the guest's screen.
const demoScreenshot = "/tmp/jumpgate-demo-guest.png"

// demoCommands runs the script in laptop, printing each step as it ends,
// until a step fails.
func demoCommands(ctx context.Context, w io.Writer, l *Lab, o DemoOptions, client []string, shown string) []DemoStep {
	var env []string
	if o.Client == "jumpgate" {
		// The demo's masters live (and die) with its lab.
		run := filepath.Join(l.Dir(), "run")
		if err := os.MkdirAll(run, 0o700); err != nil {
			return []DemoStep{{What: "demo runtime directory", Err: err}}
		}
		env = append(os.Environ(), "XDG_RUNTIME_DIR="+run)
	}
	var steps []DemoStep
	for _, c := range demoScript(l.m.Name, l.m.Guest) {
		if c.jumpgate && o.Client != "jumpgate" {
			continue
		}
		argv := append(append([]string{}, client...), "-F", l.SSHConfig())
		what := "laptop$ " + shown + " " + shquote.Join(c.args)
		if c.sub != "" {
			argv = []string{o.Binary, c.sub}
			if c.sub != "ctl" {
				argv = append(argv, "-F", l.SSHConfig())
			}
			what = "laptop$ jumpgate " + c.sub + " " + shquote.Join(c.args)
		}
		argv = append(argv, c.args...)
		var out, errOut bytes.Buffer
		cmd := l.Command(ctx, "laptop", argv...)
		if env != nil {
			cmd.Env = env
		}
		cmd.Stdout, cmd.Stderr = &out, &errOut
		t := time.Now()
		err := cmd.Run()
		s := DemoStep{What: what, Output: out.String(), Took: time.Since(t)}
		if c.note != "" && err == nil {
			s.Output = "(" + c.note + ")\n" + s.Output
		}
		if err != nil {
			s.Err = err
			if ctx.Err() != nil {
				s.Err = ctx.Err()
			} else {
				s.Err = fmt.Errorf("%s: %w\n%s%s", s.What, err, indent(errOut.String()), l.serverLogs("hyper1", "hyper2", "vm1"))
			}
		}
		steps = append(steps, s)
		printStep(w, s)
		if err != nil {
			break
		}
	}
	return steps
}

func demoErr(steps []DemoStep) error {
	for _, s := range steps {
		if s.Err != nil {
			return s.Err
		}
	}
	return nil
}

// Demo runs the demo and returns its steps.
func Demo(ctx context.Context, o DemoOptions) ([]DemoStep, error) {
	if o.Name == "" {
		o.Name = "demo"
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	var client []string
	switch o.Client {
	case "", "jumpgate":
		o.Client = "jumpgate"
		if o.Binary == "" {
			return nil, errors.New("demo: the jumpgate client needs the jumpgate binary")
		}
		client = []string{o.Binary, "ssh"}
	case "openssh":
		p, err := exec.LookPath("ssh")
		if err != nil {
			return nil, fmt.Errorf("demo: OpenSSH client: %w", err)
		}
		client = []string{p}
	default:
		return nil, fmt.Errorf("demo: unknown client %q (want jumpgate or openssh)", o.Client)
	}

	w := o.Out
	fmt.Fprintf(w, "jumpgate lab demo: from laptop, run a command on vm1 through hyper1 and hyper2\n\n")
	var steps []DemoStep
	t := time.Now()
	l, err := Up(ctx, Options{Name: o.Name, Server: o.Server, Binary: o.Binary, StateDir: o.StateDir, Log: o.Log, Libvirt: o.Libvirt})
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("lab up: %d namespaces, veths, 2 bridges, %d × %s", len(l.Hosts()), len(l.m.Servers), serverName(o.Server))
	if g := l.m.Guest; g != nil {
		what += fmt.Sprintf(", libvirtd and %s (%s)", g.Target(), g.Virt)
	}
	up := DemoStep{What: what, Took: time.Since(t)}
	steps = append(steps, up)
	printStep(w, up)
	fmt.Fprintf(w, "    laptop %s ── hyper1 %s ── hyper2 %s ── virbr6 ── vm1 %s\n",
		l.Addr("laptop"), l.Addr("hyper1"), l.Addr("hyper2"), l.Addr("vm1"))
	shown := "ssh"
	if o.Client == "jumpgate" {
		shown = "jumpgate ssh"
	}
	fmt.Fprintf(w, "    every command below runs in laptop as: %s -F %s …\n\n", shown, l.SSHConfig())

	steps = append(steps, demoCommands(ctx, w, l, o, client, shown)...)
	runErr := demoErr(steps)

	t = time.Now()
	downErr := l.Down(context.WithoutCancel(ctx))
	down := DemoStep{What: "lab down: servers ended, namespaces and state removed", Took: time.Since(t)}
	steps = append(steps, down)
	if runErr == nil && downErr == nil {
		printStep(w, down)
		total := time.Duration(0)
		for _, s := range steps {
			total += s.Took
		}
		fmt.Fprintf(w, "\n%s in %v\n", "done", total.Round(time.Millisecond))
	}
	return steps, errors.Join(runErr, downErr)
}

func serverName(k ServerKind) string {
	if k == Jumpgate {
		return "jumpgate serve"
	}
	return "OpenSSH sshd"
}

func printStep(w io.Writer, s DemoStep) {
	fmt.Fprintf(w, "%-64s %8s\n", s.What, s.Took.Round(time.Millisecond))
	if s.Output != "" {
		fmt.Fprint(w, indent(s.Output))
	}
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}

// serverLogs returns the last lines of the given hosts' server logs.
func (l *Lab) serverLogs(hosts ...string) string {
	var b strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&b, "server log of %s:\n%s\n", h, tail(l.LogFile(h), 10))
	}
	return b.String()
}
