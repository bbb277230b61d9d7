package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// exitStatus describes err as Run's caller sees it: "ok", "status N",
// "signal NAME", or the error text.
func exitStatus(err error) string {
	var ee *sshwire.ExitError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &ee) && ee.Signal() != "":
		return "signal " + ee.Signal()
	case errors.As(err, &ee):
		return fmt.Sprintf("status %d", ee.ExitStatus())
	}
	return err.Error()
}

func TestRunExec(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("0123456789abcdef"), 65536) // 1 MiB
	seqOut := func(n int) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "%d\n", i)
		}
		return b.String()
	}
	tests := []struct {
		name   string
		o      Options
		status string
		stdout string
		stderr string
		// login: a login shell runs the account's profile, whose stderr is
		// the machine's (root's here runs pyenv, which races other shells
		// over its shims): the empty-stderr check does not apply.
		login bool
	}{
		{name: "status 0", o: Options{Command: "true"}, status: "ok"},
		{name: "status 3 after output", o: Options{Command: "echo out; echo err >&2; exit 3"},
			status: "status 3", stdout: "out\n", stderr: "err\n"},
		{name: "status 255", o: Options{Command: "exit 255"}, status: "status 255"},
		{name: "signal", o: Options{Command: "echo before; kill -TERM $$"}, status: "signal TERM", stdout: "before\n"},
		{name: "large output then exit 3", o: Options{Command: "seq 1 300000; exit 3"},
			status: "status 3", stdout: seqOut(300000)},
		{name: "large stderr", o: Options{Command: "seq 1 100000 >&2"}, status: "ok", stderr: seqOut(100000)},
		{name: "stdin round trip", o: Options{Command: "cat", Stdin: bytes.NewReader(big)},
			status: "ok", stdout: string(big)},
		{name: "stdin EOF reaches wc", o: Options{Command: "wc -c", Stdin: bytes.NewReader(big)},
			status: "ok", stdout: fmt.Sprintf("%d\n", len(big))},
		{name: "nil stdin is /dev/null", o: Options{Command: "cat; echo eof"}, status: "ok", stdout: "eof\n"},
		{name: "env", o: Options{Command: `printf '%s|%s' "$JG_ONE" "$JG_TWO"`,
			Env: []string{"JG_ONE=hello world", "JG_TWO=a=b"}}, status: "ok", stdout: "hello world|a=b"},
		{name: "refused env is not an error", o: Options{Command: `printf '%s' "${NOT_ACCEPTED-unset}"`,
			Env: []string{"NOT_ACCEPTED=1"}}, status: "ok", stdout: "unset"},
		{name: "subsystem", o: Options{Command: "jgtest", Subsystem: true, Stdin: strings.NewReader("ping\n")},
			status: "ok", stdout: "subsystem-ok\nping\n"},
		{name: "unknown subsystem", o: Options{Command: "nosuch", Subsystem: true},
			status: "subsystem request failed on channel 0"},
		{name: "shell reads stdin", o: Options{Stdin: strings.NewReader("echo shell-$((6*7))\nexit 4\n")},
			status: "status 4", stdout: "shell-42\n", login: true},
	}
	for _, p := range peers(t, "") {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			c := p.dial(t) // sessions share a connection, as ssh -S would
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					o := tt.o
					if r, ok := o.Stdin.(*bytes.Reader); ok {
						o.Stdin = bytes.NewReader(big[:r.Size()]) // each peer its own reader
					}
					if r, ok := o.Stdin.(*strings.Reader); ok {
						b, _ := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
						o.Stdin = strings.NewReader(string(b))
					}
					got := run(t, c, o)
					if s := exitStatus(got.err); s != tt.status {
						t.Errorf("status = %q, want %q (stderr %q)", s, tt.status, got.stderr)
					}
					if got.stdout != tt.stdout {
						t.Errorf("stdout (%d bytes) = %.200q…, want (%d bytes) %.200q…", len(got.stdout), got.stdout, len(tt.stdout), tt.stdout)
					}
					// OpenSSH's bash may add nothing to stderr; compare when asked.
					if tt.stderr != "" && got.stderr != tt.stderr {
						t.Errorf("stderr (%d bytes) = %.200q…, want %.200q…", len(got.stderr), got.stderr, tt.stderr)
					}
					if tt.stderr == "" && !tt.login && got.stderr != "" {
						t.Errorf("unexpected stderr %q", got.stderr)
					}
				})
			}
		})
	}
}

// TestRunNilStdinNotRead checks -n: the remote side sees EOF at once, so
// cat ends without any local input.
func TestRunNilStdinNotRead(t *testing.T) {
	t.Parallel()
	p := startJumpgate(t, "")
	start := time.Now()
	got := run(t, p.dial(t), Options{Command: "cat"})
	if got.err != nil || got.stdout != "" {
		t.Fatalf("cat with nil stdin: %v, stdout %q", got.err, got.stdout)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cat with nil stdin took %v", d)
	}
}

// blockingReader never returns until closed: a terminal nobody types on.
type blockingReader struct{ done chan struct{} }

func (b *blockingReader) Read([]byte) (int, error) {
	<-b.done
	return 0, io.EOF
}

// TestRunStdinOpenAfterExit checks that a session ends when the remote
// command does, even though local stdin is still open.
func TestRunStdinOpenAfterExit(t *testing.T) {
	t.Parallel()
	p := startJumpgate(t, "")
	br := &blockingReader{done: make(chan struct{})}
	defer close(br.done)
	got := run(t, p.dial(t), Options{Command: "echo bye; exit 7", Stdin: br})
	if exitStatus(got.err) != "status 7" || got.stdout != "bye\n" {
		t.Fatalf("got %v, stdout %q", got.err, got.stdout)
	}
}

func TestRunContextCancel(t *testing.T) {
	t.Parallel()
	for _, p := range peers(t, "") {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			c := p.dial(t)
			ctx, cancel := context.WithCancel(context.Background())
			var out sshtest.Buffer
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, c, Options{Command: "echo started; sleep 30", Stdout: &out, EscapeChar: -1})
			}()
			out.WaitFor(t, "started")
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Run after cancel = %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			// The connection is still usable: only the session ended.
			if got := run(t, c, Options{Command: "echo again"}); got.err != nil || got.stdout != "again\n" {
				t.Errorf("next session: %v %q", got.err, got.stdout)
			}
		})
	}
}

func TestRunConnectionLost(t *testing.T) {
	t.Parallel()
	p := startJumpgate(t, "")
	c := p.dial(t)
	var out sshtest.Buffer
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), c, Options{Command: "echo started; sleep 30", Stdout: &out, EscapeChar: -1, Host: "lost.example"})
	}()
	out.WaitFor(t, "started")
	p.cut(c)
	select {
	case err := <-done:
		if err == nil || err.Error() != "Connection to lost.example closed by remote host." {
			t.Errorf("Run after cut = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the connection was cut")
	}
}

func TestRunSetup(t *testing.T) {
	t.Parallel()
	p := startJumpgate(t, "")
	c := p.dial(t)
	called := false
	got := run(t, c, Options{Command: "true", Setup: func(s *sshwire.Session) error { called = true; return nil }})
	if got.err != nil || !called {
		t.Fatalf("Setup called %v, err %v", called, got.err)
	}
	boom := errors.New("boom")
	got = run(t, c, Options{Command: "true", Setup: func(*sshwire.Session) error { return boom }})
	if !errors.Is(got.err, boom) {
		t.Fatalf("Setup error: got %v", got.err)
	}
}

func TestRunLogsEnv(t *testing.T) {
	t.Parallel()
	p := startJumpgate(t, "")
	var logb sshtest.Buffer
	got := run(t, p.dial(t), Options{Command: "true", Env: []string{"JG_X=1"}, Log: vlog.New(&logb, vlog.Debug1)})
	if got.err != nil {
		t.Fatal(got.err)
	}
	if !strings.Contains(logb.String(), "debug1: Sending env JG_X = 1\r\n") {
		t.Errorf("log = %q", logb.String())
	}
}

// failWriter fails every write after the first n bytes, like a closed
// pipe (`jumpgate ssh host yes | head -c n`).
type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("broken pipe")
	}
	f.n -= len(p)
	return len(p), nil
}

// TestRunStdoutClosed checks that a local stdout that fails ends the
// session rather than letting an endless command run on.
func TestRunStdoutClosed(t *testing.T) {
	t.Parallel()
	for _, p := range peers(t, "") {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := Run(ctx, p.dial(t), Options{Command: "yes", Stdout: &failWriter{n: 100000}, EscapeChar: -1})
			if err == nil || ctx.Err() != nil {
				t.Fatalf("Run = %v (ctx %v), want an error before the deadline", err, ctx.Err())
			}
			t.Logf("Run = %v", err)
		})
	}
}
