package bench

// The mux benchmark: from a lab's laptop, `true` through a
// master that is already up, jumpgate's against OpenSSH's, to hyper1
// (direct) and to vm1 (master reached through two jumps); and `vm2 true`
// right after `vm1 true`, where jumpgate reuses the jump hosts' masters
// and OpenSSH connects afresh through -J.
//
//	NewMux      writes the benchmark's ssh_config (the lab's with the key
//	            exchange forced for every hop; multiplexing left to each
//	            side: jumpgate's defaults, OpenSSH's ControlMaster,
//	            ControlPath and ControlPersist on its command line)
//	Setup       starts the masters with -v, learning each side's key
//	            exchange, and returns the rows
//	CompareMux  times the rows alternately, with the untimed reset a row
//	            needs between runs (vm2's master ended, so that every
//	            jumpgate run is again the first to vm2)
//	Close       ends every master

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/mux"
	"github.com/jumpgate/jumpgate/internal/procstat"
)

// MuxReuseTarget is the target ratio of the hop-reuse row: jumpgate at
// least 3x faster than OpenSSH's fresh ProxyJump.
const MuxReuseTarget = 1.0 / 3

// MuxOptions configure [NewMux].
type MuxOptions struct {
	// Lab is a running lab whose laptop runs the clients.
	Lab *lab.Lab
	// A is jumpgate's client, B the reference (OpenSSH's).
	A, B Client
	// Kex is the key exchange forced on both sides; default [DefaultKex].
	Kex string
	// Target is the ratio the multiplexed rows must meet (A/B ≤ Target),
	// default 1; ReuseTarget the hop-reuse row's, default
	// [MuxReuseTarget].
	Target, ReuseTarget float64
	// Dir receives the ssh_config, the control sockets of both sides and
	// scratch files; the caller removes it after Close. Keep its path
	// short (sockets) and root's (sshd's StrictModes).
	Dir string
}

// Mux runs the mux benchmark's clients from a lab's laptop.
type Mux struct {
	o       MuxOptions
	config  string
	netns   string
	runtime string // jumpgate's XDG_RUNTIME_DIR
	env     []string

	mu     sync.Mutex // serializes runs: they share the stderr file
	stderr *os.File
}

// MuxRow is a row of the mux benchmark.
type MuxRow struct {
	Row
	Kex Sides
	// Target is the ratio A/B the row must meet (≤).
	Target float64
	// ResetA, when set, runs untimed after every run of A.
	ResetA func(ctx context.Context) error
	// ArgvA and ArgvB are the command lines the sides run.
	ArgvA, ArgvB []string
}

// NewMux prepares the mux benchmark in o.Lab. Close ends its masters.
func NewMux(o MuxOptions) (*Mux, error) {
	if o.Lab == nil {
		return nil, errors.New("mux benchmark: no lab")
	}
	if len(o.A.Argv) == 0 || len(o.B.Argv) == 0 {
		return nil, errors.New("mux benchmark: a client has no command")
	}
	if o.Kex == "" {
		o.Kex = DefaultKex
	}
	if o.Target == 0 {
		o.Target = 1
	}
	if o.ReuseTarget == 0 {
		o.ReuseTarget = MuxReuseTarget
	}
	if strings.ContainsAny(o.Kex, " \t\n\"'") {
		return nil, fmt.Errorf("mux benchmark: bad key exchange name %q", o.Kex)
	}
	labConf, err := os.ReadFile(o.Lab.SSHConfig())
	if err != nil {
		return nil, fmt.Errorf("mux benchmark: read the lab's ssh_config: %w", err)
	}
	// Before any Host line, so for every hop (first value wins); nothing
	// about multiplexing, which each side is given as its users would.
	conf := fmt.Sprintf("# ssh_config of the mux benchmark: the lab's (below), with the same\n"+
		"# key exchange on both sides, every hop.\nKexAlgorithms %s\nBatchMode yes\n\n%s", o.Kex, labConf)
	m := &Mux{o: o, config: filepath.Join(o.Dir, "ssh_config"), runtime: filepath.Join(o.Dir, "rt"),
		netns: filepath.Join("/run/netns", o.Lab.Netns("laptop"))}
	if err := os.WriteFile(m.config, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("mux benchmark: write ssh_config: %w", err)
	}
	if err := os.MkdirAll(m.runtime, 0o700); err != nil {
		return nil, fmt.Errorf("mux benchmark: %w", err)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") && !strings.HasPrefix(kv, "SSH_AUTH_SOCK=") {
			m.env = append(m.env, kv)
		}
	}
	m.env = append(m.env, "XDG_RUNTIME_DIR="+m.runtime)
	if m.stderr, err = os.CreateTemp(o.Dir, "stderr-"); err != nil {
		return nil, fmt.Errorf("mux benchmark: %w", err)
	}
	return m, nil
}

// SSHConfig is the path of the benchmark's ssh_config.
func (m *Mux) SSHConfig() string { return m.config }

// RuntimeDir is jumpgate's XDG_RUNTIME_DIR: its masters' sockets are in
// its "jumpgate" directory.
func (m *Mux) RuntimeDir() string { return m.runtime }

// jumps is the ProxyJump of vm1 and vm2, given on the command line of
// both sides.
const jumps = "hyper1,hyper2"

// Argv is the command line with which client runs `true` on host, with
// -v when verbose: jumpgate with its defaults (multiplexing on), OpenSSH
// with muxed set through its own master (ControlMaster auto, a
// ControlPath in Dir, ControlPersist 10m) and without it otherwise. vm1
// and vm2 are reached with -J hyper1,hyper2.
func (m *Mux) Argv(client Client, host string, muxed, verbose bool) []string {
	argv := slices.Clone(client.Argv)
	if verbose {
		argv = append(argv, "-v")
	}
	argv = append(argv, "-F", m.config, "-o", "KexAlgorithms="+m.o.Kex)
	if client.Name != m.o.A.Name && muxed {
		argv = append(argv, "-o", "ControlMaster=auto", "-o", "ControlPath="+m.opensshSocket(host), "-o", "ControlPersist=10m")
	}
	if host == "vm1" || host == "vm2" {
		argv = append(argv, "-J", jumps)
	}
	return append(argv, host, "true")
}

func (m *Mux) opensshSocket(host string) string {
	return filepath.Join(m.o.Dir, "openssh-"+host)
}

// run runs argv in the laptop (with jumpgate's environment for side A),
// stderr to errOut (the shared scratch file when nil), and returns the
// stderr. Files, not pipes: a master started in the background keeps
// what it inherited.
func (m *Mux) run(ctx context.Context, argv []string, errOut *os.File) ([]byte, error) {
	if errOut == nil {
		m.mu.Lock()
		defer m.mu.Unlock()
		if err := m.stderr.Truncate(0); err != nil {
			return nil, err
		}
		if _, err := m.stderr.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		errOut = m.stderr
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = errOut
	cmd.Dir = "/"
	if len(argv) >= len(m.o.A.Argv) && slices.Equal(argv[:len(m.o.A.Argv)], m.o.A.Argv) {
		cmd.Env = m.env
	}
	if err := startInNetns(m.netns, cmd); err != nil {
		return nil, fmt.Errorf("start %s in the laptop: %w", argv[0], err)
	}
	err := cmd.Wait()
	out, rerr := os.ReadFile(errOut.Name())
	if err != nil {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		return out, fmt.Errorf("%s: %w%s", strings.Join(argv, " "), err, indentTail(out, 12))
	}
	return out, rerr
}

// verbose runs argv (with -v) with a stderr file of its own, which a
// master it starts may go on writing to, and returns the key exchanges.
func (m *Mux) verbose(ctx context.Context, argv []string, trace io.Writer) ([]string, error) {
	f, err := os.CreateTemp(m.o.Dir, "verbose-")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := m.run(ctx, argv, f)
	if trace != nil {
		fmt.Fprintf(trace, "--- %s\n%s", strings.Join(argv, " "), out)
	}
	return ParseKex(out), err
}

// Setup starts the masters each multiplexed row runs through, each side
// with -v to learn its key exchanges, and returns the rows for
// [CompareMux]. trace (may be nil) gets the -v output.
func (m *Mux) Setup(ctx context.Context, progress, trace io.Writer) ([]MuxRow, error) {
	a, b := m.o.A, m.o.B
	var kexA, kexB [3][]string
	steps := []struct {
		client Client
		host   string
		muxed  bool
		kex    *[]string
	}{
		// jumpgate: vm1 first, so that hyper1 and hyper2 have masters
		// (its hops), then hyper1 reuses the one made for the hop.
		{a, "vm1", true, &kexA[1]},
		{a, "hyper1", true, &kexA[0]},
		{b, "hyper1", true, &kexB[0]},
		{b, "vm1", true, &kexB[1]},
		{b, "vm2", false, &kexB[2]},
		{a, "vm2", true, &kexA[2]},
	}
	for _, s := range steps {
		kex, err := m.verbose(ctx, m.Argv(s.client, s.host, s.muxed, true), trace)
		if err != nil {
			return nil, fmt.Errorf("%s to %s, -v: %w", s.client.Name, s.host, err)
		}
		*s.kex = kex
	}
	// hyper1's master is the one started for vm1's first hop, so its -v
	// run had no key exchange of its own.
	if len(kexA[0]) == 0 {
		kexA[0] = kexA[1]
	}
	resetVM2 := func(ctx context.Context) error { return m.EndJumpgateMaster(ctx, "vm2") }
	if err := resetVM2(ctx); err != nil {
		return nil, err
	}
	rows := []MuxRow{
		{Row: Row{Name: "hyper1 (direct), via master", A: m.variant(a, "hyper1", true), B: m.variant(b, "hyper1", true)}, Target: m.o.Target},
		{Row: Row{Name: "vm1 (2 hops), via master", A: m.variant(a, "vm1", true), B: m.variant(b, "vm1", true)}, Target: m.o.Target},
		{Row: Row{Name: "vm2 after vm1: hop reuse vs fresh -J", A: m.variant(a, "vm2", true), B: m.variant(b, "vm2", false)},
			Target: m.o.ReuseTarget, ResetA: resetVM2},
	}
	for i, h := range []string{"hyper1", "vm1", "vm2"} {
		r := &rows[i]
		r.ArgvA, r.ArgvB = m.Argv(a, h, true, false), m.Argv(b, h, i < 2, false)
		r.Kex = Sides{JoinKex(kexA[i]), JoinKex(kexB[i])}
		r.Note = kexNote(a.Name, b.Name, r.Kex) + fmt.Sprintf("; target ≤ %.2f", r.Target)
		if progress != nil {
			fmt.Fprintf(progress, "bench: %s: kex %s %s, %s %s\n", r.Name, a.Name, r.Kex.A, b.Name, r.Kex.B)
		}
	}
	return rows, nil
}

func (m *Mux) variant(client Client, host string, muxed bool) Variant {
	argv := m.Argv(client, host, muxed, false)
	return Variant{Name: client.Name, Run: func(ctx context.Context) error {
		_, err := m.run(ctx, argv, nil)
		return err
	}}
}

// EndJumpgateMaster ends jumpgate's master for host (-O exit), as the
// rows reach it, and waits until it has gone.
func (m *Mux) EndJumpgateMaster(ctx context.Context, host string) error {
	argv := m.Argv(m.o.A, host, true, false)
	argv = append(argv[:len(argv)-2], "-O", "check", host)
	out, err := m.run(ctx, argv, nil)
	if err != nil {
		return fmt.Errorf("jumpgate's master for %s: %w", host, err)
	}
	var pid int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "Master running (pid=%d)", &pid); err != nil {
		return fmt.Errorf("jumpgate's master for %s: -O check said %q", host, out)
	}
	argv[len(argv)-2] = "exit"
	if _, err := m.run(ctx, argv, nil); err != nil {
		return fmt.Errorf("jumpgate's master for %s: %w", host, err)
	}
	return waitExit(ctx, pid, 5*time.Second)
}

// waitExit waits up to d for pid to end (or turn zombie: masters are
// reparented to a pid 1 that may not reap them).
func waitExit(ctx context.Context, pid int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if st, err := procstat.Read(pid); err != nil || st.State == 'Z' {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("master pid %d still runs %v after -O exit", pid, d)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close ends every master of both sides (-O exit, then SIGKILL by the
// pid it gave) and releases the scratch file.
func (m *Mux) Close() error {
	socks, _ := filepath.Glob(filepath.Join(m.runtime, "jumpgate", "*"))
	ours, _ := filepath.Glob(filepath.Join(m.o.Dir, "openssh-*"))
	for _, s := range append(socks, ours...) {
		if fi, err := os.Lstat(s); err == nil && fi.Mode()&os.ModeSocket != 0 {
			endMaster(s)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stderr.Close()
}

// endMaster ends the master at path, jumpgate's or OpenSSH's: -O exit
// through the control socket, SIGKILL if it has not gone in 3 s.
func endMaster(path string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := mux.Dial(ctx, path)
	if err != nil {
		return
	}
	defer c.Close()
	pid, err := c.Check(ctx)
	if err != nil || pid <= 1 {
		return
	}
	c.Terminate(ctx)
	if waitExit(ctx, pid, 3*time.Second) != nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// CompareMux is [Compare] for mux rows: after every run of A (warm-up
// included) the row's ResetA runs, untimed.
func CompareMux(ctx context.Context, rows []MuxRow, runs int, progress io.Writer) ([]Result, error) {
	if runs < 1 {
		return nil, fmt.Errorf("runs must be at least 1, got %d", runs)
	}
	results := make([]Result, len(rows))
	for i, row := range rows {
		results[i].Row = row.Row
		for round := -1; round < runs; round++ {
			first, second := row.A, row.B
			if round%2 != 0 {
				first, second = row.B, row.A
			}
			for _, v := range []Variant{first, second} {
				d, err := timeOnce(ctx, v)
				if err != nil {
					return results, fmt.Errorf("%s, %s: %w", row.Name, v.Name, err)
				}
				isA := v.Name == row.A.Name
				if isA && row.ResetA != nil {
					if err := row.ResetA(ctx); err != nil {
						return results, fmt.Errorf("%s, reset after %s: %w", row.Name, v.Name, err)
					}
				}
				switch {
				case round < 0: // warm-up
				case isA:
					results[i].A = append(results[i].A, d)
				default:
					results[i].B = append(results[i].B, d)
				}
			}
		}
		if progress != nil {
			fmt.Fprintf(progress, "bench: %s done (%d runs each)\n", row.Name, runs)
		}
	}
	return results, nil
}

// MuxVerdict says whether every row meets its own target with the same
// key exchange on both sides.
func MuxVerdict(rows []MuxRow, results []Result) string {
	var bad, differ []string
	for i, r := range results {
		if r.Ratio() > rows[i].Target || r.Ratio() == 0 {
			bad = append(bad, fmt.Sprintf("%s (%.2f, target ≤ %.2f)", r.Row.Name, r.Ratio(), rows[i].Target))
		}
		if !rows[i].Kex.Same() {
			differ = append(differ, r.Row.Name)
		}
	}
	v := "every row within its target"
	if len(bad) > 0 {
		v = "above target: " + strings.Join(bad, ", ")
	}
	if len(differ) > 0 {
		return v + "; key exchange not the same or not known on both sides for " + strings.Join(differ, ", ")
	}
	return v + ", same key exchange on both sides"
}

// MuxOK reports whether the verdict of [MuxVerdict] is a pass.
func MuxOK(rows []MuxRow, results []Result) bool {
	for i, r := range results {
		if r.Ratio() > rows[i].Target || r.Ratio() == 0 || !rows[i].Kex.Same() {
			return false
		}
	}
	return len(results) == len(rows)
}
