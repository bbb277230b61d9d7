package cli

// Lab tests of X11 forwarding through hyper1 and hyper2 to vm1: jumpgate
// ssh against Debian's sshd (X11Forwarding yes) and against a jumpgate
// serve --x11-forwarding in vm1, and Debian's ssh against that serve.
// The laptop's "X server" is a fake of ours on /tmp/.X11-unix/X<n> that
// records the cookie of each connection setup and answers a marker; the
// X client in vm1 is a copy of this test binary that takes its cookie
// from xauth, as Xlib does, and connects to $DISPLAY.

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
)

const x11ClientEnv = "JUMPGATE_TEST_X11_CLIENT"

// fakeXReply is what the fake X server answers a setup with: Success,
// then a marker the client prints.
const fakeXReply = "\x01jumpgate-fake-x"

// TestX11ClientHelper is not a test: run with x11ClientEnv set to "xauth"
// (the cookie xauth lists for $DISPLAY) or a hex cookie, it sends an X11
// connection setup to $DISPLAY and prints "reply <text>" or "closed".
func TestX11ClientHelper(t *testing.T) {
	mode := os.Getenv(x11ClientEnv)
	if mode == "" {
		t.Skip("helper process for the X11 lab tests")
	}
	display := os.Getenv("DISPLAY")
	cookie := mode
	if mode == "xauth" {
		out, err := exec.Command("xauth", "list", display).Output()
		f := strings.Fields(string(out))
		if err != nil || len(f) < 3 {
			fmt.Printf("xauth list %s: %v %q\n", display, err, out)
			os.Exit(1)
		}
		cookie = f[2]
	}
	data, err := hex.DecodeString(cookie)
	host, num, ok := strings.Cut(display, ":")
	num, _, _ = strings.Cut(num, ".")
	n, nerr := strconv.Atoi(num)
	if err != nil || !ok || nerr != nil || host != "localhost" {
		fmt.Printf("bad cookie %q or DISPLAY %q\n", cookie, display)
		os.Exit(1)
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(6000+n), 10*time.Second)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	c.SetDeadline(time.Now().Add(15 * time.Second))
	c.Write(x11SetupBytes("MIT-MAGIC-COOKIE-1", data))
	reply, _ := io.ReadAll(c)
	if len(reply) == 0 {
		fmt.Println("closed")
	} else {
		fmt.Printf("reply %q\n", reply)
	}
	os.Exit(0)
}

// x11SetupBytes is a little-endian X11 connection setup (protocol 11.0).
func x11SetupBytes(name string, data []byte) []byte {
	b := []byte{'l', 0, 11, 0, 0, 0}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(name)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	b = append(b, 0, 0)
	pad := func(b []byte, n int) []byte { return append(b, make([]byte, (4-n%4)%4)...) }
	b = pad(append(b, name...), len(name))
	return pad(append(b, data...), len(data))
}

// fakeX is a fake X server on /tmp/.X11-unix/X<n>, for one test.
type fakeX struct {
	display string
	mu      sync.Mutex
	cookies []string // hex, one per connection setup
}

func startFakeX(t *testing.T) *fakeX {
	t.Helper()
	if err := os.MkdirAll("/tmp/.X11-unix", 0o1777); err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	var n int
	for range 100 {
		var b [2]byte
		rand.Read(b[:])
		n = 3000 + int(binary.BigEndian.Uint16(b[:]))%5000
		var err error
		if ln, err = net.Listen("unix", fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
			break
		}
	}
	if ln == nil {
		t.Fatal("no free display for the fake X server")
	}
	x := &fakeX{display: ":" + strconv.Itoa(n)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(15 * time.Second))
				var h [12]byte
				if _, err := io.ReadFull(c, h[:]); err != nil {
					return
				}
				nl, dl := int(binary.LittleEndian.Uint16(h[6:])), int(binary.LittleEndian.Uint16(h[8:]))
				body := make([]byte, (nl+3)&^3+(dl+3)&^3)
				if _, err := io.ReadFull(c, body); err != nil {
					return
				}
				x.mu.Lock()
				x.cookies = append(x.cookies, hex.EncodeToString(body[(nl+3)&^3:][:dl]))
				x.mu.Unlock()
				io.WriteString(c, fakeXReply)
			})
		}
	})
	return x
}

func (x *fakeX) got() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.cookies...)
}

// x11Lab is an sshd lab with a jumpgate serve --x11-forwarding on vm1
// port 2222 (and one without the flag on 2223).
type x11Lab struct {
	sshLab
	cfg string // ssh_config: the lab's, plus vm1-jg and vm1-nox11
	dir string
}

func TestSSHX11Lab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab interop test skipped under -short")
	}
	requireOpenSSH(t)
	if _, err := exec.LookPath("xauth"); err != nil {
		t.Skip("xauth is not installed (scripts/deps.sh installs it)")
	}
	dir, err := os.MkdirTemp("/run", "jumpgate-test-x11-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	bin := labtest.Binary(t)
	s := &x11Lab{sshLab: sshLab{l: l, bin: bin, opts: []string{"-o", "ControlMaster=no"}, runtimeDir: t.TempDir()}, dir: dir}
	s.startServe(t)

	t.Run("jumpgate -Y to sshd", func(t *testing.T) { s.trusted(t, s.jgCmd, "vm1") })
	t.Run("jumpgate -Y to jumpgate serve", func(t *testing.T) { s.trusted(t, s.jgCmd, "vm1-jg") })
	t.Run("openssh -Y to jumpgate serve", func(t *testing.T) { s.trusted(t, s.opensshCmd, "vm1-jg") })
	t.Run("untrusted cookie as openssh generates it", s.untrusted)
	t.Run("wrong cookie refused", s.wrongCookie)
	t.Run("DISPLAY unset", s.noDisplay)
	t.Run("server refuses", s.refused)
}

// startServe runs jumpgate serve in vm1's namespaces (so its xauth writes
// the lab's home, not the machine's) and writes the config naming it.
func (s *x11Lab) startServe(t *testing.T) {
	pub, err := os.ReadFile(s.l.IdentityFile() + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	ak := filepath.Join(s.dir, "authorized_keys")
	if err := os.WriteFile(ak, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	var kh strings.Builder
	for _, port := range []string{"2222", "2223"} {
		hk := filepath.Join(s.dir, "host_key_"+port)
		args := []string{s.bin, "serve", "--init", "--host-key", hk, "--authorized-keys", ak,
			"--listen", "0.0.0.0:" + port, "--log", filepath.Join(s.dir, "serve-"+port+".log")}
		if port == "2222" {
			args = append(args, "--x11-forwarding")
		}
		cmd := s.l.Command(context.Background(), "vm1", args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		deadline := time.Now().Add(15 * time.Second)
		for {
			if c, err := s.l.DialContext(context.Background(), "hyper2", "tcp", net.JoinHostPort(s.l.Addr("vm1"), port)); err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("jumpgate serve on vm1:%s did not come up", port)
			}
			time.Sleep(100 * time.Millisecond)
		}
		key, err := os.ReadFile(hk + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&kh, "[%s]:%s %s", s.l.Addr("vm1"), port, key)
	}
	khPath := filepath.Join(s.dir, "known_hosts")
	if err := os.WriteFile(khPath, []byte(kh.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(s.l.SSHConfig())
	if err != nil {
		t.Fatal(err)
	}
	extra := ""
	for name, port := range map[string]string{"vm1-jg": "2222", "vm1-nox11": "2223"} {
		extra += fmt.Sprintf("\nHost %s\n  HostName %s\n  Port %s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  ProxyJump hyper1,hyper2\n",
			name, s.l.Addr("vm1"), port, s.l.IdentityFile(), khPath)
	}
	s.cfg = filepath.Join(s.dir, "ssh_config")
	if err := os.WriteFile(s.cfg, append([]byte(extra), base...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// xenv is the laptop's X environment: DISPLAY and an XAUTHORITY holding
// the real cookie.
func (s *x11Lab) xenv(t *testing.T, x *fakeX) (env []string, real string) {
	t.Helper()
	var b [16]byte
	rand.Read(b[:])
	real = hex.EncodeToString(b[:])
	xa := filepath.Join(t.TempDir(), "Xauthority")
	if out, err := exec.Command("xauth", "-f", xa, "add", x.display, "MIT-MAGIC-COOKIE-1", real).CombinedOutput(); err != nil {
		t.Fatalf("xauth add: %v %s", err, out)
	}
	return []string{"DISPLAY=" + x.display, "XAUTHORITY=" + xa}, real
}

// remoteClient is the command line that runs the X client in vm1.
func remoteClient(mode string) string {
	return fmt.Sprintf("%s=%s %s -test.run=^TestX11ClientHelper$", x11ClientEnv, mode, os.Args[0])
}

type x11Client func(t *testing.T, env []string, args ...string) labResult

func (s *x11Lab) jgCmd(t *testing.T, env []string, args ...string) labResult {
	return s.sshWith(t, labRun{env: env}, append([]string{"-F", s.cfg}, args...)...)
}

func (s *x11Lab) opensshCmd(t *testing.T, env []string, args ...string) labResult {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := s.l.Command(ctx, "laptop", append([]string{"ssh", "-F", s.cfg}, args...)...)
	cmd.Env = labEnv(env...)
	return runCmd(t, cmd)
}

// trusted: -Y, and the fake X server sees the laptop's real cookie, not
// the fake one the far side was given.
func (s *x11Lab) trusted(t *testing.T, run x11Client, host string) {
	x := startFakeX(t)
	env, real := s.xenv(t, x)
	r := run(t, env, "-Y", host, remoteClient("xauth"))
	r.stderr = firstXAuthNotice.ReplaceAllString(r.stderr, "")
	r.want(t, 0, fmt.Sprintf("reply %q\n", fakeXReply))
	if got := x.got(); len(got) != 1 || got[0] != real {
		t.Errorf("fake X server got cookies %q, want the real %s", got, real)
	}
}

// firstXAuthNotice is what sshd's xauth says on a home without
// .Xauthority: the far side's, passed on as Debian's ssh passes it.
var firstXAuthNotice = regexp.MustCompile(`(?m)^\S*xauth:  file \S+ does not exist\r?\n`)

// untrusted: -X with ForwardX11Trusted no runs xauth generate as ssh(1)
// does (compared with Debian's ssh through a recording xauth), and the
// generated cookie reaches the X server.
func (s *x11Lab) untrusted(t *testing.T) {
	x := startFakeX(t)
	env, _ := s.xenv(t, x)
	const untrusted = "0123456789abcdef0123456789abcdef"
	calls := map[string]string{}
	for _, c := range []struct {
		name string
		run  x11Client
	}{{"jumpgate", s.jgCmd}, {"openssh", s.opensshCmd}} {
		logf := filepath.Join(t.TempDir(), "xauth.log")
		fake := filepath.Join(t.TempDir(), "xauth")
		script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\ncase \"$*\" in *\" list \"*) echo \"laptop/unix:1  MIT-MAGIC-COOKIE-1  %s\";; esac\n", logf, untrusted)
		if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		r := c.run(t, env, "-X", "-o", "ForwardX11Trusted=no", "-o", "XAuthLocation="+fake, "-o", "ForwardX11Timeout=5m", "vm1", remoteClient("xauth"))
		r.want(t, 0, fmt.Sprintf("reply %q\n", fakeXReply))
		got, _ := os.ReadFile(logf)
		// The cookie file's directory is random: keep its base name.
		norm := regexp2Temp(string(got))
		calls[c.name] = norm
		want := "-f TMP/xauthfile generate " + x.display + " MIT-MAGIC-COOKIE-1 untrusted timeout 360\n-f TMP/xauthfile list " + x.display + "\n"
		if norm != want {
			t.Errorf("%s ran xauth as %q, want %q", c.name, norm, want)
		}
	}
	if calls["jumpgate"] != calls["openssh"] {
		t.Errorf("xauth calls differ: jumpgate %q, openssh %q", calls["jumpgate"], calls["openssh"])
	}
	if got := x.got(); len(got) != 2 || got[0] != untrusted || got[1] != untrusted {
		t.Errorf("fake X server got cookies %q, want the generated %s twice", got, untrusted)
	}
}

// regexp2Temp replaces "-f /some/dir/xauthfile" by "-f TMP/xauthfile".
func regexp2Temp(s string) string {
	var out []string
	for _, line := range strings.SplitAfter(s, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == "-f" {
			line = strings.Replace(line, filepath.Dir(f[1]), "TMP", 1)
		}
		out = append(out, line)
	}
	return strings.Join(out, "")
}

// wrongCookie: a far-side client without the fake cookie gets its channel
// closed; the X server never hears of it.
func (s *x11Lab) wrongCookie(t *testing.T) {
	x := startFakeX(t)
	env, _ := s.xenv(t, x)
	r := s.jgCmd(t, env, "-Y", "vm1", remoteClient(strings.Repeat("00", 16)))
	r.want(t, 0, "closed\n", "X11 connection rejected because of wrong authentication.")
	if got := x.got(); len(got) != 0 {
		t.Errorf("fake X server got %q", got)
	}
}

// noDisplay: -X without DISPLAY says so at debug level only and runs the
// command.
func (s *x11Lab) noDisplay(t *testing.T) {
	s.jgCmd(t, nil, "-X", "vm1", "echo ok; echo \"[$DISPLAY]\"").want(t, 0, "ok\n[]\n")
	r := s.jgCmd(t, nil, "-v", "-X", "vm1", "true")
	if r.code != 0 || !strings.Contains(r.stderr, "debug1: X11 forwarding requested but DISPLAY not set") {
		t.Errorf("-v -X without DISPLAY: exit %d, stderr %q", r.code, r.stderr)
	}
}

// refused: a server without X11 forwarding gets ssh(1)'s warning and the
// session goes on, as with Debian's ssh.
func (s *x11Lab) refused(t *testing.T) {
	x := startFakeX(t)
	env, _ := s.xenv(t, x)
	for _, run := range []x11Client{s.jgCmd, s.opensshCmd} {
		r := run(t, env, "-X", "vm1-nox11", "echo ok")
		r.want(t, 0, "ok\n", "X11 forwarding request failed on channel 0")
	}
}
