package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/bench"
	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/nstest"
)

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"no benchmark", []string{"bench"}, exitUsage, "Usage: jumpgate bench BENCHMARK"},
		{"unknown benchmark", []string{"bench", "throughput"}, exitUsage, `unknown benchmark "throughput"`},
		{"bad flag", []string{"bench", "connect", "--nope"}, exitUsage, "unknown flag: --nope"},
		{"no runs", []string{"bench", "connect", "--runs", "0"}, exitUsage, "--runs must be at least 1"},
		{"runs not a number", []string{"bench", "connect", "--runs", "many"}, exitUsage, `invalid argument "many"`},
		{"bad server", []string{"bench", "connect", "--server", "telnet"}, exitUsage, `unknown server "telnet"`},
		{"bad target", []string{"bench", "connect", "--target", "0"}, exitUsage, "--target must be above 0"},
		{"arguments", []string{"bench", "connect", "vm1"}, exitUsage, "takes no arguments"},
		{"no OpenSSH client", []string{"bench", "connect", "--client", "/nonexistent/ssh"}, 1, "hint: install it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runJumpgate(tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, nothing and %q", code, out, errOut, tt.code, tt.wantErr)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		t.Parallel()
		code, out, _ := runJumpgate("bench", "connect", "--help")
		if code != 0 || !strings.Contains(out, "--runs") || !strings.Contains(out, "--keep") || strings.Contains(out, "jumpgate-client") {
			t.Errorf("exit %d, stdout %q; want the flags, the test-only one hidden", code, out)
		}
		code, out, _ = runJumpgate("bench", "--help")
		if code != 0 || !strings.Contains(out, "connect") {
			t.Errorf("exit %d, stdout %q; want the benchmarks", code, out)
		}
	})
}

// benchBinary returns a fresh jumpgate binary for the end-to-end tests,
// which run it as a process: its own path is the jumpgate side.
func benchBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("OpenSSH interop: skipped under -short")
	}
	if _, err := os.Stat("/usr/bin/ssh"); err != nil {
		t.Skip("OpenSSH's ssh is not installed")
	}
	nstest.RequireRoot(t)
	return labtest.Binary(t)
}

// tableRow matches a row of the table: name, runs, medians, ratio, note.
var tableRow = regexp.MustCompile(`^(\S+ \([^)]+\))\s+(\d+)\s+(\S+)\s+(\S+)\s+(\d+\.\d\d)\s+(kex .*)$`)

// TestBenchConnect runs `jumpgate bench connect` as a user would, as a
// process, and reads its table; the lab must be gone afterwards.
func TestBenchConnect(t *testing.T) {
	bin := benchBinary(t)
	t.Parallel()
	name := labtest.UniqueName()
	cmd := exec.Command(bin, "bench", "connect", "--runs", "2", "--name", name)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	t.Cleanup(func() { runJumpgate("lab", "down", "--name", name) })
	if err != nil {
		t.Fatalf("bench connect: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	stdout := out.String()
	t.Logf("stdout:\n%s", stdout)
	var rows []string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		line := sc.Text()
		if m := tableRow.FindStringSubmatch(line); m != nil {
			rows = append(rows, m[1])
			if m[2] != "2" {
				t.Errorf("%s: %s runs, want 2", m[1], m[2])
			}
			for _, d := range m[3:5] {
				if v, err := time.ParseDuration(d); err != nil || v <= 0 {
					t.Errorf("%s: median %q", m[1], d)
				}
			}
			if r, err := strconv.ParseFloat(m[5], 64); err != nil || r <= 0 || r > 20 {
				t.Errorf("%s: ratio %q", m[1], m[5])
			}
			if m[6] != "kex curve25519-sha256 (both)" {
				t.Errorf("%s: note %q, want the forced kex on both sides", m[1], m[6])
			}
		}
	}
	if want := []string{"hyper1 (direct)", "hyper2 (1 hop)", "vm1 (2 hops)"}; strings.Join(rows, ",") != strings.Join(want, ",") {
		t.Errorf("rows %q, want %q", rows, want)
	}
	if !strings.Contains(stdout, "\nverdict: ") || !strings.Contains(stdout, "same key exchange on both sides\n") {
		t.Errorf("no verdict on stdout, or not the same kex")
	}
	for _, w := range []string{"bench: lab " + name + " up (openssh servers)", "vm1 (2 hops) done (2 runs each)"} {
		if !strings.Contains(errOut.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, &errOut)
		}
	}
	assertLabGone(t, name)
}

// TestBenchConnectJSONKeep runs against jumpgate's own servers, prints JSON
// and keeps the lab for `jumpgate lab down`.
func TestBenchConnectJSONKeep(t *testing.T) {
	bin := benchBinary(t)
	t.Parallel()
	name := labtest.UniqueName()
	cmd := exec.Command(bin, "bench", "connect", "--runs", "1", "--name", name,
		"--server", "jumpgate", "--json", "--keep")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	t.Cleanup(func() { runJumpgate("lab", "down", "--name", name) })
	if err != nil {
		t.Fatalf("bench connect: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	var res bench.ConnectJSON
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, &out)
	}
	if res.Server != "jumpgate" || res.Runs != 1 || len(res.Rows) != 3 || res.Rows[2].Host != "vm1" || res.Rows[2].Hops != 2 {
		t.Errorf("result %+v", res)
	}
	for _, r := range res.Rows {
		if r.Ratio <= 0 || len(r.Jumpgate.Samples) != 1 || r.OpenSSH.MedianMS <= 0 ||
			r.OpenSSH.Kex != "curve25519-sha256" || r.Jumpgate.Kex != "curve25519-sha256" ||
			len(r.OpenSSH.Argv) == 0 || r.OpenSSH.Argv[len(r.OpenSSH.Argv)-2] != r.Host {
			t.Errorf("row %+v", r)
		}
	}
	if !strings.Contains(errOut.String(), "kept; remove it with: jumpgate lab down --name "+name) {
		t.Errorf("stderr lacks the kept lab:\n%s", &errOut)
	}
	if _, err := os.Stat(filepath.Join("/run/netns", name+"-laptop")); err != nil {
		t.Errorf("--keep: laptop namespace gone: %v", err)
	}
	if code, _, errOut := runJumpgate("lab", "down", "--name", name); code != 0 {
		t.Fatalf("lab down: %s", errOut)
	}
	assertLabGone(t, name)
}

// TestBenchConnectInterrupted sends Ctrl-C while the benchmark runs: it
// must say so, exit 130 and leave no lab behind.
func TestBenchConnectInterrupted(t *testing.T) {
	bin := benchBinary(t)
	t.Parallel()
	name := labtest.UniqueName()
	cmd := exec.Command(bin, "bench", "connect", "--runs", "50", "--name", name)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { runJumpgate("lab", "down", "--name", name) })
	var seen strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "kex") { // the lab is up and clients run
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(seen.String(), "bench interrupted; its lab was removed") {
		t.Errorf("exit %d (%v); want 130 and a message; stderr:\n%s", code, err, &seen)
	}
	assertLabGone(t, name)
}

// assertLabGone checks that nothing of lab name is left: namespaces, state.
func assertLabGone(t *testing.T, name string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(lab.BaseDir, name)); !os.IsNotExist(err) {
		t.Errorf("lab %s: state directory left behind (%v)", name, err)
	}
	left, _ := filepath.Glob(filepath.Join("/run/netns", name+"-*"))
	if len(left) > 0 {
		t.Errorf("lab %s: namespaces left behind: %q", name, left)
	}
}
