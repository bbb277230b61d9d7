package netcfg

import (
	"context"
	"fmt"
	"io"

	"github.com/jumpgate/jumpgate/internal/cfgfile"
)

// DefaultStateDir holds one state file per applied topology: the
// namespaces it created and the link emulators it started.
const DefaultStateDir = "/run/jumpgate/net"

// AliasPrefix starts the ifalias of every link a topology owns; the owner's
// name follows. Destroy deletes a link only when its alias says it is ours.
const AliasPrefix = "jumpgate-net:"

// Options says where a topology lives on this machine.
type Options struct {
	// NetnsPrefix goes in front of every namespace name of the file, so
	// that several copies can live side by side (tests, --prefix).
	NetnsPrefix string
	// HostNetns is the path of the namespace the file calls the host;
	// empty is the caller's own.
	HostNetns string
	// StateDir defaults to [DefaultStateDir].
	StateDir string
	// Emulator is the command line that runs the link emulator, to which
	// the emulator's flags are appended ("jumpgate net link-emu").
	Emulator []string
	// Netem forces whether the kernel's netem is used; nil probes.
	Netem *bool
	// Remote reaches a host the file names (host:), running iproute2
	// there; nil leaves such files unplannable.
	Remote func(ctx context.Context, host string) (Shell, error)
}

func (o Options) stateDir() string {
	if o.StateDir == "" {
		return DefaultStateDir
	}
	return o.StateDir
}

// owner is the name a topology's links carry in their alias.
func (o Options) owner(t *Topology) string { return o.NetnsPrefix + t.Name }

func (o Options) alias(t *Topology) string { return AliasPrefix + o.owner(t) }

// Shell runs a POSIX shell script on a host and returns its standard
// output; a failure carries its standard error.
type Shell func(ctx context.Context, script string) ([]byte, error)

// Step is one change to the kernel.
type Step struct {
	// Op is '+' (create), '~' (change) or '-' (remove).
	Op   byte
	Desc string
	do   func() error
	undo func() error
}

func (s Step) String() string { return fmt.Sprintf("%c %s", s.Op, s.Desc) }

// Plan is what an apply or destroy would do.
type Plan struct {
	Steps []Step
	// Notes explain choices, such as a userspace emulator where the
	// kernel has no netem.
	Notes []string
}

// Write prints the plan, one step a line, notes first.
func (p *Plan) Write(w io.Writer) error {
	for _, n := range p.Notes {
		if _, err := fmt.Fprintf(w, "note: %s\n", n); err != nil {
			return err
		}
	}
	if len(p.Steps) == 0 {
		_, err := fmt.Fprintln(w, "no changes")
		return err
	}
	for _, s := range p.Steps {
		if _, err := fmt.Fprintln(w, s.String()); err != nil {
			return err
		}
	}
	return nil
}

// ReadFile parses the network file at path, up to [cfgfile.Limit] bytes;
// ctx's end stops the read.
func ReadFile(ctx context.Context, path string) (*Topology, error) {
	data, err := cfgfile.Read(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("read network file: %w", err)
	}
	return Parse(path, data)
}
