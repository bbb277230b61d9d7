// Package labtest builds jumpgate labs ([lab.Up]) for tests: gated by
// [nstest], uniquely named, torn down in t.Cleanup, with the servers' logs
// in the test output when the test fails.
package labtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

// New builds a lab for t and removes it when t ends. An empty opts.Name
// becomes a unique one ("t" and random letters), so that tests and test
// packages run side by side; for a Jumpgate lab an empty opts.Binary is
// [Binary]. Progress goes to t.Log unless opts.Log is set.
func New(t testing.TB, opts lab.Options) *lab.Lab {
	t.Helper()
	nstest.RequireRoot(t)
	if opts.Name == "" {
		opts.Name = UniqueName()
	}
	if (opts.Server == lab.Jumpgate || opts.Libvirt) && opts.Binary == "" {
		opts.Binary = Binary(t)
	}
	if opts.Log == nil {
		opts.Log = logWriter{t}
	}
	timeout := time.Minute
	if opts.Libvirt {
		timeout = 5 * time.Minute // a guest boots, under TCG where KVM does not run one
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	l, err := lab.Up(ctx, opts)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			DumpLogs(t, l)
		}
		if err := l.Down(context.Background()); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return l
}

// UniqueName returns a lab name unlikely to be used by anyone else.
func UniqueName() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "t" + string(b)
}

// DumpLogs writes every server's log to the test output.
func DumpLogs(t testing.TB, l *lab.Lab) {
	t.Helper()
	for _, h := range l.Hosts() {
		b, err := os.ReadFile(l.LogFile(h))
		if err != nil {
			continue
		}
		t.Logf("server log of %s (%s):\n%s", h, l.LogFile(h), b)
	}
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// built caches the jumpgate binary for the test process: building it once
// is what lets every lab test use a real `jumpgate serve`.
var built struct {
	once sync.Once
	path string
	err  error
}

// Binary builds ./cmd/jumpgate of the module the test runs in, once per
// test process, and returns its path. The directory it lives in is named
// for the test process, and directories of processes that are gone are
// removed first.
func Binary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() { built.path, built.err = build() })
	if built.err != nil {
		t.Fatalf("build jumpgate: %v", built.err)
	}
	return built.path
}

const binDirPrefix = "jumpgate-labtest-bin-"

func build() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	removeStaleBinDirs()
	dir := filepath.Join(os.TempDir(), binDirPrefix+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "jumpgate")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go"
	}
	cmd := exec.Command(gobin, "build", "-o", out, "./cmd/jumpgate")
	cmd.Dir = root
	// As the Makefile builds it: static, see there.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/jumpgate in %s: %w\n%s", root, err, b)
	}
	return out, nil
}

// moduleRoot finds the directory holding go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// removeStaleBinDirs removes binary directories of test processes that
// have ended.
func removeStaleBinDirs() {
	ents, _ := os.ReadDir(os.TempDir())
	for _, e := range ents {
		pid, ok := strings.CutPrefix(e.Name(), binDirPrefix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(pid)
		if err != nil {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(n)); errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(filepath.Join(os.TempDir(), e.Name()))
		}
	}
}
