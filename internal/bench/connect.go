package bench

// The connect benchmark: from a lab's laptop, a fresh connection and `true`
// on hyper1 (direct), hyper2 (one hop) and vm1 (two hops), with jumpgate's
// client and with OpenSSH's, both run as processes with the same
// ssh_config, against the same servers.
//
//	NewConnect  writes the benchmark's ssh_config (the lab's, with the key
//	            exchange forced and multiplexing off for every hop)
//	Rows        runs each client once with -v per target to learn the key
//	            exchange it negotiated, and returns rows for Compare
//	Compare     (bench.go) times the rows, alternating the sides

import (
	"bufio"
	"bytes"
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

	"github.com/jumpgate/jumpgate/internal/lab"
)

// DefaultKex is the key exchange forced on both sides: both OpenSSH and
// golang.org/x/crypto/ssh implement it, whereas OpenSSH 9's default
// (sntrup761x25519-sha512) is missing from x/crypto and costs ~80 ms of CPU.
const DefaultKex = "curve25519-sha256"

// Target is a host the connect benchmark reaches from the laptop.
type Target struct {
	// Host is the lab host, as named in the lab's ssh_config.
	Host string
	// Hops is the number of jump hosts on the way (ProxyJump).
	Hops int
}

// Name is the row's name: "vm1 (2 hops)".
func (t Target) Name() string {
	switch t.Hops {
	case 0:
		return t.Host + " (direct)"
	case 1:
		return t.Host + " (1 hop)"
	}
	return fmt.Sprintf("%s (%d hops)", t.Host, t.Hops)
}

// ConnectTargets are the rows of the connect benchmark, nearest first.
func ConnectTargets() []Target {
	return []Target{{"hyper1", 0}, {"hyper2", 1}, {"vm1", 2}}
}

// Client is one side of the connect benchmark: an ssh(1)-compatible client.
type Client struct {
	// Name labels the side in tables ("jumpgate", "OpenSSH").
	Name string
	// Argv is the command before ssh's own arguments:
	// {"/usr/local/bin/jumpgate", "ssh"} or {"/usr/bin/ssh"}.
	Argv []string
}

// ConnectOptions configure [NewConnect].
type ConnectOptions struct {
	// Lab is a running lab whose laptop runs the clients.
	Lab *lab.Lab
	// A is jumpgate's client, B the reference (OpenSSH's).
	A, B Client
	// Kex is the key exchange forced on both sides; default [DefaultKex].
	Kex string
	// Dir receives the benchmark's ssh_config and scratch files; the
	// caller removes it. It should be root's and not world-writable.
	Dir string
	// Trace, when set, receives the timed -v output of every client
	// [Connect.Rows] runs (see [WriteTrace]).
	Trace io.Writer
}

// Connect runs clients from a lab's laptop. Its methods may be called from
// any goroutine, one run at a time.
type Connect struct {
	o      ConnectOptions
	config string
	netns  string

	mu     sync.Mutex // serializes runs: they share the stderr file
	stderr *os.File
}

// NewConnect prepares the connect benchmark in o.Lab: it writes an
// ssh_config that forces o.Kex, turns multiplexing off (every run is a fresh
// connection) and sets BatchMode for every host, jump hosts included, and
// then includes the lab's own. Close releases it.
func NewConnect(o ConnectOptions) (*Connect, error) {
	if o.Lab == nil {
		return nil, errors.New("connect benchmark: no lab")
	}
	if len(o.A.Argv) == 0 || len(o.B.Argv) == 0 {
		return nil, errors.New("connect benchmark: a client has no command")
	}
	if o.Kex == "" {
		o.Kex = DefaultKex
	}
	if strings.ContainsAny(o.Kex, " \t\n\"'") {
		return nil, fmt.Errorf("connect benchmark: bad key exchange name %q", o.Kex)
	}
	labConf, err := os.ReadFile(o.Lab.SSHConfig())
	if err != nil {
		return nil, fmt.Errorf("connect benchmark: read the lab's ssh_config: %w", err)
	}
	// Options given before any Host line apply to every host, and the first
	// value obtained wins: these override the lab's for all hops, which
	// command-line -o options would not reach in OpenSSH's ProxyJump.
	conf := fmt.Sprintf("# ssh_config of the connect benchmark: the lab's (below), with\n"+
		"# the same key exchange on both sides and a fresh connection every run.\n"+
		"KexAlgorithms %s\nControlMaster no\nControlPath none\nBatchMode yes\n\n%s", o.Kex, labConf)
	c := &Connect{o: o, config: filepath.Join(o.Dir, "ssh_config"),
		netns: filepath.Join("/run/netns", o.Lab.Netns("laptop"))}
	if err := os.WriteFile(c.config, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("connect benchmark: write ssh_config: %w", err)
	}
	c.stderr, err = os.CreateTemp(o.Dir, "stderr-")
	if err != nil {
		return nil, fmt.Errorf("connect benchmark: %w", err)
	}
	return c, nil
}

// Close releases the scratch file.
func (c *Connect) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.Close()
}

// SSHConfig is the path of the benchmark's ssh_config.
func (c *Connect) SSHConfig() string { return c.config }

// Argv is the command line that connects client to host and runs `true`
// (with -v when verbose).
func (c *Connect) Argv(client Client, host string, verbose bool) []string {
	argv := append([]string{}, client.Argv...)
	if verbose {
		argv = append(argv, "-v")
	}
	return append(argv, "-F", c.config, "-o", "KexAlgorithms="+c.o.Kex, host, "true")
}

// Run runs argv in the laptop and returns what it wrote to stderr. A client
// that fails is an error quoting the end of its stderr.
func (c *Connect) Run(ctx context.Context, argv []string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.stderr.Truncate(0); err != nil {
		return nil, err
	}
	if _, err := c.stderr.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// Files, not pipes: Wait returns when the client exits, not when the
	// last of its children (OpenSSH's ProxyJump hops) closes a pipe.
	cmd.Stderr = c.stderr
	cmd.Dir = "/"
	if err := startInNetns(c.netns, cmd); err != nil {
		return nil, fmt.Errorf("start %s in the laptop: %w", argv[0], err)
	}
	err := cmd.Wait()
	out, rerr := os.ReadFile(c.stderr.Name())
	if err != nil {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		return out, fmt.Errorf("%s: %w%s", strings.Join(argv, " "), err, indentTail(out, 12))
	}
	return out, rerr
}

// Sides are the negotiated key exchanges of a row, one per client.
type Sides struct{ A, B string }

// Same reports whether both sides are known and equal.
func (s Sides) Same() bool { return s.A == s.B && s.A != Unknown }

// Unknown stands for a key exchange a client did not show at -v.
const Unknown = "?"

// ConnectRow is a row of the connect benchmark with what it negotiated.
type ConnectRow struct {
	Row
	Target Target
	Kex    Sides
}

// Rows runs each client once with -v against every target to learn the key
// exchange it negotiated, and returns the rows to [Compare]. progress (may be
// nil) gets a line per target.
func (c *Connect) Rows(ctx context.Context, progress io.Writer) ([]ConnectRow, error) {
	var rows []ConnectRow
	for _, t := range ConnectTargets() {
		var kex Sides
		for _, side := range []struct {
			client Client
			kex    *string
		}{{c.o.A, &kex.A}, {c.o.B, &kex.B}} {
			argv := c.Argv(side.client, t.Host, true)
			lines, err := c.Trace(ctx, argv)
			if c.o.Trace != nil {
				WriteTrace(c.o.Trace, strings.Join(argv, " "), lines)
			}
			if err != nil {
				return nil, fmt.Errorf("%s, %s -v: %w", t.Name(), side.client.Name, err)
			}
			*side.kex = JoinKex(ParseKex([]byte(Text(lines))))
		}
		if progress != nil {
			fmt.Fprintf(progress, "bench: %s: kex %s %s, %s %s\n", t.Name(), c.o.A.Name, kex.A, c.o.B.Name, kex.B)
		}
		rows = append(rows, ConnectRow{Target: t, Kex: kex, Row: Row{
			Name: t.Name(),
			A:    c.variant(c.o.A, t.Host),
			B:    c.variant(c.o.B, t.Host),
			Note: kexNote(c.o.A.Name, c.o.B.Name, kex),
		}})
	}
	return rows, nil
}

func (c *Connect) variant(client Client, host string) Variant {
	argv := c.Argv(client, host, false)
	return Variant{Name: client.Name, Run: func(ctx context.Context) error {
		_, err := c.Run(ctx, argv)
		return err
	}}
}

func kexNote(a, b string, kex Sides) string {
	if kex.Same() {
		return "kex " + kex.A + " (both)"
	}
	return fmt.Sprintf("kex %s %s, %s %s", a, kex.A, b, kex.B)
}

// kexPrefix starts the line OpenSSH prints at -v for the negotiated key
// exchange (kex.c, kex_choose_conf), and jumpgate ssh prints the same.
const kexPrefix = "debug1: kex: algorithm: "

// ParseKex returns the key exchanges named by "debug1: kex: algorithm: X"
// lines in a client's -v output, in order: one per connection, so a jump
// through two hops shows three.
func ParseKex(verbose []byte) []string {
	var kex []string
	sc := bufio.NewScanner(bytes.NewReader(verbose))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if alg, ok := strings.CutPrefix(line, kexPrefix); ok {
			// "?" would read as Unknown, the mark for none seen.
			if alg = strings.TrimSpace(alg); alg != "" && alg != Unknown {
				kex = append(kex, alg)
			}
		}
	}
	return kex
}

// JoinKex shows the key exchanges of a row's connections: the name when
// they agree, "a+b" in order of first use when they differ, [Unknown] when
// there are none.
func JoinKex(kex []string) string {
	var seen []string
	for _, k := range kex {
		if !slices.Contains(seen, k) {
			seen = append(seen, k)
		}
	}
	if len(seen) == 0 {
		return Unknown
	}
	return strings.Join(seen, "+")
}

// ConnectVerdict is [Verdict] with the key exchanges: a ratio is only a
// verdict when both sides used the same one.
func ConnectVerdict(rows []ConnectRow, results []Result, max float64) string {
	v := Verdict(results, max)
	var differ []string
	for _, r := range rows {
		if !r.Kex.Same() {
			differ = append(differ, r.Target.Host)
		}
	}
	if len(differ) == 0 {
		if len(rows) > 0 {
			v += ", same key exchange on both sides"
		}
		return v
	}
	return v + "; key exchange not the same or not known on both sides for " + strings.Join(differ, ", ")
}

// indentTail returns the last n lines of b, indented on lines of their own.
func indentTail(b []byte, n int) string {
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n    " + strings.Join(lines, "\n    ")
}
