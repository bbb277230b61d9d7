package cli

// Side-by-side tests of the multiplexing commands: each case runs the same
// command lines with Debian's ssh and with jumpgate ssh (each with its own
// XDG_RUNTIME_DIR and socket directory, each against its own master when
// the case wants one) in a lab of Debian's sshd, and compares exit codes,
// stdout and stderr after normalising what must differ (paths, pids,
// allocated ports). Where jumpgate deliberately differs (a stale socket
// is recovered), the case says what each side must print.

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
)

// muxCompatSide is one client (ssh or jumpgate) in one case: its own
// directory, socket and master.
type muxCompatSide struct {
	name string
	l    *lab.Lab
	argv []string // the client's command up to the options
	dir  string   // XDG_RUNTIME_DIR and the socket's directory
	sock string
}

func (c *muxCompatSide) run(t *testing.T, args ...string) labResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append(append([]string{}, c.argv...), "-F", c.l.SSHConfig(), "-o", "BatchMode=yes")
	for _, a := range args {
		full = append(full, strings.ReplaceAll(a, "SOCK", c.sock))
	}
	cmd := c.l.Command(ctx, "laptop", full...)
	cmd.Env = labEnv("XDG_RUNTIME_DIR=" + c.dir)
	// A background master holding our pipes would show here as a
	// WaitDelay error (runCmd fails the test).
	cmd.WaitDelay = 3 * time.Second
	r := runCmd(t, cmd)
	r.stdout = c.normalise(r.stdout)
	r.stderr = c.normalise(r.stderr)
	return r
}

var (
	muxPidRE  = regexp.MustCompile(`pid=\d+`)
	muxPortRE = regexp.MustCompile(`(?m)^\d+$`)
)

func (c *muxCompatSide) normalise(s string) string {
	s = strings.ReplaceAll(s, c.dir, "DIR")
	s = muxPidRE.ReplaceAllString(s, "pid=N")
	return muxPortRE.ReplaceAllString(s, "PORT")
}

// startMaster starts `-M -S SOCK -f -N hyper1` and ends it in t.Cleanup
// (-O exit, then SIGTERM by pid if it is still there).
func (c *muxCompatSide) startMaster(t *testing.T) {
	t.Helper()
	c.run(t, "-M", "-S", "SOCK", "-f", "-N", "hyper1").want(t, 0, "")
	c.stopMaster(t, true)
}

// stopMaster ends, in t.Cleanup, the master a step starts (or, with
// now, the one running already): -O exit, then SIGTERM by pid.
func (c *muxCompatSide) stopMaster(t *testing.T, now bool) {
	t.Helper()
	if !now {
		t.Cleanup(func() {
			if _, err := os.Stat(c.sock); err == nil {
				c.stopMaster(t, true)
			}
		})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := c.l.Command(ctx, "laptop", append(append([]string{}, c.argv...), "-F", c.l.SSHConfig(), "-S", c.sock, "-O", "check", "hyper1")...)
	cmd.Env = labEnv("XDG_RUNTIME_DIR=" + c.dir)
	out, _ := cmd.CombinedOutput()
	m := regexp.MustCompile(`pid=(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Errorf("%s: no master to stop: %q", c.name, out)
		return
	}
	pid, _ := strconv.Atoi(m[1])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := c.l.Command(ctx, "laptop", append(append([]string{}, c.argv...), "-F", c.l.SSHConfig(), "-S", c.sock, "-O", "exit", "hyper1")...)
		cmd.Env = labEnv("XDG_RUNTIME_DIR=" + c.dir)
		cmd.Run()
		for deadline := time.Now().Add(3 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGTERM)
				break
			}
		}
	})
}

// makeStale leaves a socket nobody listens on at SOCK.
func (c *muxCompatSide) makeStale(t *testing.T) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: c.sock}); err != nil {
		t.Fatal(err)
	}
}

// muxStep is one command line of a case; differs gives each side's
// expected result where jumpgate deliberately differs from ssh(1).
type muxStep struct {
	args    []string
	code    int
	stdout  string
	stderr  string
	differs map[string]labResult // by side name: exact expectations instead
}

func TestSSHMuxCompat(t *testing.T) {
	if testing.Short() {
		t.Skip("lab interop test skipped under -short")
	}
	requireOpenSSH(t)
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	bin := labtest.Binary(t)
	noSocket := "Control socket connect(DIR/s): No such file or directory\r\n"
	check := muxStep{args: []string{"-S", "SOCK", "-O", "check", "hyper1"}, stderr: "Master running (pid=N)\r\n"}
	gone := muxStep{args: []string{"-S", "SOCK", "-O", "check", "hyper1"}, code: 255, stderr: noSocket}
	tests := []struct {
		name  string
		setup string // "", "master" or "stale"
		steps []muxStep
	}{
		{"check without a master", "", []muxStep{gone}},
		{"-M -S path -f -N then check", "master", []muxStep{check}},
		{"-q check still says it", "master", []muxStep{{args: []string{"-q", "-S", "SOCK", "-O", "check", "hyper1"}, stderr: "Master running (pid=N)\r\n"}}},
		{"exit", "master", []muxStep{{args: []string{"-S", "SOCK", "-O", "exit", "hyper1"}, stderr: "Exit request sent.\r\n"}, gone}},
		{"-q exit", "master", []muxStep{{args: []string{"-q", "-S", "SOCK", "-O", "exit", "hyper1"}}, gone}},
		{"stop", "master", []muxStep{{args: []string{"-S", "SOCK", "-O", "stop", "hyper1"}, stderr: "Stop listening request sent.\r\n"}, gone}},
		{"forward -R 0 prints the port", "master", []muxStep{
			{args: []string{"-S", "SOCK", "-O", "forward", "-R", "0:127.0.0.1:22", "hyper1"}, stdout: "PORT\n"}}},
		{"forward refused by the server", "master", []muxStep{
			{args: []string{"-S", "SOCK", "-O", "forward", "-R", "127.0.0.1:22:127.0.0.1:22", "hyper1"}, code: 255,
				stderr: "mux_client_forward: forwarding request failed: remote port forwarding failed for listen port 22\r\nmuxclient: master forward request failed\r\n"}}},
		{"-q forward refused", "master", []muxStep{
			{args: []string{"-q", "-S", "SOCK", "-O", "forward", "-R", "127.0.0.1:22:127.0.0.1:22", "hyper1"}, code: 255}}},
		{"cancel of no forward", "master", []muxStep{
			{args: []string{"-S", "SOCK", "-O", "cancel", "-L", "127.0.0.1:2399:127.0.0.1:22", "hyper1"},
				stderr: "mux_client_forward: forwarding request failed: port not forwarded\r\nmuxclient: master cancel forward request failed\r\n"}}},
		{"forward then cancel", "master", []muxStep{
			{args: []string{"-S", "SOCK", "-O", "forward", "-R", "127.0.0.1:2398:127.0.0.1:22", "hyper1"}},
			{args: []string{"-S", "SOCK", "-O", "cancel", "-R", "127.0.0.1:2398:127.0.0.1:22", "hyper1"}}}},
		{"invalid command", "master", []muxStep{
			{args: []string{"-S", "SOCK", "-O", "bogus", "hyper1"}, code: 255, stderr: "Invalid multiplex command.\r\n"}}},
		{"session through the master", "master", []muxStep{
			{args: []string{"-S", "SOCK", "hyper1", "echo hi; echo oops >&2; exit 3"}, code: 3, stdout: "hi\n", stderr: "oops\n"}}},
		{"-O proxy session through the master", "master", []muxStep{
			{args: []string{"-S", "SOCK", "-O", "proxy", "hyper1", "echo hi; echo oops >&2; exit 44"}, code: 44, stdout: "hi\n", stderr: "oops\n"}}},
		{"-O proxy without a master", "", []muxStep{
			{args: []string{"-S", "SOCK", "-O", "proxy", "hyper1", "true"}, code: 255, stderr: noSocket}}},
		// The command that starts a master of the user's leaves its
		// forwards to it: they stay up once that command is done.
		{"a master's creator leaves its forwards to it", "started", []muxStep{
			{args: []string{"-M", "-S", "SOCK", "-o", "ControlPersist=yes", "-f", "-L", "127.0.0.1:2397:127.0.0.1:22", "hyper1", "true"}},
			{args: []string{"-S", "SOCK", "-O", "cancel", "-L", "127.0.0.1:2397:127.0.0.1:22", "hyper1"}}}},
		{"remote signal through the master", "master", []muxStep{
			{args: []string{"-S", "SOCK", "hyper1", "kill -TERM $$"}, code: 255}}},
		{"-S none", "", []muxStep{{args: []string{"-S", "none", "hyper1", "echo ok"}, stdout: "ok\n"}}},
		{"-S none -O check", "", []muxStep{{args: []string{"-S", "none", "-O", "check", "hyper1"}, code: 255,
			stderr: "No ControlPath specified for \"-O\" command\r\n"}}},
		{"check of a stale socket", "stale", []muxStep{{args: []string{"-S", "SOCK", "-O", "check", "hyper1"}, code: 255,
			stderr: "Control socket connect(DIR/s): Connection refused\r\n"}}},
		// jumpgate recovers a stale socket in every mode, silently.
		{"stale socket, ControlMaster no", "stale", []muxStep{{args: []string{"-o", "ControlMaster=no", "-S", "SOCK", "hyper1", "echo ok"},
			differs: map[string]labResult{
				"ssh":      {stdout: "ok\n", stderr: "Control socket connect(DIR/s): Connection refused\r\n"},
				"jumpgate": {stdout: "ok\n"},
			}}}},
		{"stale socket, ControlMaster yes", "stale", []muxStep{{args: []string{"-o", "ControlMaster=yes", "-S", "SOCK", "hyper1", "echo ok"},
			differs: map[string]labResult{
				"ssh":      {stdout: "ok\n", stderr: "ControlSocket DIR/s already exists, disabling multiplexing\r\n"},
				"jumpgate": {stdout: "ok\n"},
			}}}},
		{"stale socket, ControlMaster auto", "stale", []muxStep{{args: []string{"-o", "ControlMaster=auto", "-S", "SOCK", "hyper1", "echo ok"}, stdout: "ok\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sides []*muxCompatSide
			for _, name := range []string{"ssh", "jumpgate"} {
				// Short: a socket path has room for 107 bytes.
				dir, err := os.MkdirTemp("", "jgmc-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(dir) })
				c := &muxCompatSide{name: name, l: l, argv: []string{"ssh"}, dir: dir, sock: filepath.Join(dir, "s")}
				if name == "jumpgate" {
					c.argv = []string{bin, "ssh"}
				}
				switch tt.setup {
				case "master":
					c.startMaster(t)
				case "stale":
					c.makeStale(t)
				case "started":
					c.stopMaster(t, false)
				}
				sides = append(sides, c)
			}
			// One side's steps, then the other's: both use hyper1, so a
			// remote port one side forwards is taken until it cancels.
			for _, c := range sides {
				for i, st := range tt.steps {
					got := c.run(t, st.args...)
					want := labResult{code: st.code, stdout: st.stdout, stderr: st.stderr}
					if d, ok := st.differs[c.name]; ok {
						want = d
					}
					if got.code != want.code || got.stdout != want.stdout || got.stderr != want.stderr {
						t.Errorf("step %d, %s %s: exit %d, stdout %q, stderr %q;\nwant exit %d, stdout %q, stderr %q",
							i+1, c.name, strings.Join(st.args, " "), got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
					}
				}
			}
		})
	}
}
