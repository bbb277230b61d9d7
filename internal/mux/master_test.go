package mux

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/nstest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

func TestSessionThroughMaster(t *testing.T) {
	t.Parallel()
	tm := startMaster(t, nil)
	c := dialMaster(t, tm.path)
	ctx := context.Background()
	pid, err := c.Check(ctx)
	if err != nil || pid != os.Getpid() {
		t.Fatalf("Check = %d, %v; want our pid %d", pid, err, os.Getpid())
	}
	out, stdout := outPipe(t)
	errw, stderr := outPipe(t)
	status, err := c.Session(ctx, NewSession{Command: "cat; echo oops >&2; exit 3", EscapeChar: NoEscape},
		inPipe(t, "hello\n"), out, errw, SessionEvents{})
	if err != nil {
		t.Fatal(err)
	}
	if status != 3 {
		t.Errorf("status %d, want 3", status)
	}
	if got := stdout(); got != "hello\n" {
		t.Errorf("stdout %q", got)
	}
	if got := stderr(); got != "oops\n" {
		t.Errorf("stderr %q", got)
	}
	info := tm.Info()
	if info.BytesIn < 11 || info.BytesOut < 6 {
		t.Errorf("byte counts in %d out %d, want at least 11 and 6", info.BytesIn, info.BytesOut)
	}
}

// A client that sends garbage or hangs up mid-message loses its own
// connection only.
func TestBadClientsDoNotDisturbOthers(t *testing.T) {
	t.Parallel()
	tm := startMaster(t, nil)
	good := dialMaster(t, tm.path)
	bad := []struct {
		name string
		send []byte
	}{
		{"garbage", []byte("GET / HTTP/1.0\r\n\r\n")},
		{"huge length", []byte{0x7f, 0xff, 0xff, 0xff}},
		{"mid-message hangup", []byte{0, 0, 0, 8, 0, 0, 0, 1, 0}},
		{"request before hello", unhexBytes("00000008 10000004 00000001")},
		{"descriptors missing", unhexBytes("00000008 00000001 00000004" +
			"0000002c 10000002 00000001 00000000 00000000 00000000 00000000 00000000 ffffffff 00000000 00000004 74727565 000000 00 00 00")},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			c, err := net.Dial("unix", tm.path)
			if err != nil {
				t.Fatal(err)
			}
			c.Write(b.send)
			c.Close()
			if _, err := good.Check(context.Background()); err != nil {
				t.Fatalf("good client after %s: %v", b.name, err)
			}
		})
	}
	// An unknown request is answered, not fatal.
	c := dialMaster(t, tm.path)
	if err := c.fc.writePacket(&Request{Kind: 0x10000077, ID: 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.reply(context.Background(), 0); err == nil || !strings.Contains(err.Error(), "unsupported request") {
		t.Fatalf("unknown request: %v", err)
	}
}

func unhexBytes(s string) []byte {
	var out []byte
	s = strings.Join(strings.Fields(s), "")
	for i := 0; i+1 < len(s); i += 2 {
		n, _ := strconv.ParseUint(s[i:i+2], 16, 8)
		out = append(out, byte(n))
	}
	return out
}

func TestStopLetsSessionsFinish(t *testing.T) {
	t.Parallel()
	tm := startMaster(t, nil)
	c := dialMaster(t, tm.path)
	out, stdout := outPipe(t)
	errw, _ := outPipe(t)
	result := make(chan int, 1)
	opened := make(chan struct{})
	go func() {
		st, err := c.Session(context.Background(), NewSession{Command: "sleep 1; echo finished", EscapeChar: NoEscape},
			inPipe(t, ""), out, errw, SessionEvents{Opened: func(uint32) { close(opened) }})
		if err != nil {
			t.Errorf("session: %v", err)
		}
		result <- st
	}()
	<-opened
	if err := dialMaster(t, tm.path).StopListening(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tm.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after stop: %v", err)
	}
	// The session, started before the stop, runs to its end with its
	// exit status; only then does the master go.
	select {
	case st := <-result:
		if st != 0 {
			t.Errorf("status %d", st)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("session did not finish after -O stop")
	}
	if got := stdout(); got != "finished\n" {
		t.Errorf("stdout %q", got)
	}
	done, err := tm.exited(20 * time.Second)
	if !done {
		t.Fatal("master still running after its last session")
	}
	if err != nil {
		t.Errorf("Serve after stop: %v", err)
	}
}

func TestTerminateEndsSessions(t *testing.T) {
	t.Parallel()
	tm := startMaster(t, nil)
	c := dialMaster(t, tm.path)
	out, _ := outPipe(t)
	errw, _ := outPipe(t)
	opened := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		_, err := c.Session(context.Background(), NewSession{Command: "sleep 60", EscapeChar: NoEscape},
			inPipe(t, ""), out, errw, SessionEvents{Opened: func(uint32) { close(opened) }})
		result <- err
	}()
	<-opened
	start := time.Now()
	if err := dialMaster(t, tm.path).Terminate(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-result:
		if !errors.Is(err, ErrNoExitStatus) {
			t.Errorf("session after terminate: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("session still running after -O exit")
	}
	if err := <-tm.done; !errors.Is(err, ErrTerminated) {
		t.Errorf("Serve: %v", err)
	}
	tm.done <- nil
	t.Logf("terminate took %v", time.Since(start))
}

func TestStdioForwardOverSocketpair(t *testing.T) {
	t.Parallel()
	tm := startMaster(t, nil)
	echo := startEcho(t)
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	theirs := os.NewFile(uintptr(fds[1]), "theirs")
	ours, err := net.FileConn(os.NewFile(uintptr(fds[0]), "ours"))
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	c := dialMaster(t, tm.path)
	if err := c.StdioForward(context.Background(), "127.0.0.1", uint32(echo.Port), theirs, theirs); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	ours.Write([]byte("ping"))
	ours.(*net.UnixConn).CloseWrite()
	got, err := io.ReadAll(ours)
	if err != nil || string(got) != "ping" {
		t.Fatalf("echo through stdio forward: %q, %v", got, err)
	}
	if err := c.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSocketModeAndPeerUID(t *testing.T) {
	nstest.RequireRoot(t) // the client runs as nobody
	t.Parallel()
	tm := startMaster(t, nil)
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{tm.path, 0o600}} {
		fi, err := os.Stat(p.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != p.mode {
			t.Errorf("%s mode %v, want %v", p.path, fi.Mode().Perm(), p.mode)
		}
	}
	// Open the door so that only SO_PEERCRED can keep nobody out.
	os.Chmod(tm.dir, 0o755)
	os.Chmod(tm.path, 0o666)
	// The test binary sits in a 0700 build directory: copy it where
	// nobody can run it.
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := tm.dir + "/mux.test"
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestHelperCheck$")
	cmd.Env = append(os.Environ(), "JUMPGATE_MUX_HELPER_PATH="+tm.path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "REFUSED") {
		t.Fatalf("client as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(tm.log.String(), "control client uid 65534") {
		t.Errorf("master did not log the refusal:\n%s", tm.log)
	}
	if _, err := dialMaster(t, tm.path).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestHelperCheck is run as another uid by TestSocketModeAndPeerUID.
func TestHelperCheck(t *testing.T) {
	path := os.Getenv("JUMPGATE_MUX_HELPER_PATH")
	if path == "" {
		t.Skip("helper process only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, path)
	if err == nil {
		_, err = c.Check(ctx)
	}
	if err != nil {
		t.Fatalf("REFUSED: %v", err)
	}
	t.Log("ADMITTED")
}

// TestIdleTimeoutWaitsForClientsAndConnections: ControlPersist counts a
// master idle only with no control client connected and no forwarded
// connection open, as OpenSSH's channel_still_open does. A `-N -L` client
// has neither a session nor a stdio forward, and its master used to exit
// under it once the timeout passed.
func TestIdleTimeoutWaitsForClientsAndConnections(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	tm := startMaster(t, func(c *Config) { c.IdleTimeout = idle })
	echo := startEcho(t)
	stillUp := func(what string) {
		t.Helper()
		if done, err := tm.exited(4 * idle); done {
			t.Fatalf("master exited (%v) %s", err, what)
		}
	}

	c := dialMaster(t, tm.path)
	stillUp("while a client was connected")

	// A forward asked for without client-forwards@jumpgate (as -O
	// forward, or OpenSSH's client) stays with the master.
	port := sshtest.FreePort(t)
	if _, err := c.Forward(context.Background(), Forward{Kind: FwdLocal, ListenHost: "127.0.0.1", ListenPort: uint32(port),
		ConnectHost: "127.0.0.1", ConnectPort: uint32(echo.Port)}); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 4)
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through the forward: %q, %v", buf, err)
	}
	c.Close()
	stillUp("while a forwarded connection was open")

	conn.Close()
	done, err := tm.exited(20 * time.Second)
	if !done {
		t.Fatal("master still running with no client and no connection")
	}
	if err != nil {
		t.Errorf("Serve after the idle timeout: %v", err)
	}
}
