package cli

// The forwarding lab tests again, through masters (jumpgate's default):
// the forwards of a client's command line are asked of the master, must
// come up, fail in ssh(1)'s words and end with the client.

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/mux"
)

// TestSSHMuxForwardLab runs the forwarding suite with every connection
// through a master, for a jumpgate master and for OpenSSH's.
func TestSSHMuxForwardLab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab interop test skipped under -short")
	}
	for _, kind := range []lab.ServerKind{lab.OpenSSH, lab.Jumpgate} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			if kind == lab.OpenSSH {
				requireOpenSSH(t)
			}
			runtime := t.TempDir()
			s := &sshLab{l: labtest.New(t, lab.Options{Server: kind}), bin: labtest.Binary(t),
				muxed: true, runtimeDir: runtime}
			endMastersIn(t, filepath.Join(runtime, "jumpgate"))
			s.startUpper(t, "vm1", "tcp:127.0.0.1:7000", "tcp:198.18.6.11:7001", "unix:/root/upper.sock")
			s.startUpper(t, "laptop", "tcp:127.0.0.1:7000")
			t.Run("local", s.testLocalForwards)
			t.Run("remote", s.testRemoteForwards)
			t.Run("dynamic", s.testDynamicForward)
			t.Run("failure", s.testForwardFailure)
			t.Run("fork", s.testMuxForwardFork)
			t.Run("client owned", s.testMuxClientForwardLifetime)
		})
	}
}

// endMastersIn ends, when t does, every master whose socket is in dir:
// -O exit, then SIGKILL by the pid it gave if it is still there.
func endMastersIn(t *testing.T, dir string) {
	t.Cleanup(func() {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			endMaster(filepath.Join(dir, e.Name()))
		}
	})
}

// endMaster ends the master at path (-O exit), and kills it by its pid if
// it has not gone within a few seconds.
func endMaster(path string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := mux.Dial(ctx, path)
	if err != nil {
		return
	}
	defer c.Close()
	pid, err := c.Check(ctx)
	if err != nil {
		return
	}
	c.Terminate(ctx)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// findClient is findProcess for clients only: the background master a
// client started has the client's command line too, but the marker of a
// master in its environment.
func findClient(bin, arg string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) < 2 || args[0] != bin || args[1] != "ssh" {
			continue
		}
		env, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		if strings.Contains(string(env), "JUMPGATE_MUX_MASTER_FD=") {
			continue
		}
		for _, a := range args {
			if a == arg {
				return pid
			}
		}
	}
	return 0
}

// testMuxForwardFork is -f -N through a master: the forward is up when -f
// returns, and gone once the client is ended.
func (s *sshLab) testMuxForwardFork(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outF, _ := os.Create(filepath.Join(dir, "out"))
	errF, _ := os.Create(filepath.Join(dir, "err"))
	defer outF.Close()
	defer errF.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := "127.0.0.1:8311:localhost:7000"
	cmd := s.command(ctx, labRun{}, "-F", s.l.SSHConfig(), "-f", "-N", "-L", spec, "vm1")
	// Files, not pipes: the background copy keeps them open.
	cmd.Stdout, cmd.Stderr = outF, errF
	r := runCmd(t, cmd)
	pid := findClient(s.bin, spec)
	if pid != 0 {
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGTERM) })
	}
	if r.code != 0 || pid == 0 {
		errs, _ := os.ReadFile(errF.Name())
		t.Fatalf("exit %d (stderr %q), background pid %d", r.code, errs, pid)
	}
	c, err := s.dialOnce(t, "laptop", "127.0.0.1:8311")
	if err != nil {
		t.Fatalf("forward not up when -f returned: %v", err)
	}
	upperRoundTrip(t, c, "from the background")
	syscall.Kill(pid, syscall.SIGTERM)
	s.waitGone(t, "laptop", "127.0.0.1:8311")
}

// testMuxClientForwardLifetime: a forward of a client's command line ends
// with that client; one added with -O forward stays with the master.
func (s *sshLab) testMuxClientForwardLifetime(t *testing.T) {
	t.Parallel()
	cfg := s.l.SSHConfig()
	b := s.sshBackground(t, "-F", cfg, "-N", "-o", "ExitOnForwardFailure=yes",
		"-L", "127.0.0.1:8321:localhost:7000", "-R", "127.0.0.1:8322:127.0.0.1:7000", "vm1")
	upperRoundTrip(t, s.dialHost(t, "laptop", "tcp", "127.0.0.1:8321"), "local while the client runs")
	upperRoundTrip(t, s.dialHost(t, "vm1", "tcp", "127.0.0.1:8322"), "remote while the client runs")
	b.cmd.Process.Kill()
	b.cmd.Wait()
	s.waitGone(t, "laptop", "127.0.0.1:8321")
	s.waitGone(t, "vm1", "127.0.0.1:8322")

	s.ssh(t, "-F", cfg, "-O", "forward", "-L", "127.0.0.1:8323:localhost:7000", "vm1").want(t, 0, "")
	upperRoundTrip(t, s.dialHost(t, "laptop", "tcp", "127.0.0.1:8323"), "master-owned")
	// A later client coming and going leaves it alone.
	s.ssh(t, "-F", cfg, "vm1", "true").want(t, 0, "")
	upperRoundTrip(t, s.dialHost(t, "laptop", "tcp", "127.0.0.1:8323"), "still there")
	s.ssh(t, "-F", cfg, "-O", "cancel", "-L", "127.0.0.1:8323:localhost:7000", "vm1").want(t, 0, "")
	s.waitGone(t, "laptop", "127.0.0.1:8323")
}

// dialOnce connects from host to a TCP addr without retrying.
func (s *sshLab) dialOnce(t *testing.T, host, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.l.DialContext(ctx, host, "tcp", addr)
}

// waitGone waits until nothing listens at addr on host any more.
func (s *sshLab) waitGone(t *testing.T, host, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := s.l.DialContext(ctx, host, "tcp", addr)
		cancel()
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%s on %s still accepts connections after its client ended", addr, host)
		}
	}
}
