package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

func TestMedianFloat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"none", nil, 0},
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := MedianFloat(tt.in); got != tt.want {
				t.Errorf("MedianFloat(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	r := ForwardResult{A: []float64{2, 2}, B: []float64{1, 1}}
	if r.Ratio() != 2 || !strings.HasPrefix(ForwardVerdict([]ForwardResult{r}, 1), "ok") {
		t.Errorf("ratio %v, verdict %q", r.Ratio(), ForwardVerdict([]ForwardResult{r}, 1))
	}
}

// iperfLab is a lab of Debian's sshd for the forward benchmark, and a
// directory for its state; it skips without OpenSSH or iperf3.
func iperfLab(t *testing.T) (*lab.Lab, string) {
	t.Helper()
	sshtest.RequireOpenSSH(t)
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Skip("iperf3 is not installed")
	}
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	dir, err := os.MkdirTemp("/run", "jumpgate-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return l, dir
}

// TestForward runs the forward benchmark once per side and direction in
// a lab of Debian's sshd, jumpgate ssh against OpenSSH's ssh.
func TestForward(t *testing.T) {
	l, dir := iperfLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var progress bytes.Buffer
	res, err := Forward(ctx, ForwardOptions{
		Lab: l, Dir: dir, Runs: 1, Seconds: 1, Masters: true,
		A: Client{Name: "jumpgate", Argv: []string{labtest.Binary(t), "ssh"}},
		B: Client{Name: "OpenSSH", Argv: []string{"ssh"}},
	}, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if len(res) != 4 {
		t.Fatalf("%d results, want upload and download, direct and through masters", len(res))
	}
	// Every master (three per side: hyper1, hyper2, vm1) was told to
	// exit and removed its socket.
	for _, side := range []string{"A", "B"} {
		if left, _ := filepath.Glob(filepath.Join(dir, "ctl-"+side, "*")); len(left) > 0 {
			t.Errorf("side %s: masters still listening: %v\n%s", side, left, progress.String())
		}
	}
	if !strings.Contains(progress.String(), "(-L, 2 hops, masters)") {
		t.Errorf("no run through masters:\n%s", progress.String())
	}
	for _, r := range res {
		if len(r.A) != 1 || len(r.B) != 1 || r.A[0] <= 0 || r.B[0] <= 0 {
			t.Errorf("%s: samples %v %v", r.Name, r.A, r.B)
		}
	}
	var table bytes.Buffer
	WriteForwardTable(&table, "jumpgate", "OpenSSH", res)
	t.Logf("\n%s", table.String())
}

// TestForwardLongPath builds the long path, checks a TCP handshake over
// it takes the round trip, takes it down, then runs the long-path mode
// once per side and checks it measured plain TCP too and left no cable.
func TestForwardLongPath(t *testing.T) {
	l, dir := iperfLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bin := labtest.Binary(t)
	const rtt = 40 * time.Millisecond
	down, err := buildLongPath(ctx, l, rtt, []string{bin, "net", "link-emu"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err := l.DialContext(ctx, "laptop", "tcp", longPathHyper+":22")
	took := time.Since(start)
	if err == nil {
		c.Close()
	}
	if derr := down(); derr != nil {
		t.Fatalf("take the long path down: %v", derr)
	}
	if err != nil || took < rtt {
		t.Fatalf("connect over the long path: %v in %v, want at least %v", err, took, rtt)
	}

	var progress bytes.Buffer
	res, err := Forward(ctx, ForwardOptions{
		Lab: l, Dir: dir, Runs: 1, Seconds: 1, RTT: rtt, Emulator: []string{bin, "net", "link-emu"},
		A: Client{Name: "jumpgate", Argv: []string{bin, "ssh"}},
		B: Client{Name: "OpenSSH", Argv: []string{"ssh"}},
	}, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if len(res) != 1 || len(res[0].TCP) != 1 || res[0].TCP[0] <= 0 || len(res[0].A) != 1 || len(res[0].B) != 1 {
		t.Fatalf("results %+v, want one download with jumpgate, OpenSSH and plain TCP\n%s", res, progress.String())
	}
	if out, _ := l.Command(ctx, "laptop", "ip", "-o", "link").Output(); strings.Contains(string(out), "long0") {
		t.Errorf("the long path is still there:\n%s", out)
	}
	var table bytes.Buffer
	WriteForwardTable(&table, "jumpgate", "OpenSSH", res)
	t.Logf("\n%s", table.String())
}
