package bench

// The console's display stream end to end: a display in this process
// sends each recorded display message on loopback, a path carries it to a
// viewer (also here) through Debian's sshd, and the next message leaves
// once the viewer has the last one whole, as a console waiting on each
// update. The paths, alternating round by round:
//
//	ssh -L        OpenSSH's client, no compression (the baseline)
//	ssh -C -L     the same with zlib@openssh.com: sshd compresses
//	console -C    `jumpgate console -C`: the same compression, our client
//	console zstd  `jumpgate console --compress=zstd`: the SSH connection
//	              is not compressed; jumpgate's peer, run by sshd,
//	              compresses with zstd
//
// Measured between the first message and the last, so that connection
// set-up and the peer's copy are left out: bytes on the wire (a counting
// relay in front of sshd), the CPU of the near process and of everything
// under sshd's listener (procstat.TreeCPU), and each message's delay from
// the display's write to the viewer's last byte.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/procstat"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// consoleWire is the fixed part of the benchmark: sshd behind a counting
// relay, a client configuration naming it "hyper", and the display.
type consoleWire struct {
	dir     string
	cfg     string
	env     []string
	bin     string
	sshd    *sshtest.SSHD
	relay   *countingRelay
	display *net.TCPListener
}

// consoleWirePath starts a near process serving the display on a local
// Unix socket.
type consoleWirePath struct {
	name  string
	start func(ctx context.Context, w *consoleWire) (*nearProc, error)
}

// nearProc is a path's near process, serving the display on sock.
type nearProc struct {
	cmd    *exec.Cmd
	sock   string
	exited chan struct{} // closed once cmd.Wait returned
}

// consoleWireRun is one path carrying the whole stream once.
type consoleWireRun struct {
	in, wire, back int64 // display bytes; bytes on the wire toward the viewer, and back
	near, far      time.Duration
	delays         []time.Duration
}

func newConsoleWire(tb testing.TB) *consoleWire {
	tb.Helper()
	needOpenSSH(tb)
	w := &consoleWire{bin: labtest.Binary(tb)}
	// sshd runs sessions with a PATH where virsh is ours (it names the
	// display) and caches jumpgate's peer inside its own directory.
	w.sshd = sshtest.StartSSHD(tb, "AuthorizedKeysFile {dir}/authorized_keys", "StrictModes no",
		"SetEnv PATH={dir}/bin:/usr/bin:/bin XDG_CACHE_HOME={dir}/cache")
	w.dir = tb.TempDir()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	w.display = ln
	tb.Cleanup(func() { ln.Close() })
	virsh := fmt.Sprintf("#!/bin/sh\necho spice://%s\n", ln.Addr())
	if err := os.MkdirAll(filepath.Join(w.sshd.Dir, "bin"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.sshd.Dir, "bin", "virsh"), []byte(virsh), 0o755); err != nil {
		tb.Fatal(err)
	}
	key := filepath.Join(w.dir, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		tb.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.sshd.Dir, "authorized_keys"), pub, 0o644); err != nil {
		tb.Fatal(err)
	}
	kh := filepath.Join(w.dir, "known_hosts")
	if err := os.WriteFile(kh, []byte("hyper "+string(ssh.MarshalAuthorizedKey(w.sshd.HostKey))), 0o600); err != nil {
		tb.Fatal(err)
	}
	if w.relay, err = startCountingRelay(w.sshd.Addr); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.relay.close)
	w.cfg = filepath.Join(w.dir, "ssh_config")
	conf := fmt.Sprintf("Host hyper\n\tHostName 127.0.0.1\n\tPort %d\n\tHostKeyAlias hyper\n\tUser root\n\tIdentityFile %s"+
		"\n\tIdentitiesOnly yes\n\tIdentityAgent none\n\tUserKnownHostsFile %s\n\tGlobalKnownHostsFile /dev/null"+
		"\n\tStrictHostKeyChecking yes\n\tBatchMode yes\n\tControlMaster no\n\tControlPath none\n\tCiphers %s\n",
		w.relay.port(), key, kh, DefaultCipher)
	if err := os.WriteFile(w.cfg, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	w.env = append(os.Environ(), "HOME="+w.dir, "XDG_RUNTIME_DIR="+w.dir)
	return w
}

func consoleWirePaths() []consoleWirePath {
	sshL := func(name, compression string) consoleWirePath {
		return consoleWirePath{name: name, start: func(ctx context.Context, w *consoleWire) (*nearProc, error) {
			sock := filepath.Join(w.dir, "ssh.sock")
			os.Remove(sock)
			cmd := exec.CommandContext(ctx, "ssh", "-F", w.cfg, "-o", "Compression="+compression, "-o", "ExitOnForwardFailure=yes",
				"-N", "-L", sock+":"+w.display.Addr().String(), "hyper")
			return startNear(cmd, w.env, func() (string, error) {
				if _, err := os.Stat(sock); err != nil {
					return "", nil
				}
				return sock, nil
			})
		}}
	}
	console := func(name, compress string) consoleWirePath {
		return consoleWirePath{name: name, start: func(ctx context.Context, w *consoleWire) (*nearProc, error) {
			cmd := exec.CommandContext(ctx, w.bin, "console", "-F", w.cfg, compress, "--print", "hyper/guest")
			var out syncWriter
			cmd.Stdout = &out
			return startNear(cmd, w.env, func() (string, error) {
				line, ok := strings.CutSuffix(out.String(), "\n")
				if !ok {
					return "", nil
				}
				u, err := url.Parse(line)
				if err != nil || u.Scheme != "spice+unix" {
					return "", fmt.Errorf("console printed %q, want a spice+unix URI", line)
				}
				return u.Path, nil
			})
		}}
	}
	return []consoleWirePath{
		sshL("ssh -L", "no"),
		sshL("ssh -C -L", "yes"),
		console("console -C", "-C"),
		console("console --compress=zstd", "--compress=zstd"),
	}
}

// startNear starts cmd and polls ready until it names the socket.
func startNear(cmd *exec.Cmd, env []string, ready func() (string, error)) (*nearProc, error) {
	var stderr syncWriter
	cmd.Env, cmd.Stderr = env, &stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &nearProc{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		sock, err := ready()
		if err == nil && sock != "" {
			p.sock = sock
			return p, nil
		}
		select {
		case <-p.exited:
			err = errors.New("exited")
		default:
		}
		if err == nil && time.Now().After(deadline) {
			err = errors.New("no socket after 60 s")
		}
		if err != nil {
			cmd.Process.Kill()
			<-p.exited
			return nil, fmt.Errorf("%s: %w: %s", cmd.Args[0], err, strings.TrimSpace(stderr.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncWriter collects what a process writes, to read while it runs.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run carries the display messages of ms through p once.
func (w *consoleWire) run(ctx context.Context, p consoleWirePath, ms []Message) (consoleWireRun, error) {
	var r consoleWireRun
	if err := w.waitIdle(); err != nil {
		return r, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	np, err := p.start(ctx, w)
	if err != nil {
		return r, err
	}
	defer func() {
		cancel()
		<-np.exited
	}()
	// One viewer connection per recorded connection, each paired with the
	// display's end it reached (the next accepted: dialled one by one).
	type pair struct{ view, disp net.Conn }
	pairs := map[int]pair{}
	defer func() {
		for _, c := range pairs {
			c.view.Close()
			c.disp.Close()
		}
	}()
	for _, m := range ms {
		if _, ok := pairs[m.Conn]; ok || !m.ToView {
			continue
		}
		v, err := net.Dial("unix", np.sock)
		if err != nil {
			return r, err
		}
		w.display.SetDeadline(time.Now().Add(30 * time.Second))
		d, err := w.display.Accept()
		if err != nil {
			v.Close()
			return r, fmt.Errorf("the display saw no connection: %w", err)
		}
		pairs[m.Conn] = pair{v, d}
	}
	near0, err := procstat.TreeCPU(np.cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	far0, err := procstat.TreeCPU(w.sshd.PID)
	if err != nil {
		return r, err
	}
	wire0, back0 := w.relay.down.Load(), w.relay.up.Load()
	buf := make([]byte, maxMessage)
	werr := make(chan error, 1)
	for _, m := range ms {
		if !m.ToView || len(m.Payload) == 0 {
			continue
		}
		c := pairs[m.Conn]
		start := time.Now()
		go func() {
			_, err := c.disp.Write(m.Payload)
			werr <- err
		}()
		c.view.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadFull(c.view, buf[:len(m.Payload)]); err != nil {
			return r, fmt.Errorf("viewer: message %d of %d bytes: %w", len(r.delays), len(m.Payload), err)
		}
		r.delays = append(r.delays, time.Since(start))
		if err := <-werr; err != nil {
			return r, fmt.Errorf("display: %w", err)
		}
		if !bytes.Equal(buf[:len(m.Payload)], m.Payload) {
			return r, fmt.Errorf("message %d changed on the way", len(r.delays))
		}
		r.in += int64(len(m.Payload))
	}
	r.wire, r.back = w.relay.down.Load()-wire0, w.relay.up.Load()-back0
	near1, err := procstat.TreeCPU(np.cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	far1, err := procstat.TreeCPU(w.sshd.PID)
	r.near, r.far = near1-near0, far1-far0
	return r, err
}

// waitIdle waits until sshd's listener has no session left from an
// earlier run, whose end would count in this one's CPU.
func (w *consoleWire) waitIdle() error {
	for range 500 {
		tree, err := procstat.Tree(w.sshd.PID)
		if err != nil {
			return err
		}
		if len(tree) == 1 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("sshd still has sessions 5 s after the last run")
}

// countingRelay forwards loopback connections to a server, counting the
// bytes of all of them each way as they pass.
type countingRelay struct {
	ln       net.Listener
	target   string
	up, down atomic.Int64
	wg       sync.WaitGroup
}

func startCountingRelay(target string) (*countingRelay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &countingRelay{ln: ln, target: target}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				r.pipe(c)
			}()
		}
	}()
	return r, nil
}

func (r *countingRelay) port() int { return r.ln.Addr().(*net.TCPAddr).Port }

func (r *countingRelay) pipe(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(countTo{s, &r.up}, c)
		s.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(countTo{c, &r.down}, s)
	c.(*net.TCPConn).CloseWrite()
	<-done
}

func (r *countingRelay) close() {
	r.ln.Close()
	r.wg.Wait()
}

type countTo struct {
	w io.Writer
	n *atomic.Int64
}

func (c countTo) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// BenchmarkConsoleWire carries the recorded display stream (or
// sshtest.Corpus("spice") in 4 KiB messages) through each path once per
// iteration, alternating which goes first, and prints each path's
// medians and their ratios to ssh -C's: bytes on the wire, CPU of the near
// process and of the far side (sshd and what it runs), and the delay per
// message, p50 and p99.
func BenchmarkConsoleWire(b *testing.B) {
	w := newConsoleWire(b)
	ms, src := consoleRecording(b)
	paths := consoleWirePaths()
	runs := make([][]consoleWireRun, len(paths))
	round := 0
	for b.Loop() {
		order := make([]int, len(paths))
		for i := range order {
			order[i] = (i + round) % len(paths)
		}
		round++
		for _, i := range order {
			r, err := w.run(context.Background(), paths[i], ms)
			if err != nil {
				b.Fatalf("%s: %v", paths[i].name, err)
			}
			runs[i] = append(runs[i], r)
		}
	}
	type row struct {
		wire, back, near, far, p50, p99 float64
	}
	rows := make([]row, len(paths))
	for i, rs := range runs {
		var wire, back, near, far, p50, p99 []float64
		for _, r := range rs {
			d := slices.Clone(r.delays)
			slices.Sort(d)
			wire, back = append(wire, float64(r.wire)), append(back, float64(r.back))
			near, far = append(near, r.near.Seconds()), append(far, r.far.Seconds())
			p50, p99 = append(p50, d[len(d)/2].Seconds()), append(p99, d[len(d)*99/100].Seconds())
		}
		rows[i] = row{MedianFloat(wire), MedianFloat(back), MedianFloat(near), MedianFloat(far), MedianFloat(p50), MedianFloat(p99)}
	}
	base := rows[1] // ssh -C
	fmt.Printf("console end to end on %s: %d display messages, %.1f MiB, %d rounds, cipher %s\n",
		src, len(runs[0][0].delays), float64(runs[0][0].in)/(1<<20), round, DefaultCipher)
	fmt.Printf("%-24s %10s %6s %8s %9s %6s %9s %6s %10s %6s %10s %6s\n", "path", "wire", "vs -C", "back",
		"near CPU", "vs -C", "far CPU", "vs -C", "delay p50", "vs -C", "p99", "vs -C")
	sec := func(s float64) string {
		return time.Duration(s * float64(time.Second)).Round(time.Microsecond).String()
	}
	for i, p := range paths {
		r := rows[i]
		fmt.Printf("%-24s %10.0f %6.3f %8.0f %9s %6.2f %9s %6.2f %10s %6.2f %10s %6.2f\n", p.name, r.wire, ratio(r.wire, base.wire), r.back,
			sec(r.near), ratio(r.near, base.near), sec(r.far), ratio(r.far, base.far),
			sec(r.p50), ratio(r.p50, base.p50), sec(r.p99), ratio(r.p99, base.p99))
	}
	z := rows[3]
	b.ReportMetric(ratio(z.wire, base.wire), "zstd-bytes-vs-ssh-C")
	b.ReportMetric(ratio(z.near+z.far, base.near+base.far), "zstd-cpu-vs-ssh-C")
	b.ReportMetric(ratio(z.p50, base.p50), "zstd-p50-vs-ssh-C")
	// Both compressing paths must compress: a path that silently sent
	// the stream as it is would still carry it whole.
	for _, i := range []int{1, 2, 3} {
		if rows[i].wire >= rows[0].wire*0.9 {
			b.Errorf("%s put %.0f bytes on the wire, uncompressed ssh -L %.0f: not compressed", paths[i].name, rows[i].wire, rows[0].wire)
		}
	}
	fmt.Println("(" + strconv.Itoa(round) + " rounds; CPU in 10 ms ticks)")
}
