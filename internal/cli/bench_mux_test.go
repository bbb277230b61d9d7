package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/bench"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
)

func TestBenchMuxUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"bad flag", []string{"--nope"}, exitUsage, "unknown flag: --nope"},
		{"arguments", []string{"extra"}, exitUsage, "takes no arguments"},
		{"zero runs", []string{"--runs", "0"}, exitUsage, "--runs must be at least 1"},
		{"bad target", []string{"--target", "0"}, exitUsage, "--target must be above 0"},
		{"bad speedup", []string{"--reuse-speedup", "-3"}, exitUsage, "--reuse-speedup must be above 0"},
		{"bad server", []string{"--server", "telnet"}, exitUsage, `unknown server "telnet"`},
		{"missing client", []string{"--client", "/nonexistent/ssh"}, 1, "OpenSSH's client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runJumpgate(append([]string{"bench", "mux"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, nothing and %q", code, out, errOut, tt.code, tt.wantErr)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		t.Parallel()
		code, out, _ := runJumpgate("bench", "mux", "--help")
		if code != 0 || !strings.Contains(out, "--reuse-speedup") || strings.Contains(out, "jumpgate-client") {
			t.Errorf("exit %d, stdout %q; want the flags, the test-only one hidden", code, out)
		}
		code, out, _ = runJumpgate("bench", "--help")
		if code != 0 || !strings.Contains(out, "\n  mux ") || !strings.Contains(out, "\n  forward ") {
			t.Errorf("exit %d, stdout %q; want mux and forward listed", code, out)
		}
	})
}

// TestBenchMux runs `jumpgate bench mux --runs 1 --json` as a process and
// reads its rows; afterwards no master of either side may be left.
func TestBenchMux(t *testing.T) {
	bin := benchBinary(t)
	t.Parallel()
	name := labtest.UniqueName()
	cmd := exec.Command(bin, "bench", "mux", "--runs", "1", "--name", name, "--json")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	t.Cleanup(func() { runJumpgate("lab", "down", "--name", name) })
	if err != nil {
		t.Fatalf("bench mux: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	var res bench.MuxJSON
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, &out)
	}
	t.Logf("stdout:\n%s", &out)
	if res.Benchmark != "mux" || res.Runs != 1 || len(res.Rows) != 3 {
		t.Fatalf("result %+v", res)
	}
	for i, r := range res.Rows {
		if r.Ratio <= 0 || len(r.Jumpgate.Samples) != 1 || len(r.OpenSSH.Samples) != 1 ||
			r.Jumpgate.Kex != "curve25519-sha256" || r.OpenSSH.Kex != "curve25519-sha256" {
			t.Errorf("row %d %+v", i, r)
		}
		muxed := strings.Contains(strings.Join(r.OpenSSH.Argv, " "), "ControlMaster=auto")
		if muxed != (i < 2) {
			t.Errorf("row %q: OpenSSH argv %q (through a master: %v)", r.Name, r.OpenSSH.Argv, muxed)
		}
	}
	if want := []float64{1, 1, 1.0 / 3}; res.Rows[0].Target != want[0] || res.Rows[2].Target != want[2] {
		t.Errorf("targets %v %v, want %v", res.Rows[0].Target, res.Rows[2].Target, want)
	}
	// Every process the benchmark started names its scratch directory.
	m := regexp.MustCompile(`-F (/run/jgbm-[^/ ]+)/ssh_config`).FindStringSubmatch(errOut.String())
	if m == nil {
		t.Fatalf("stderr names no scratch directory:\n%s", &errOut)
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("scratch directory %s left behind (%v)", m[1], err)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cl, _ := os.ReadFile(p + "/cmdline")
		env, _ := os.ReadFile(p + "/environ")
		if bytes.Contains(cl, []byte(m[1])) || bytes.Contains(env, []byte(m[1])) {
			t.Errorf("process %s left running: %q", filepath.Base(p), bytes.ReplaceAll(cl, []byte{0}, []byte{' '}))
		}
	}
	assertLabGone(t, name)
}
