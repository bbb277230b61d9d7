package cli

// Lab tests of jumpgate ssh's forwarding: the built binary runs on the
// laptop and forwards through hyper1 and hyper2 to vm1, against Debian's
// sshd and against jumpgate serve. Echo-like targets ("upper" servers,
// which answer a connection's input upper-cased after its EOF, so that
// half-close is checked too) run as copies of this test binary inside the
// lab hosts.

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
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

const upperHelperEnv = "JUMPGATE_TEST_UPPER_LISTEN"

// TestUpperHelper is not a test: run with upperHelperEnv set to a comma
// list of network:address, it serves "upper" on each and prints "ready".
func TestUpperHelper(t *testing.T) {
	spec := os.Getenv(upperHelperEnv)
	if spec == "" {
		t.Skip("helper process for the forwarding lab tests")
	}
	for _, na := range strings.Split(spec, ",") {
		network, addr, _ := strings.Cut(na, ":")
		os.Remove(addr)
		ln, err := net.Listen(network, addr)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		go serveUpper(ln)
	}
	fmt.Println("ready")
	select {}
}

func serveUpper(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			b, _ := io.ReadAll(c)
			c.Write([]byte(strings.ToUpper(string(b))))
		}()
	}
}

// startUpper runs the upper helper on host, listening on addrs.
func (s *sshLab) startUpper(t *testing.T, host string, addrs ...string) {
	t.Helper()
	cmd := s.l.Command(context.Background(), host, os.Args[0], "-test.run=^TestUpperHelper$")
	cmd.Env = append(cmd.Environ(), upperHelperEnv+"="+strings.Join(addrs, ","))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("upper helper on %s: %q", host, line)
	}
}

// bg is a jumpgate ssh left running, with its stderr collected.
type bg struct {
	cmd   *exec.Cmd
	lines chan string
}

// sshBackground starts `jumpgate ssh args…` on the laptop and ends it when
// the test does.
func (s *sshLab) sshBackground(t *testing.T, args ...string) *bg {
	t.Helper()
	cmd := s.command(context.Background(), labRun{}, args...)
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &bg{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(errOut)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
		close(b.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return b
}

// waitLine waits for a stderr line matching re and returns its submatches.
func (b *bg) waitLine(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	var seen []string
	for {
		select {
		case l, ok := <-b.lines:
			if !ok {
				t.Fatalf("jumpgate ssh ended without %q; stderr %q", re, seen)
			}
			seen = append(seen, l)
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("no %q on stderr within 20 s; stderr %q", re, seen)
		}
	}
}

// dialHost connects from host to addr, retrying while a forward comes up.
func (s *sshLab) dialHost(t *testing.T, host, network, addr string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var c net.Conn
		var err error
		if network == "unix" {
			var d net.Dialer
			c, err = d.DialContext(ctx, network, addr)
		} else {
			c, err = s.l.DialContext(ctx, host, network, addr)
		}
		cancel()
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s %s on %s: %v", network, addr, host, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// upperRoundTrip sends msg, half-closes and expects it back upper-cased.
func upperRoundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != strings.ToUpper(msg) {
		t.Fatalf("got %d bytes %.40q, %v; want %.40q", len(got), got, err, strings.ToUpper(msg))
	}
}

// socks5 asks the SOCKS5 server on c for host:port; it returns the reply
// code (0 is success).
func socks5(t *testing.T, c net.Conn, host string, port int) byte {
	t.Helper()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	req := append([]byte{5, 1, 0, 5, 1, 0, 3, byte(len(host))}, host...)
	req = binary.BigEndian.AppendUint16(req, uint16(port))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var resp [12]byte
	if _, err := io.ReadFull(c, resp[:]); err != nil {
		return 0xff
	}
	c.SetDeadline(time.Time{})
	return resp[3]
}

// TestSSHForwardLab runs every kind of forward through two hops.
func TestSSHForwardLab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab interop test skipped under -short")
	}
	for _, kind := range []lab.ServerKind{lab.OpenSSH, lab.Jumpgate} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			if kind == lab.OpenSSH {
				requireOpenSSH(t)
			}
			// Made before the lab, so removed after it (and any master).
			runtime := t.TempDir()
			// Direct connections: these tests are of the forwards
			// themselves, not of forwarding through a master.
			s := &sshLab{l: labtest.New(t, lab.Options{Server: kind}), bin: labtest.Binary(t),
				opts: []string{"-o", "ControlMaster=no"}, runtimeDir: runtime}
			// vm1 serves on its loopback, on its lab address and on a
			// socket in its own /root; the laptop on its loopback.
			s.startUpper(t, "vm1", "tcp:127.0.0.1:7000", "tcp:198.18.6.11:7001", "unix:/root/upper.sock")
			s.startUpper(t, "laptop", "tcp:127.0.0.1:7000")
			t.Run("local", s.testLocalForwards)
			t.Run("remote", s.testRemoteForwards)
			t.Run("dynamic", s.testDynamicForward)
			t.Run("failure", s.testForwardFailure)
			t.Run("fork", s.testForwardFork)
		})
	}
}

func (s *sshLab) testLocalForwards(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "l.sock")
	cfg := s.l.SSHConfig()
	b := s.sshBackground(t, "-F", cfg, "-N", "-o", "ExitOnForwardFailure=yes",
		"-L", "8001:localhost:7000", // to vm1's loopback
		"-L", "127.0.0.1:8002:/root/upper.sock", // port to vm1's socket
		"-L", sock+":/root/upper.sock", // socket to socket
		"-L", "[::1]:8003:198.18.6.11:7001",
		"vm1")
	_ = b
	msg := strings.Repeat("forwarded through two hops ", 20000)
	tests := []struct{ name, network, addr string }{
		{"tcp to tcp", "tcp", "127.0.0.1:8001"},
		{"tcp to vm1 unix socket", "tcp", "127.0.0.1:8002"},
		{"unix to vm1 unix socket", "unix", sock},
		{"ipv6 bind", "tcp", "[::1]:8003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upperRoundTrip(t, s.dialHost(t, "laptop", tt.network, tt.addr), msg)
		})
	}
	t.Run("socket mode", func(t *testing.T) {
		st, err := os.Stat(sock)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600 (StreamLocalBindMask 0177)", sock, st.Mode(), err)
		}
	})
}

func (s *sshLab) testRemoteForwards(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "r.sock")
	cfg := s.l.SSHConfig()
	b := s.sshBackground(t, "-F", cfg, "-N", "-o", "ExitOnForwardFailure=yes",
		"-R", "127.0.0.1:8101:127.0.0.1:7000", // vm1's port to the laptop's
		"-R", sock+":127.0.0.1:7000",
		"-R", "0:localhost:7000",
		"-R", "127.0.0.1:8102", // SOCKS, connecting from the laptop
		"vm1")
	m := b.waitLine(t, regexp.MustCompile(`^Allocated port (\d+) for remote forward to localhost:7000\r?$`))
	msg := strings.Repeat("back to the laptop ", 20000)
	t.Run("tcp", func(t *testing.T) {
		upperRoundTrip(t, s.dialHost(t, "vm1", "tcp", "127.0.0.1:8101"), msg)
	})
	t.Run("unix socket", func(t *testing.T) {
		upperRoundTrip(t, s.dialHost(t, "vm1", "unix", sock), msg)
	})
	t.Run("allocated port", func(t *testing.T) {
		upperRoundTrip(t, s.dialHost(t, "vm1", "tcp", "127.0.0.1:"+m[1]), msg)
	})
	t.Run("socks", func(t *testing.T) {
		c := s.dialHost(t, "vm1", "tcp", "127.0.0.1:8102")
		if code := socks5(t, c, "localhost", 7000); code != 0 {
			t.Fatalf("socks5 reply %d", code)
		}
		upperRoundTrip(t, c, msg)
	})
}

// testDynamicForward asks SOCKS5 for a name that only hyper2's /etc/hosts
// knows (bind-mounted in its mount namespace alone).
func (s *sshLab) testDynamicForward(t *testing.T) {
	t.Parallel()
	hosts := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(hosts, []byte("127.0.0.1 localhost\n198.18.6.11 secret-vm.lab\n"), 0o644)
	if out, err := s.l.Command(context.Background(), "hyper2", "mount", "--bind", hosts, "/etc/hosts").CombinedOutput(); err != nil {
		t.Fatalf("mount hosts in hyper2: %v %s", err, out)
	}
	t.Cleanup(func() { s.l.Command(context.Background(), "hyper2", "umount", "/etc/hosts").Run() })
	cfg := s.l.SSHConfig()
	s.sshBackground(t, "-F", cfg, "-N", "-D", "8201", "hyper2")
	s.sshBackground(t, "-F", cfg, "-N", "-D", "127.0.0.1:8202", "hyper1")
	s.sshBackground(t, "-F", cfg, "-N", "-D", "127.0.0.1:8203", "vm1")
	t.Run("socks5 through two hops to vm1's loopback", func(t *testing.T) {
		c := s.dialHost(t, "laptop", "tcp", "127.0.0.1:8203")
		if code := socks5(t, c, "localhost", 7000); code != 0 {
			t.Fatalf("socks5 reply %d", code)
		}
		upperRoundTrip(t, c, strings.Repeat("two hops ", 50000))
	})
	t.Run("socks5 name resolved by hyper2", func(t *testing.T) {
		c := s.dialHost(t, "laptop", "tcp", "127.0.0.1:8201")
		if code := socks5(t, c, "secret-vm.lab", 7001); code != 0 {
			t.Fatalf("socks5 reply %d", code)
		}
		upperRoundTrip(t, c, strings.Repeat("socks ", 50000))
	})
	t.Run("socks4a", func(t *testing.T) {
		c := s.dialHost(t, "laptop", "tcp", "127.0.0.1:8201")
		c.Write(append([]byte{4, 1, 7001 >> 8, 7001 & 0xff, 0, 0, 0, 1, 0}, "secret-vm.lab\x00"...))
		var resp [8]byte
		if _, err := io.ReadFull(c, resp[:]); err != nil || resp[1] != 0x5a {
			t.Fatalf("socks4a reply %v, %v", resp, err)
		}
		upperRoundTrip(t, c, "four a")
	})
	t.Run("hyper1 cannot resolve it", func(t *testing.T) {
		c := s.dialHost(t, "laptop", "tcp", "127.0.0.1:8202")
		defer c.Close()
		if code := socks5(t, c, "secret-vm.lab", 7001); code == 0 {
			t.Fatal("socks5 through hyper1 succeeded; the name should be unknown there")
		}
	})
	t.Run("garbage closes only its connection", func(t *testing.T) {
		c := s.dialHost(t, "laptop", "tcp", "127.0.0.1:8201")
		c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c); err != nil && !strings.Contains(err.Error(), "reset") {
			t.Errorf("garbage: %v; want the connection closed", err)
		}
		c.Close()
		c = s.dialHost(t, "laptop", "tcp", "127.0.0.1:8201")
		if code := socks5(t, c, "secret-vm.lab", 7001); code != 0 {
			t.Fatalf("socks5 after garbage: reply %d", code)
		}
		upperRoundTrip(t, c, "still fine")
	})
}

func (s *sshLab) testForwardFailure(t *testing.T) {
	t.Parallel()
	cfg := s.l.SSHConfig()
	t.Run("remote port taken", func(t *testing.T) {
		s.ssh(t, "-F", cfg, "-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:7000:127.0.0.1:7000", "vm1", "echo ran").
			want(t, 255, "", "Error: remote port forwarding failed for listen port 7000")
	})
	t.Run("remote port taken without ExitOnForwardFailure", func(t *testing.T) {
		s.ssh(t, "-F", cfg, "-R", "127.0.0.1:7000:127.0.0.1:7000", "vm1", "echo ran").
			want(t, 0, "ran\n", "Warning: remote port forwarding failed for listen port 7000")
	})
	t.Run("local port taken", func(t *testing.T) {
		s.ssh(t, "-F", cfg, "-o", "ExitOnForwardFailure=yes", "-L", "127.0.0.1:7000:localhost:7000", "vm1", "echo ran").
			want(t, 255, "", "bind [127.0.0.1]:7000: Address already in use", "Could not request local forwarding.")
	})
	t.Run("ClearAllForwardings", func(t *testing.T) {
		s.ssh(t, "-F", cfg, "-o", "ExitOnForwardFailure=yes", "-o", "ClearAllForwardings=yes", "-L", "127.0.0.1:7000:localhost:7000", "vm1", "echo ran").
			want(t, 0, "ran\n")
	})
}

// testForwardFork is -f -N: jumpgate ssh returns once the forward is up,
// which then works from the background copy, which we end by its PID.
func (s *sshLab) testForwardFork(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outF, _ := os.Create(filepath.Join(dir, "out"))
	errF, _ := os.Create(filepath.Join(dir, "err"))
	defer outF.Close()
	defer errF.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := "127.0.0.1:8301:localhost:7000"
	cmd := s.command(ctx, labRun{}, "-F", s.l.SSHConfig(), "-f", "-N", "-L", spec, "vm1")
	cmd.Stdout, cmd.Stderr = outF, errF
	r := runCmd(t, cmd)
	pid := findProcess(s.bin, spec)
	if pid != 0 {
		t.Cleanup(func() { syscall.Kill(pid, syscall.SIGTERM) })
	}
	if r.code != 0 || pid == 0 {
		errs, _ := os.ReadFile(errF.Name())
		t.Fatalf("exit %d (stderr %q), background pid %d", r.code, errs, pid)
	}
	// No retry: the forward must already be up when -f returns.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	c, err := s.l.DialContext(ctx2, "laptop", "tcp", "127.0.0.1:8301")
	if err != nil {
		t.Fatalf("forward not up when -f returned: %v", err)
	}
	upperRoundTrip(t, c, "from the background")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); findProcess(s.bin, spec) != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("background jumpgate ssh %d did not end on SIGTERM", pid)
		}
	}
}

// findProcess returns the PID of a running `bin ssh … arg …`, or 0.
func findProcess(bin, arg string) int {
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
		for _, a := range args {
			if a == arg {
				return pid
			}
		}
	}
	return 0
}
