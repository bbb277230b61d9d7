package cli

// Multiplexing as a user meets it, from the
// laptop of a lab of Debian's sshd: masters killed or frozen, -O stop and
// -O exit with sessions running, a client's own forwards, hop reuse proved
// by the servers' logs, and OpenSSH's ssh on either side of the control
// socket. Every case has its own XDG_RUNTIME_DIR, and every master it
// starts is ended when it ends (-O exit, then SIGKILL by pid).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/client"
	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/procstat"
)

// TestSSHMuxLab runs the multiplexing cases against a lab of Debian's
// sshd and one of jumpgate serve. In each, hop reuse runs first and alone,
// since it counts the logins in the servers' logs; the rest run side by
// side.
func TestSSHMuxLab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab interop test skipped under -short")
	}
	requireOpenSSH(t)
	for _, kind := range []lab.ServerKind{lab.OpenSSH, lab.Jumpgate} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			l := labtest.New(t, lab.Options{Server: kind})
			bin := labtest.Binary(t)
			t.Run("hop reuse", func(t *testing.T) { testMuxHopReuse(t, newMuxLab(t, l, bin)) })
			t.Run("killed master", func(t *testing.T) {
				for _, mode := range []string{"auto", "yes", "no with -S"} {
					t.Run(mode, func(t *testing.T) {
						t.Parallel()
						testMuxKilledMaster(t, newMuxLab(t, l, bin), mode)
					})
				}
			})
			for _, c := range []struct {
				name string
				fn   func(*testing.T, *sshLab)
			}{
				{"stopped master", testMuxStoppedMaster},
				{"stopped jump host master", testMuxStoppedHopMaster},
				{"first clients together", testMuxFirstClientsTogether},
				{"stop", testMuxStop},
				{"exit", testMuxExit},
				{"client forward without -N", testMuxClientForwardSession},
				{"jumpgate client of openssh master", testMuxOpenSSHMaster},
				{"openssh client of jumpgate master", testMuxOpenSSHClient},
			} {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.fn(t, newMuxLab(t, l, bin))
				})
			}
		})
	}
}

// newMuxLab is l multiplexed (jumpgate's defaults) with a runtime
// directory of t's own, short enough for socket paths, whose masters end
// with t.
func newMuxLab(t *testing.T, l *lab.Lab, bin string) *sshLab {
	t.Helper()
	rt, err := os.MkdirTemp("", "jgmux-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rt) })
	endMastersIn(t, filepath.Join(rt, "jumpgate"))
	return &sshLab{l: l, bin: bin, muxed: true, runtimeDir: rt}
}

var masterRunningRE = regexp.MustCompile(`Master running \(pid=(\d+)\)`)

// masterPID asks the master of args (which end with the host) for its pid
// with -O check, and kills it by that pid when t ends if it still runs.
func (s *sshLab) masterPID(t *testing.T, args ...string) int {
	t.Helper()
	r := s.ssh(t, append([]string{"-F", s.l.SSHConfig(), "-O", "check"}, args...)...)
	m := masterRunningRE.FindStringSubmatch(r.stderr)
	if r.code != 0 || m == nil {
		t.Fatalf("-O check %q: exit %d, stderr %q", args, r.code, r.stderr)
	}
	pid, _ := strconv.Atoi(m[1])
	killAtEnd(t, pid)
	return pid
}

// killAtEnd kills pid when t ends, if it still runs then.
func killAtEnd(t *testing.T, pid int) {
	t.Cleanup(func() {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGCONT)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// alive reports whether pid runs (a zombie does not: a background master
// is reparented to a pid 1 that may not reap it).
func alive(pid int) bool {
	st, err := procstat.Read(pid)
	return err == nil && st.State != 'Z'
}

// waitDead waits up to d for pid to end.
func waitDead(t *testing.T, pid int, d time.Duration, what string) {
	t.Helper()
	for deadline := time.Now().Add(d); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) still runs after %v", what, pid, d)
		}
	}
}

// sockets lists the control sockets in the runtime directory.
func (s *sshLab) sockets(t *testing.T) []string {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(s.runtimeDir, "jumpgate"))
	var out []string
	for _, e := range ents {
		if e.Type()&os.ModeSocket != 0 && !strings.Contains(e.Name(), ".") {
			out = append(out, filepath.Join(s.runtimeDir, "jumpgate", e.Name()))
		}
	}
	return out
}

// acceptedLogins counts the public-key logins in host's server log:
// sshd's "Accepted publickey for root from …", jumpgate serve's
// "msg=login".
func acceptedLogins(t *testing.T, l *lab.Lab, host string) int {
	t.Helper()
	b, err := os.ReadFile(l.LogFile(host))
	if err != nil {
		t.Fatal(err)
	}
	if l.Server() == lab.Jumpgate {
		return bytes.Count(b, []byte(" msg=login "))
	}
	return bytes.Count(b, []byte("Accepted publickey for "))
}

// testMuxHopReuse: after -J hyper1,hyper2 vm1, a -J hyper1,hyper2 vm2
// authenticates to vm2 alone; the jump hosts' masters carry it.
func testMuxHopReuse(t *testing.T, s *sshLab) {
	cfg := s.l.SSHConfig()
	hosts := []string{"hyper1", "hyper2", "vm1", "vm2"}
	count := func() map[string]int {
		n := map[string]int{}
		for _, h := range hosts {
			n[h] = acceptedLogins(t, s.l, h)
		}
		return n
	}
	before := count()
	s.ssh(t, "-F", cfg, "-J", "hyper1,hyper2", "vm1", "true").want(t, 0, "")
	first := count()
	for h, want := range map[string]int{"hyper1": 1, "hyper2": 1, "vm1": 1, "vm2": 0} {
		if got := first[h] - before[h]; got != want {
			t.Errorf("first run (vm1): %d logins to %s, want %d", got, h, want)
		}
	}
	r := s.ssh(t, "-F", cfg, "-J", "hyper1,hyper2", "vm2", "hostname")
	r.want(t, 0, "vm2\n")
	second := count()
	for h, want := range map[string]int{"hyper1": 0, "hyper2": 0, "vm1": 0, "vm2": 1} {
		if got := second[h] - first[h]; got != want {
			t.Errorf("second run (vm2): %d logins to %s, want %d", got, h, want)
		}
	}
	if n := len(s.sockets(t)); n != 4 {
		t.Errorf("%d masters, want 4 (hyper1, hyper2, vm1, vm2)", n)
	}
}

// staleRE matches what ssh(1) says about a control socket whose master is
// gone, and what we say: at most one such line, and only under -v.
var staleRE = regexp.MustCompile(`(?i)stale|already exists|connection refused|disabling multiplexing|connect\(`)

// testMuxKilledMaster: after kill -9 of the master, the next connection
// in mode succeeds, silently (one debug line under -v at most), twice.
func testMuxKilledMaster(t *testing.T, s *sshLab, mode string) {
	cfg := s.l.SSHConfig()
	sock := filepath.Join(s.runtimeDir, "ctl.sock")
	var start, client, check []string
	switch mode {
	case "auto":
		start = []string{"-F", cfg, "hyper1", "true"}
		client = []string{"-F", cfg, "hyper1", "echo", "ok"}
		check = []string{"hyper1"}
	case "yes":
		start = []string{"-F", cfg, "-o", "ControlMaster=yes", "hyper1", "true"}
		client = []string{"-F", cfg, "-o", "ControlMaster=yes", "hyper1", "echo", "ok"}
		check = []string{"hyper1"}
	case "no with -S":
		start = []string{"-F", cfg, "-M", "-S", sock, "-o", "ControlPersist=yes", "hyper1", "true"}
		client = []string{"-F", cfg, "-S", sock, "hyper1", "echo", "ok"}
		check = []string{"-S", sock, "hyper1"}
	}
	for _, verbose := range []bool{false, true} {
		// The first round's client left a master in modes auto and yes.
		if !verbose || mode == "no with -S" {
			s.ssh(t, start...).want(t, 0, "")
		}
		pid := s.masterPID(t, check...)
		syscall.Kill(pid, syscall.SIGKILL)
		waitDead(t, pid, 5*time.Second, "killed master")
		args := client
		if verbose {
			args = append([]string{"-v"}, client...)
		}
		r := s.ssh(t, args...)
		if !verbose {
			r.want(t, 0, "ok\n")
			continue
		}
		var stale []string
		for _, line := range strings.Split(r.stderr, "\n") {
			if staleRE.MatchString(line) {
				stale = append(stale, line)
			}
		}
		if r.code != 0 || r.stdout != "ok\n" || len(stale) > 1 {
			t.Errorf("-v: exit %d, stdout %q, lines about the dead master %q (want at most one)", r.code, r.stdout, stale)
		}
		for _, line := range stale {
			if !strings.HasPrefix(line, "debug") {
				t.Errorf("-v: %q is not a debug line", line)
			}
		}
	}
}

// testMuxStoppedMaster: a SIGSTOP'd master does not hang a new client,
// which connects on its own within a short bound and says so once.
func testMuxStoppedMaster(t *testing.T, s *sshLab) {
	cfg := s.l.SSHConfig()
	s.ssh(t, "-F", cfg, "hyper1", "true").want(t, 0, "")
	pid := s.masterPID(t, "hyper1")
	syscall.Kill(pid, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	// -v: its debug lines tell why if the line about the master is
	// missing (CI saw a stderr without it once).
	r := s.ssh(t, "-v", "-F", cfg, "hyper1", "echo", "ok")
	if r.code != 0 || r.stdout != "ok\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and ok", r.code, r.stdout, r.stderr)
	}
	if bound := client.MuxAnswerBound + 5*time.Second; r.took > bound {
		t.Errorf("took %v with the master stopped, want under %v", r.took, bound)
	}
	if lines := masterLines(r.stderr); len(lines) != 1 || !strings.Contains(lines[0], "did not answer") || !strings.Contains(lines[0], "connecting directly") {
		t.Errorf("after %v, stderr %q; want one line saying the master did not answer and we connect directly", r.took, r.stderr)
	}
	syscall.Kill(pid, syscall.SIGCONT)
	// Awake again, it serves as before.
	s.ssh(t, "-F", cfg, "hyper1", "echo", "ok").want(t, 0, "ok\n")
	if got := s.masterPID(t, "hyper1"); got != pid {
		t.Errorf("master pid %d after SIGCONT, want %d", got, pid)
	}
}

// testMuxStoppedHopMaster: with the master of jump host hyper2 frozen, a
// first connection to vm2 goes round it within the bound, saying so once.
func testMuxStoppedHopMaster(t *testing.T, s *sshLab) {
	cfg := s.l.SSHConfig()
	s.ssh(t, "-F", cfg, "-J", "hyper1,hyper2", "vm1", "true").want(t, 0, "")
	pid := s.masterPID(t, "hyper2")
	syscall.Kill(pid, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	r := s.ssh(t, "-F", cfg, "-J", "hyper1,hyper2", "vm2", "echo", "ok")
	if r.code != 0 || r.stdout != "ok\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and ok", r.code, r.stdout, r.stderr)
	}
	if bound := client.MuxAnswerBound + 5*time.Second; r.took > bound {
		t.Errorf("took %v with the jump host's master stopped, want under %v", r.took, bound)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "for jump host hyper2 did not answer") {
		t.Errorf("stderr %q; want one line saying hyper2's master did not answer", r.stderr)
	}
}

// testMuxFirstClientsTogether: clients started at the same moment with no
// master anywhere on their way all succeed, quietly, and leave one master
// per host (vm1 and its two jump hosts).
func testMuxFirstClientsTogether(t *testing.T, s *sshLab) {
	cfg := s.l.SSHConfig()
	const n = 4
	results := make(chan labResult, n)
	for i := range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out, errOut bytes.Buffer
			cmd := s.command(ctx, labRun{}, "-F", cfg, "-J", "hyper1,hyper2", "vm1", "echo", strconv.Itoa(i))
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			results <- labResult{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String() + errText(err)}
		}()
	}
	seen := map[string]bool{}
	for range n {
		r := <-results
		if r.code != 0 || r.stderr != "" {
			t.Errorf("exit %d, stdout %q, stderr %q; want 0 and nothing on stderr", r.code, r.stdout, r.stderr)
		}
		seen[r.stdout] = true
	}
	if len(seen) != n {
		t.Errorf("outputs %v, want %d different", seen, n)
	}
	socks := s.sockets(t)
	if len(socks) != 3 {
		t.Errorf("control sockets %q, want 3 (hyper1, hyper2, vm1)", socks)
	}
	for _, h := range [][]string{{"hyper1"}, {"hyper2"}, {"-J", "hyper1,hyper2", "vm1"}} {
		s.masterPID(t, h...)
	}
}

// errText is err's text for a result, "" for none or an exit status.
func errText(err error) string {
	var ee *exec.ExitError
	if err == nil || errors.As(err, &ee) {
		return ""
	}
	return err.Error()
}

// running is a jumpgate ssh session left running in the background.
type running struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	stderr bytes.Buffer
	done   chan struct{}
	code   int
	rest   []byte
}

// startSession runs `jumpgate ssh args…` and returns once its command has
// printed its first line, wantFirst.
func (s *sshLab) startSession(t *testing.T, wantFirst string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	rn := &running{cmd: s.command(ctx, labRun{}, args...), done: make(chan struct{})}
	rn.cmd.Stderr = &rn.stderr
	out, err := rn.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := rn.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rn.cmd.Process.Kill()
		<-rn.done
	})
	rn.out = bufio.NewReader(out)
	line, err := rn.out.ReadString('\n')
	if line != wantFirst+"\n" {
		rn.cmd.Process.Kill()
		rn.cmd.Wait()
		close(rn.done)
		t.Fatalf("first line %q (%v), want %q; stderr %q", line, err, wantFirst, rn.stderr.String())
	}
	go func() {
		rn.rest, _ = io.ReadAll(rn.out)
		rn.cmd.Wait()
		rn.code = rn.cmd.ProcessState.ExitCode()
		close(rn.done)
	}()
	return rn
}

// wait waits up to d for the session to end.
func (rn *running) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-rn.done:
	case <-time.After(d):
		t.Fatalf("session still runs after %v", d)
	}
}

// testMuxStop: -O stop lets a running session finish with its output and
// status, while a new client meets a new master.
func testMuxStop(t *testing.T, s *sshLab) {
	cfg := s.l.SSHConfig()
	s.ssh(t, "-F", cfg, "hyper1", "true").want(t, 0, "")
	old := s.masterPID(t, "hyper1")
	sess := s.startSession(t, "started", "-F", cfg, "hyper1", "echo started; sleep 3; echo done; exit 3")
	r := s.ssh(t, "-F", cfg, "-O", "stop", "hyper1")
	if r.code != 0 || !strings.Contains(r.stderr, "Stop listening request sent.") {
		t.Fatalf("-O stop: exit %d, stderr %q", r.code, r.stderr)
	}
	s.ssh(t, "-F", cfg, "hyper1", "echo", "new").want(t, 0, "new\n")
	if pid := s.masterPID(t, "hyper1"); pid == old {
		t.Errorf("a client after -O stop used the stopped master (pid %d)", old)
	}
	if !alive(old) {
		t.Errorf("the stopped master ended before its session")
	}
	sess.wait(t, 20*time.Second)
	if sess.code != 3 || string(sess.rest) != "done\n" || sess.stderr.Len() != 0 {
		t.Errorf("session through the stopped master: exit %d, rest of stdout %q, stderr %q; want 3, %q, none",
			sess.code, sess.rest, sess.stderr.String(), "done\n")
	}
	waitDead(t, old, 5*time.Second, "stopped master, its last session over")
}

// testMuxExit: -O exit ends the master now, and its sessions with it.
func testMuxExit(t *testing.T, s *sshLab) {
	cfg := s.l.SSHConfig()
	s.ssh(t, "-F", cfg, "hyper1", "true").want(t, 0, "")
	pid := s.masterPID(t, "hyper1")
	sess := s.startSession(t, "started", "-F", cfg, "hyper1", "echo started; sleep 30; echo done")
	r := s.ssh(t, "-F", cfg, "-O", "exit", "hyper1")
	if r.code != 0 || !strings.Contains(r.stderr, "Exit request sent.") {
		t.Fatalf("-O exit: exit %d, stderr %q", r.code, r.stderr)
	}
	sess.wait(t, 5*time.Second)
	if sess.code != exitConnection || string(sess.rest) != "" {
		t.Errorf("session on the master: exit %d, rest of stdout %q; want %d and nothing", sess.code, sess.rest, exitConnection)
	}
	waitDead(t, pid, 5*time.Second, "master after -O exit")
	if socks := s.sockets(t); len(socks) != 0 {
		t.Errorf("control sockets left after -O exit: %q", socks)
	}
}

// testMuxClientForwardSession: the -L of a client running a command (no
// -N) through a master is up while it runs and gone once it has exited
// on its own. (-N clients and -O forward are in ssh_mux_forward_lab_test.go.)
func testMuxClientForwardSession(t *testing.T, s *sshLab) {
	cfg := s.l.SSHConfig()
	s.startUpper(t, "vm1", "tcp:127.0.0.1:7000")
	s.ssh(t, "-F", cfg, "vm1", "true").want(t, 0, "")
	sess := s.startSession(t, "started", "-F", cfg, "-o", "ExitOnForwardFailure=yes",
		"-L", "127.0.0.1:8331:localhost:7000", "vm1", "echo started; sleep 2; exit 4")
	upperRoundTrip(t, s.dialHost(t, "laptop", "tcp", "127.0.0.1:8331"), "while the client runs")
	sess.wait(t, 20*time.Second)
	if sess.code != 4 {
		t.Errorf("client exit %d, want 4; stderr %q", sess.code, sess.stderr.String())
	}
	s.waitGone(t, "laptop", "127.0.0.1:8331")
	// The master lives on without it.
	s.ssh(t, "-F", cfg, "vm1", "echo", "ok").want(t, 0, "ok\n")
}

// openssh runs Debian's ssh on the laptop.
func (s *sshLab) openssh(t *testing.T, stdin string, args ...string) labResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := s.l.Command(ctx, "laptop", append([]string{"ssh"}, args...)...)
	cmd.Env = labEnv()
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	return runCmd(t, cmd)
}

// sessionCmd reads stdin to stdout, writes to stderr and exits 7.
const sessionCmd = "cat; echo to-stderr >&2; exit 7"

// testMuxOpenSSHMaster: jumpgate ssh -S and -O check with a master that is
// Debian's ssh -M. ProxyCommand=false proves the session went through the
// master: a direct connection would fail.
func testMuxOpenSSHMaster(t *testing.T, s *sshLab) {
	cfg := s.l.SSHConfig()
	sock := filepath.Join(s.runtimeDir, "openssh.sock")
	master := s.l.Command(context.Background(), "laptop", "ssh", "-F", cfg, "-M", "-S", sock, "-N", "-o", "ControlPersist=no", "hyper1")
	master.Env = labEnv()
	var merr bytes.Buffer
	master.Stderr = &merr
	if err := master.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { master.Wait(); close(done) }()
	t.Cleanup(func() {
		master.Process.Kill()
		<-done
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			break
		}
		if time.Now().After(deadline) {
			master.Process.Kill()
			<-done
			t.Fatalf("OpenSSH's master did not listen at %s; stderr %q", sock, merr.String())
		}
	}
	r := s.ssh(t, "-S", sock, "-O", "check", "hyper1")
	if m := masterRunningRE.FindStringSubmatch(r.stderr); r.code != 0 || m == nil || m[1] != strconv.Itoa(master.Process.Pid) {
		t.Errorf("jumpgate -O check on OpenSSH's master (pid %d): exit %d, stderr %q", master.Process.Pid, r.code, r.stderr)
	}
	r = s.sshWith(t, labRun{stdin: strings.NewReader("through openssh\n")},
		"-F", cfg, "-S", sock, "-o", "ProxyCommand=false", "hyper1", sessionCmd)
	r.want(t, 7, "through openssh\n", "to-stderr\n")
	if r.stderr != "to-stderr\n" {
		t.Errorf("stderr %q, want only the command's", r.stderr)
	}
	r = s.ssh(t, "-S", sock, "-O", "exit", "hyper1")
	if r.code != 0 || !strings.Contains(r.stderr, "Exit request sent.") {
		t.Errorf("jumpgate -O exit on OpenSSH's master: exit %d, stderr %q", r.code, r.stderr)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Errorf("OpenSSH's master still runs after jumpgate's -O exit")
	}
}

// testMuxOpenSSHClient: Debian's ssh -S on jumpgate's master: -O check, a
// session with stdin, stdout, stderr and exit status, and -O exit.
func testMuxOpenSSHClient(t *testing.T, s *sshLab) {
	cfg := s.l.SSHConfig()
	s.ssh(t, "-F", cfg, "hyper1", "true").want(t, 0, "")
	pid := s.masterPID(t, "hyper1")
	socks := s.sockets(t)
	if len(socks) != 1 {
		t.Fatalf("control sockets %q, want one", socks)
	}
	sock := socks[0]
	r := s.openssh(t, "", "-F", "/dev/null", "-S", sock, "-O", "check", "hyper1")
	if m := masterRunningRE.FindStringSubmatch(r.stderr); r.code != 0 || m == nil || m[1] != strconv.Itoa(pid) {
		t.Errorf("ssh -O check: exit %d, stderr %q; want the master's pid %d", r.code, r.stderr, pid)
	}
	r = s.openssh(t, "through jumpgate\n", "-F", "/dev/null", "-S", sock, "-o", "ProxyCommand=false", "hyper1", sessionCmd)
	if r.code != 7 || r.stdout != "through jumpgate\n" || r.stderr != "to-stderr\n" {
		t.Errorf("ssh -S session: exit %d, stdout %q, stderr %q; want 7, the input, to-stderr", r.code, r.stdout, r.stderr)
	}
	r = s.openssh(t, "", "-F", "/dev/null", "-S", sock, "-O", "exit", "hyper1")
	if r.code != 0 || !strings.Contains(r.stderr, "Exit request sent.") {
		t.Errorf("ssh -O exit: exit %d, stderr %q", r.code, r.stderr)
	}
	waitDead(t, pid, 5*time.Second, "jumpgate master after ssh -O exit")
}

// masterLines is what stderr says about a control master, -v's debug
// lines left out.
func masterLines(stderr string) []string {
	var lines []string
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "debug") && strings.Contains(strings.ToLower(line), "master") {
			lines = append(lines, line)
		}
	}
	return lines
}
