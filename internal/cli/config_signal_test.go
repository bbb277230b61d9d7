package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/iostreams"
)

const configSignalEnv = "JUMPGATE_TEST_CONFIG_SIGNAL"

// TestConfigSignalHelper is jumpgate's main in a child process for
// TestConfigReadEndsOnSignal.
func TestConfigSignalHelper(t *testing.T) {
	args := os.Getenv(configSignalEnv)
	if args == "" {
		t.Skip("helper process only")
	}
	ctx, stop := SignalContext(context.Background())
	code := Main(ctx, append([]string{"ssh"}, strings.Fields(args)...), iostreams.System())
	stop()
	os.Exit(code)
}

// TestConfigReadEndsOnSignal checks that SIGTERM ends a read of a
// configuration that never ends (a FIFO without a writer, as ssh(1) dies
// at once), and that /dev/zero fails on the size limit.
func TestConfigReadEndsOnSignal(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "F")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	run := func(t *testing.T, args string, signal bool) (int, string, time.Duration) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestConfigSignalHelper$")
		cmd.Env = append(os.Environ(), configSignalEnv+"="+args)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		t.Cleanup(func() { cmd.Process.Kill(); <-done })
		if signal {
			time.Sleep(300 * time.Millisecond)
			cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("jumpgate ssh %s still runs 5 s later", args)
		}
		code := cmd.ProcessState.ExitCode()
		// Killed before its handler was installed (a loaded machine) is
		// what a shell also reports as 143.
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			code = 128 + int(syscall.SIGTERM)
		}
		return code, stderr.String(), time.Since(start)
	}
	t.Run("fifo", func(t *testing.T) {
		t.Parallel()
		code, stderr, _ := run(t, "-G -F "+fifo+" x", true)
		if code != 128+int(syscall.SIGTERM) || stderr != "" {
			t.Errorf("exit %d, stderr %q; want 143 and nothing said, as ssh(1) killed by SIGTERM", code, stderr)
		}
	})
	t.Run("dev-zero", func(t *testing.T) {
		t.Parallel()
		code, stderr, took := run(t, "-G -F /dev/zero x", false)
		if code != 255 || !strings.Contains(stderr, "/dev/zero: larger than 4 MiB") || took > 3*time.Second {
			t.Errorf("exit %d after %v, stderr %q; want 255 and the size limit", code, took, stderr)
		}
	})
}
