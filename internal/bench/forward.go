package bench

// The forward benchmark: iperf3 through `ssh -L` over two hops (laptop →
// hyper1 → hyper2 → vm1), jumpgate's client against OpenSSH's, each
// keeping its forward up for the whole run while iperf3 runs through the
// two forwards alternately.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
)

// DefaultCipher is the cipher forced on both sides of the forward
// benchmark: both implement it with AES-NI, whereas their defaults differ
// (OpenSSH prefers chacha20-poly1305).
const DefaultCipher = "aes128-gcm@openssh.com"

// ForwardOptions configure [Forward].
type ForwardOptions struct {
	// Lab is a running lab: the clients run in its laptop, iperf3's
	// server in Target.
	Lab *lab.Lab
	// A is jumpgate's client, B the reference (OpenSSH's).
	A, B Client
	// Target is the host iperf3 serves on; default "vm1" (two hops).
	Target string
	// Kex and Cipher are forced on both sides, every hop; defaults
	// [DefaultKex] and [DefaultCipher]. Cipher "default" forces none.
	Kex, Cipher string
	// Runs per side and direction, after a dropped warm-up; Seconds per
	// iperf3 run. Defaults 5 and 3.
	Runs    int
	Seconds int
	// Dir receives the benchmark's ssh_configs and control sockets;
	// the caller removes it.
	Dir string
	// Masters measures both clients through their control masters too
	// (ControlMaster auto, ControlPersist 30, one master per host of
	// the chain): jumpgate's default, against OpenSSH's same setup.
	Masters bool
	// RTT, if set, measures a long path instead: downloads from hyper1
	// over a cable with this emulated round trip, one hop, and plain TCP
	// over the same cable as the ceiling. Masters and Target are unused.
	RTT time.Duration
	// Emulator runs the link emulator where the kernel has no netem
	// (netcfg.Options.Emulator); needed with RTT.
	Emulator []string
}

// ForwardResult is one direction's throughput samples in bits per
// second: A is jumpgate's, B OpenSSH's, and TCP plain TCP's on the same
// path (long-path mode only).
type ForwardResult struct {
	Name string
	A, B []float64
	TCP  []float64
}

// TCPRatio is median(A)/median(TCP), 0 without a ceiling.
func (r ForwardResult) TCPRatio() float64 {
	c := MedianFloat(r.TCP)
	if c == 0 {
		return 0
	}
	return MedianFloat(r.A) / c
}

// Ratio is median(A)/median(B): above 1 means A is faster.
func (r ForwardResult) Ratio() float64 {
	b := MedianFloat(r.B)
	if b == 0 {
		return 0
	}
	return MedianFloat(r.A) / b
}

// MedianFloat returns the median of xs, or 0 for none.
func MedianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Forward runs the forward benchmark: an iperf3 server on the target, a
// `-N -L` forward to it from each client, then iperf3 from the laptop
// through one forward and the other in turn (swapping which goes first
// each round), for upload (laptop → target) and download. With
// o.Masters it does it all again with both clients through their control
// masters. progress (may be nil) gets a line per run.
func Forward(ctx context.Context, o ForwardOptions, progress io.Writer) ([]ForwardResult, error) {
	if o.Lab == nil || len(o.A.Argv) == 0 || len(o.B.Argv) == 0 {
		return nil, errors.New("forward benchmark: needs a lab and two clients")
	}
	if _, err := exec.LookPath("iperf3"); err != nil {
		return nil, fmt.Errorf("forward benchmark: %w", err)
	}
	switch {
	case o.RTT < 0 || o.RTT > 20*time.Second:
		return nil, fmt.Errorf("forward benchmark: round trip %v out of range", o.RTT)
	case o.RTT > 0:
		o.Target, o.Masters = "hyper1", false
	case o.Target == "":
		o.Target = "vm1"
	}
	if o.Kex == "" {
		o.Kex = DefaultKex
	}
	if o.Cipher == "" {
		o.Cipher = DefaultCipher
	}
	if o.Runs < 1 {
		o.Runs = 5
	}
	if o.Seconds < 1 {
		o.Seconds = 3
	}
	if progress == nil {
		progress = io.Discard
	}
	for _, s := range []string{o.Kex, o.Cipher, o.Target} {
		if strings.ContainsAny(s, " \t\n\"'") {
			return nil, fmt.Errorf("forward benchmark: bad name %q", s)
		}
	}
	labConf, err := os.ReadFile(o.Lab.SSHConfig())
	if err != nil {
		return nil, fmt.Errorf("forward benchmark: read the lab's ssh_config: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const serverPort = 5201
	srv := o.Lab.Command(ctx, o.Target, "iperf3", "-s", "-B", "127.0.0.1", "-p", strconv.Itoa(serverPort))
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("forward benchmark: iperf3 server on %s: %w", o.Target, err)
	}
	defer srv.Wait()
	defer srv.Process.Kill()

	modes := []forwardMode{{rtt: o.RTT}}
	if o.RTT > 0 {
		down, err := buildLongPath(ctx, o.Lab, o.RTT, o.Emulator, o.Dir)
		if err != nil {
			return nil, fmt.Errorf("forward benchmark: %w", err)
		}
		defer func() {
			if err := down(); err != nil {
				fmt.Fprintf(progress, "bench: remove the long path: %v\n", err)
			}
		}()
		fmt.Fprintf(progress, "bench: long path laptop %s ↔ hyper1 %s, round trip %v\n", longPathLaptop, longPathHyper, o.RTT)
		// Plain TCP's server listens on the long path's address.
		tcp := o.Lab.Command(ctx, o.Target, "iperf3", "-s", "-B", longPathHyper, "-p", strconv.Itoa(serverPort+1))
		if err := tcp.Start(); err != nil {
			return nil, fmt.Errorf("forward benchmark: iperf3 server on %s: %w", o.Target, err)
		}
		defer tcp.Wait()
		defer tcp.Process.Kill()
	}
	if o.Masters {
		modes = append(modes, forwardMode{masters: true})
	}
	var results []ForwardResult
	for _, m := range modes {
		res, err := m.run(ctx, o, labConf, serverPort, progress)
		if err != nil {
			return nil, err
		}
		results = append(results, res...)
	}
	return results, nil
}

// forwardMode is how both clients connect: directly, each hop of the
// chain in the client's own process(es) (ControlMaster no), or through
// control masters, one per host of the chain, as jumpgate does by
// default.
type forwardMode struct {
	masters bool
	rtt     time.Duration // the long path's round trip
}

func (m forwardMode) String() string {
	if m.rtt > 0 {
		return fmt.Sprintf("-L, 1 hop, %v round trip", m.rtt)
	}
	if m.masters {
		return "-L, 2 hops, masters"
	}
	return "-L, 2 hops"
}

// config writes the ssh_config of one side: the lab's, with the same
// algorithms on both sides and every hop, and this mode's multiplexing.
// Masters get a control directory of their own per side.
func (m forwardMode) config(o ForwardOptions, labConf []byte, side string) (path, ctlDir string, err error) {
	conf := fmt.Sprintf("# ssh_config of the forward benchmark (%s, side %s): the lab's (below),\n"+
		"# with the same algorithms on both sides, every hop.\nKexAlgorithms %s\n", m, side, o.Kex)
	if o.Cipher != "default" {
		conf += "Ciphers " + o.Cipher + "\n"
	}
	if m.masters {
		ctlDir = filepath.Join(o.Dir, "ctl-"+side)
		if err := os.Mkdir(ctlDir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return "", "", fmt.Errorf("forward benchmark: %w", err)
		}
		// Idle masters end 30 s after their last client even if the
		// benchmark dies before it can tell them to exit.
		conf += "ControlMaster auto\nControlPersist 30\nControlPath " + ctlDir + "/%C\n"
	} else {
		conf += "ControlMaster no\nControlPath none\n"
	}
	conf += "BatchMode yes\nExitOnForwardFailure yes\n\n"
	if m.rtt > 0 {
		conf += longPathConfig() + "\n"
	}
	conf += string(labConf)
	path = filepath.Join(o.Dir, "ssh_config-"+side)
	if m.masters {
		path += "-masters"
	}
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return "", "", fmt.Errorf("forward benchmark: write ssh_config: %w", err)
	}
	return path, ctlDir, nil
}

// run starts both forwards in mode m and measures upload and download
// through them; it ends the forwards, and any masters, before returning.
func (m forwardMode) run(ctx context.Context, o ForwardOptions, labConf []byte, serverPort int, progress io.Writer) ([]ForwardResult, error) {
	names := map[string]string{"A": o.A.Name, "B": o.B.Name}
	ports := map[string]int{"A": 15201, "B": 15202}
	for side, c := range map[string]Client{"A": o.A, "B": o.B} {
		config, ctlDir, err := m.config(o, labConf, side)
		if err != nil {
			return nil, err
		}
		argv := append(slices.Clone(c.Argv), "-F", config, "-N",
			"-L", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:%d", ports[side], serverPort), o.Target)
		cmd := o.Lab.Command(ctx, "laptop", argv...)
		errOut, err := os.CreateTemp(o.Dir, "stderr-")
		if err != nil {
			return nil, err
		}
		defer errOut.Close()
		cmd.Stderr = errOut
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("forward benchmark: start %s: %w", c.Name, err)
		}
		defer cmd.Wait()
		defer cmd.Process.Kill()
		if ctlDir != "" {
			// Before the kill: OpenSSH's client is the target's master.
			defer stopMasters(context.WithoutCancel(ctx), o.Lab, c, ctlDir, progress)
		}
		if err := waitPort(ctx, o.Lab, ports[side]); err != nil {
			b, _ := os.ReadFile(errOut.Name())
			return nil, fmt.Errorf("forward benchmark: %s's forward (%s): %w%s", c.Name, m, err, indentTail(b, 12))
		}
		fmt.Fprintf(progress, "bench: in laptop: %s … -N -L 127.0.0.1:%d:127.0.0.1:%d %s\n", strings.Join(c.Argv, " "), ports[side], serverPort, o.Target)
	}

	var results []ForwardResult
	dirs, sides := []string{"upload", "download"}, []string{"A", "B"}
	names["TCP"] = "plain TCP"
	if m.rtt > 0 {
		// Uploads are held to the server's window, the same for both.
		dirs, sides = []string{"download"}, []string{"A", "B", "TCP"}
	}
	for _, dir := range dirs {
		res := ForwardResult{Name: fmt.Sprintf("%s, laptop %s %s (%s)", dir, map[string]string{"upload": "→", "download": "←"}[dir], o.Target, m)}
		for round := 0; round <= o.Runs; round++ {
			// Each side goes first in turn.
			order := append(slices.Clone(sides[round%len(sides):]), sides[:round%len(sides)]...)
			for _, side := range order {
				run := iperfRun{port: ports[side], seconds: o.Seconds, reverse: dir == "download"}
				if side == "TCP" {
					run.addr, run.port = longPathHyper, serverPort+1
				}
				if m.rtt > 0 {
					// Slow start takes ten round trips or so to fill the path.
					run.omit = int((10*m.rtt + time.Second - 1) / time.Second)
				}
				bps, err := run.do(ctx, o.Lab)
				// iperf3's server answers "busy", or drops the control
				// connection, for a moment after a test while it tears
				// the last one down: retry a few times before failing.
				for try := 0; err != nil && ctx.Err() == nil && try < 8; try++ {
					fmt.Fprintf(progress, "bench: %s through %s: %v; retrying\n", dir, names[side], err)
					time.Sleep(500 * time.Millisecond)
					bps, err = run.do(ctx, o.Lab)
				}
				if err != nil {
					return nil, fmt.Errorf("forward benchmark: %s through %s (%s): %w", dir, names[side], m, err)
				}
				if round == 0 {
					continue // warm-up
				}
				switch side {
				case "A":
					res.A = append(res.A, bps)
				case "B":
					res.B = append(res.B, bps)
				default:
					res.TCP = append(res.TCP, bps)
				}
				fmt.Fprintf(progress, "bench: %s (%s) %d/%d %s: %.0f Mbit/s\n", dir, m, round, o.Runs, names[side], bps/1e6)
			}
		}
		results = append(results, res)
	}
	return results, nil
}

// stopMasters asks every master listening in ctlDir to exit (-O exit,
// through c itself), then waits a few seconds for their sockets to go.
func stopMasters(ctx context.Context, l *lab.Lab, c Client, ctlDir string, progress io.Writer) {
	socks, _ := filepath.Glob(filepath.Join(ctlDir, "*"))
	for _, sock := range socks {
		// A master behind one told to exit has lost its connection and
		// gone by itself.
		if _, err := os.Stat(sock); err != nil {
			continue
		}
		argv := append(slices.Clone(c.Argv), "-S", sock, "-O", "exit", "master")
		out, err := l.Command(ctx, "laptop", argv...).CombinedOutput()
		if _, serr := os.Stat(sock); err != nil && serr == nil {
			fmt.Fprintf(progress, "bench: %s -O exit: %v%s\n", c.Name, err, indentTail(out, 4))
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	left, _ := filepath.Glob(filepath.Join(ctlDir, "*"))
	for len(left) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		left, _ = filepath.Glob(filepath.Join(ctlDir, "*"))
	}
	if len(left) == 0 {
		return
	}
	fmt.Fprintf(progress, "bench: %s's masters still listening after -O exit: %s\n", c.Name, strings.Join(left, " "))
}

// waitPort waits until the laptop listens on 127.0.0.1:port. It asks
// ss(8) rather than connecting, since a probe connection would reach
// iperf3's server and disturb its next test.
func waitPort(ctx context.Context, l *lab.Lab, port int) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := l.Command(ctx, "laptop", "ss", "-Hltn", fmt.Sprintf("sport = :%d", port)).Output()
		if err == nil && len(strings.TrimSpace(string(out))) > 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d not listening after 30 s", port)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// iperfRun is one iperf3 client run in the laptop.
type iperfRun struct {
	addr          string // default 127.0.0.1, a forward
	port, seconds int
	omit          int // first seconds left out of the figure
	reverse       bool
}

// do runs it and returns the bits per second received.
func (r iperfRun) do(ctx context.Context, l *lab.Lab) (float64, error) {
	addr := cmp.Or(r.addr, "127.0.0.1")
	args := []string{"iperf3", "-c", addr, "-p", strconv.Itoa(r.port), "-t", strconv.Itoa(r.seconds), "-J"}
	if r.omit > 0 {
		args = append(args, "-O", strconv.Itoa(r.omit))
	}
	if r.reverse {
		args = append(args, "-R")
	}
	out, err := l.Command(ctx, "laptop", args...).Output()
	var rep struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		return 0, errors.Join(err, fmt.Errorf("iperf3 output: %w", jerr))
	}
	if rep.Error != "" {
		return 0, fmt.Errorf("iperf3: %s", rep.Error)
	}
	if err != nil {
		return 0, err
	}
	if rep.End.SumReceived.BitsPerSecond <= 0 {
		return 0, errors.New("iperf3 reported no throughput")
	}
	return rep.End.SumReceived.BitsPerSecond, nil
}

// WriteForwardTable prints forward results: medians in Mbit/s, every
// sample, and the A/B ratio (target ≥ 1).
func WriteForwardTable(w io.Writer, a, b string, results []ForwardResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(results) > 0 && len(results[0].TCP) > 0 {
		fmt.Fprintf(tw, "direction\t%s Mbit/s\t%s Mbit/s\tTCP Mbit/s\t%[1]s/TCP\t%[2]s/TCP\tsamples %[1]s | %[2]s | TCP\n", a, b)
		for _, r := range results {
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%s | %s | %s\n", r.Name, MedianFloat(r.A)/1e6, MedianFloat(r.B)/1e6,
				MedianFloat(r.TCP)/1e6, r.TCPRatio(), ForwardResult{A: r.B, TCP: r.TCP}.TCPRatio(), mbits(r.A), mbits(r.B), mbits(r.TCP))
		}
		return tw.Flush()
	}
	fmt.Fprintf(tw, "direction\t%s Mbit/s\t%s Mbit/s\tratio\tsamples %s | %s\n", a, b, a, b)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%s | %s\n", r.Name, MedianFloat(r.A)/1e6, MedianFloat(r.B)/1e6, r.Ratio(), mbits(r.A), mbits(r.B))
	}
	return tw.Flush()
}

func mbits(xs []float64) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.FormatFloat(x/1e6, 'f', 0, 64))
	}
	return strings.Join(s, " ")
}

// ForwardVerdict says whether every direction meets the target ratio:
// A/B ≥ min, or on a long path A/TCP ≥ min.
func ForwardVerdict(results []ForwardResult, min float64) string {
	var bad []string
	of := "OpenSSH's"
	for _, r := range results {
		ratio := r.Ratio()
		if len(r.TCP) > 0 {
			ratio, of = r.TCPRatio(), "plain TCP's"
		}
		if ratio < min {
			bad = append(bad, fmt.Sprintf("%s %.2f", r.Name, ratio))
		}
	}
	if len(bad) == 0 {
		return fmt.Sprintf("ok: every direction at least %.2f of %s throughput", min, of)
	}
	return fmt.Sprintf("slower than target %.2f: %s", min, strings.Join(bad, "; "))
}
