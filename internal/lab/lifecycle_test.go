package lab_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

// hostname runs hostname on host.
func hostname(t *testing.T, l *lab.Lab, host string) string {
	t.Helper()
	out, err := l.Command(context.Background(), host, "hostname").Output()
	if err != nil {
		t.Fatalf("hostname on %s of lab %s: %v", host, l.Name(), err)
	}
	return strings.TrimSpace(string(out))
}

func netnsExists(name string) bool {
	_, err := os.Stat(filepath.Join("/run/netns", name))
	return err == nil
}

func TestTwoLabsSideBySide(t *testing.T) {
	a := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	b := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	t.Parallel()
	if a.Name() == b.Name() || a.Dir() == b.Dir() || a.Netns("vm1") == b.Netns("vm1") {
		t.Fatalf("labs share names: %s %s", a.Dir(), b.Dir())
	}
	for _, l := range []*lab.Lab{a, b} {
		if got := hostname(t, l, "vm1"); got != "vm1" {
			t.Errorf("lab %s: vm1 says it is %q", l.Name(), got)
		}
	}
	pidA := a.ServerPID("vm1")
	if err := a.Down(context.Background()); err != nil {
		t.Fatalf("down %s: %v", a.Name(), err)
	}
	if alive(pidA) || netnsExists(a.Netns("vm1")) {
		t.Errorf("lab %s not gone", a.Name())
	}
	if !b.ServerAlive("vm1") || !netnsExists(b.Netns("vm1")) {
		t.Errorf("taking down lab %s touched lab %s", a.Name(), b.Name())
	}
	if got := hostname(t, b, "vm2"); got != "vm2" {
		t.Errorf("lab %s: vm2 says it is %q after the other lab went down", b.Name(), got)
	}
}

// TestLeftoverClearedByNextUp simulates a crash: the servers are killed
// with SIGKILL and the lab forgotten; the next Up with the same name clears
// what is left and builds a working lab.
func TestLeftoverClearedByNextUp(t *testing.T) {
	nstest.RequireRoot(t)
	t.Parallel()
	name := labtest.UniqueName()
	old, err := lab.Up(context.Background(), lab.Options{Name: name, Server: lab.OpenSSH})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	var pids []int
	for _, h := range old.Hosts() {
		if pid := old.ServerPID(h); pid != 0 {
			pids = append(pids, pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	// A stray process in a lab namespace, as a user's shell would be.
	stray := old.Command(context.Background(), "laptop", "/bin/sh", "-c", "echo ready; exec sleep 60")
	ready, err := stray.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	// Once it speaks, it is inside the namespace (nsenter has run).
	if _, err := ready.Read(make([]byte, 6)); err != nil {
		t.Fatalf("stray process: %v", err)
	}
	strayDone := make(chan error, 1)
	go func() { strayDone <- stray.Wait() }()

	l := labtest.New(t, lab.Options{Name: name, Server: lab.OpenSSH})
	select {
	case <-strayDone: // ended by the new Up, reaped here
	case <-time.After(5 * time.Second):
		t.Errorf("process left in the old lab's laptop still runs")
		stray.Process.Kill()
	}
	for _, h := range l.Hosts() {
		if h != "laptop" && !l.ServerAlive(h) {
			t.Errorf("new lab: server on %s not alive", h)
		}
	}
	if got := hostname(t, l, "vm2"); got != "vm2" {
		t.Errorf("new lab: vm2 says %q", got)
	}
	for _, pid := range pids {
		if l.ServerPID("vm1") == pid {
			continue // the PID may be reused; it is alive as a new server
		}
		if alive(pid) {
			// Only an error if it is still a process of the old lab.
			if b, _ := os.ReadFile(filepath.Join("/proc", itoa(pid), "cmdline")); strings.Contains(string(b), name) {
				t.Errorf("old server %d still alive", pid)
			}
		}
	}
}

// panicRecord is what the panicking helper leaves for its parent.
type panicRecord struct {
	Name string   `json:"name"`
	Dir  string   `json:"dir"`
	PIDs []int    `json:"pids"`
	NS   []string `json:"ns"`
}

const panicEnv = "JUMPGATE_LAB_TEST_PANIC_RECORD"

// TestPanicHelper is run by TestPanicLeavesNothing in a child process:
// it builds a lab, writes down what it made, and panics.
func TestPanicHelper(t *testing.T) {
	path := os.Getenv(panicEnv)
	if path == "" {
		t.Skip("helper process of TestPanicLeavesNothing")
	}
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	rec := panicRecord{Name: l.Name(), Dir: l.Dir()}
	for _, h := range l.Hosts() {
		rec.NS = append(rec.NS, l.Netns(h))
		if pid := l.ServerPID(h); pid != 0 {
			rec.PIDs = append(rec.PIDs, pid)
		}
	}
	b, _ := json.Marshal(rec)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	panic("deliberate panic with a lab up")
}

func TestPanicLeavesNothing(t *testing.T) {
	nstest.RequireRoot(t)
	t.Parallel()
	recPath := filepath.Join(t.TempDir(), "record.json")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestPanicHelper$", "-test.count", "1")
	cmd.Env = append(os.Environ(), panicEnv+"="+recPath)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "deliberate panic") {
		t.Fatalf("helper did not panic: %v\n%s", err, out)
	}
	b, err := os.ReadFile(recPath)
	if err != nil {
		t.Fatalf("helper left no record: %v\n%s", err, out)
	}
	var rec panicRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.NS) != 6 || len(rec.PIDs) != 5 {
		t.Fatalf("record %+v: want 6 namespaces and 5 servers", rec)
	}
	for _, ns := range rec.NS {
		if netnsExists(ns) {
			t.Errorf("namespace %s left behind", ns)
		}
	}
	for _, pid := range rec.PIDs {
		if alive(pid) {
			t.Errorf("server %d left behind", pid)
		}
	}
	if _, err := os.Stat(rec.Dir); !os.IsNotExist(err) {
		t.Errorf("state dir %s left behind: %v", rec.Dir, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
