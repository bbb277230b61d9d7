package bench

// The compression benchmark: `ssh -C host 'cat >/dev/null'` uploading a
// compressible file (or `ssh -C host cat FILE`, downloading it), with
// jumpgate's client and OpenSSH's alternately, against one sshd.
//
//	Compress  puts a relay in front of the server that counts each
//	          connection's bytes on the wire, then runs every file with
//	          both clients, swapping which goes first each round
//	runOnce   one client, one file: its CPU (user + system, from its
//	          rusage) and the relay's count for its connection

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// CompressOptions configure [Compress].
type CompressOptions struct {
	// A is jumpgate's client, B the reference (OpenSSH's).
	A, B Client
	// Env is both clients' environment; nil means the benchmark's.
	Env []string
	// Config is an ssh_config in which Host reaches Server's machine
	// without prompts and without a control master (each run must carry
	// its own data, in its own process).
	Config, Host string
	// Server is the SSH server's address; the clients connect to a
	// counting relay in front of it, given with -p.
	Server string
	// Files are uploaded (or downloaded: Download), one row each; the
	// server must be able to read them at the same path.
	Files    []string
	Download bool
	// Cipher is forced on both sides; default [DefaultCipher], so that
	// the CPU compared is compression's.
	Cipher string
	// Runs per side and file; Warmup adds a dropped round first.
	Runs   int
	Warmup bool
}

// CompressSample is one run: the client's CPU time and the bytes its
// connection carried in the direction of the transfer.
type CompressSample struct {
	CPU  time.Duration
	Wire int64
}

// CompressResult is one file's samples: A jumpgate's, B OpenSSH's.
type CompressResult struct {
	Name string
	Size int64
	A, B []CompressSample
}

// CPURatio is median CPU(A)/median CPU(B): the target is at most 0.5.
func (r CompressResult) CPURatio() float64 {
	return ratio(medianOf(r.A, cpuOf), medianOf(r.B, cpuOf))
}

// WireRatio is median bytes(A)/median bytes(B): the target is at most
// 1.05.
func (r CompressResult) WireRatio() float64 {
	return ratio(medianOf(r.A, wireOf), medianOf(r.B, wireOf))
}

func cpuOf(s CompressSample) float64  { return s.CPU.Seconds() }
func wireOf(s CompressSample) float64 { return float64(s.Wire) }

func medianOf(ss []CompressSample, f func(CompressSample) float64) float64 {
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = f(s)
	}
	return MedianFloat(xs)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Compress runs the compression benchmark. An error in any run ends it.
func Compress(ctx context.Context, o CompressOptions, progress io.Writer) ([]CompressResult, error) {
	if len(o.A.Argv) == 0 || len(o.B.Argv) == 0 {
		return nil, errors.New("compress benchmark: a client has no command")
	}
	if o.Runs < 1 {
		return nil, fmt.Errorf("compress benchmark: runs must be at least 1, got %d", o.Runs)
	}
	if o.Cipher == "" {
		o.Cipher = DefaultCipher
	}
	rl, err := startRelay(o.Server)
	if err != nil {
		return nil, err
	}
	defer rl.close()
	results := make([]CompressResult, len(o.Files))
	for i, file := range o.Files {
		st, err := os.Stat(file)
		if err != nil {
			return results, fmt.Errorf("compress benchmark: %w", err)
		}
		results[i] = CompressResult{Name: filepath.Base(file), Size: st.Size()}
		start := 0
		if o.Warmup {
			start = -1
		}
		for round := start; round < o.Runs; round++ {
			sides := []Client{o.A, o.B}
			if round%2 != 0 {
				slices.Reverse(sides)
			}
			for _, c := range sides {
				s, err := o.runOnce(ctx, rl, c, file, st.Size())
				if err != nil {
					return results, fmt.Errorf("compress benchmark: %s, %s: %w", results[i].Name, c.Name, err)
				}
				switch {
				case round < 0:
				case c.Name == o.A.Name:
					results[i].A = append(results[i].A, s)
				default:
					results[i].B = append(results[i].B, s)
				}
			}
		}
		if progress != nil {
			fmt.Fprintf(progress, "bench: %s done (%d runs each)\n", results[i].Name, o.Runs)
		}
	}
	return results, nil
}

// Argv is the command line that moves file with client.
func (o CompressOptions) Argv(c Client, port int, file string) []string {
	argv := append(slices.Clone(c.Argv), "-F", o.Config, "-C", "-p", strconv.Itoa(port),
		"-o", "Ciphers="+o.Cipher, o.Host)
	if o.Download {
		return append(argv, "cat", shellQuote(file))
	}
	return append(argv, "cat >/dev/null")
}

func (o CompressOptions) runOnce(ctx context.Context, rl *relay, c Client, file string, size int64) (CompressSample, error) {
	for len(rl.done) > 0 {
		<-rl.done // a failed run's
	}
	argv := o.Argv(c, rl.port(), file)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = o.Env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	var got countWriter
	if o.Download {
		cmd.Stdout = &got
	} else {
		f, err := os.Open(file)
		if err != nil {
			return CompressSample{}, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	err := cmd.Run()
	if err != nil {
		return CompressSample{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if o.Download && got.n != size {
		return CompressSample{}, fmt.Errorf("downloaded %d bytes of %d", got.n, size)
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	select {
	case n := <-rl.done:
		wire := n.up
		if o.Download {
			wire = n.down
		}
		return CompressSample{CPU: cpu, Wire: wire}, nil
	case <-time.After(10 * time.Second):
		return CompressSample{}, errors.New("the relay saw no connection end")
	case <-ctx.Done():
		return CompressSample{}, ctx.Err()
	}
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// relay forwards loopback connections to a server and reports, as each
// ends, the bytes it carried each way.
type relay struct {
	ln     net.Listener
	target string
	done   chan relayCount
	wg     sync.WaitGroup
}

type relayCount struct{ up, down int64 }

func startRelay(target string) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("compress benchmark: relay: %w", err)
	}
	r := &relay{ln: ln, target: target, done: make(chan relayCount, 16)}
	r.wg.Add(1)
	go r.serve()
	return r, nil
}

func (r *relay) port() int { return r.ln.Addr().(*net.TCPAddr).Port }

func (r *relay) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.pipe(c.(*net.TCPConn))
		}()
	}
}

func (r *relay) pipe(c *net.TCPConn) {
	defer c.Close()
	s, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	defer s.Close()
	var n relayCount
	up := make(chan struct{})
	go func() {
		n.up, _ = io.Copy(s, c)
		s.(*net.TCPConn).CloseWrite()
		close(up)
	}()
	n.down, _ = io.Copy(c, s)
	c.CloseWrite()
	<-up
	r.done <- n
}

func (r *relay) close() {
	r.ln.Close()
	r.wg.Wait()
}

// WriteCompressTable prints the medians and ratios of each file.
func WriteCompressTable(w io.Writer, a, b string, results []CompressResult) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "file\tMiB\truns\t%s CPU\t%s CPU\t%s/%s CPU\t%s wire MiB\t%s wire MiB\t%s/%s bytes\n",
		a, b, a, b, a, b, a, b)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3fs\t%.3fs\t%.2f\t%.2f\t%.2f\t%.3f\n", r.Name, r.Size>>20, len(r.A),
			medianOf(r.A, cpuOf), medianOf(r.B, cpuOf), r.CPURatio(),
			medianOf(r.A, wireOf)/(1<<20), medianOf(r.B, wireOf)/(1<<20), r.WireRatio())
	}
	return tw.Flush()
}

// CompressVerdict says whether every file meets both targets: CPU ratio
// at most maxCPU, bytes ratio at most maxWire.
func CompressVerdict(results []CompressResult, maxCPU, maxWire float64) string {
	var bad []string
	for _, r := range results {
		if r.CPURatio() > maxCPU || r.WireRatio() > maxWire {
			bad = append(bad, fmt.Sprintf("%s (CPU %.2f, bytes %.3f)", r.Name, r.CPURatio(), r.WireRatio()))
		}
	}
	if len(bad) == 0 {
		return fmt.Sprintf("every file within CPU ≤ %.2fx and bytes ≤ %.2fx", maxCPU, maxWire)
	}
	return fmt.Sprintf("outside CPU ≤ %.2fx, bytes ≤ %.2fx: %s", maxCPU, maxWire, strings.Join(bad, ", "))
}
