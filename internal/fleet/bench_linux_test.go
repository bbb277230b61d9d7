package fleet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab/labtest"
	"github.com/jumpgate/jumpgate/internal/topo"
)

// BenchmarkTopoFleet times `jumpgate topo` over 10, 25 and 50 hosts of a
// 50-host lab (a third direct, a third behind one jump host, a third
// behind two), from process start to the joined graph written, and over
// 50 with other --parallel bounds. The target is 50 hosts under 2 s on
// this 2-core machine (docs/scale.md). It reports the process's peak RSS
// and the CPU per host on each side: jumpgate's, and the far side's (the
// servers, their children and the scripts they ran, jump hosts included).
func BenchmarkTopoFleet(b *testing.B) {
	if testing.Short() {
		b.Skip("OpenSSH lab benchmark: skipped under -short")
	}
	const n = 50
	l := newFleetLab(b, n)
	bin := labtest.Binary(b)
	var all []string
	for _, h := range l.hosts {
		all = append(all, h.name)
	}
	run := func(b *testing.B, hosts []string, parallel int) {
		list := filepath.Join(l.dir, fmt.Sprintf("hosts-%d", len(hosts)))
		if err := os.WriteFile(list, []byte(strings.Join(hosts, "\n")+"\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		var rss int64
		var local time.Duration
		far := l.serverCPU(b)
		for b.Loop() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			cmd := exec.CommandContext(ctx, "nsenter", "--net="+nsPath(l.laptop), "--", bin, "topo", "-F", l.configPath(),
				"--hosts-file", list, "--parallel", fmt.Sprint(parallel), "--format", "json")
			cmd.Env = append(os.Environ(), "HOME="+l.dir, "XDG_RUNTIME_DIR="+l.dir)
			out, err := cmd.Output()
			cancel()
			if err != nil {
				b.Fatalf("topo over %d hosts: %v", len(hosts), err)
			}
			f, err := topo.ReadFleetJSON(strings.NewReader(string(out)))
			if err != nil || len(f.Hosts) != len(hosts) || f.Unreachable() != 0 {
				b.Fatalf("topo over %d hosts: %v", len(hosts), err)
			}
			rss = max(rss, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
			local += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		b.StopTimer()
		time.Sleep(200 * time.Millisecond) // the servers reap their last connections
		far = l.serverCPU(b) - far
		per := float64(b.N * len(hosts))
		b.ReportMetric(float64(len(hosts)), "hosts")
		b.ReportMetric(float64(rss), "peak-RSS-KiB")
		b.ReportMetric(float64(local.Milliseconds())/per, "jumpgate-CPU-ms/host")
		b.ReportMetric(float64(far.Milliseconds())/per, "far-CPU-ms/host")
	}
	// Every k-th host, so that each size mixes direct and jumped hosts.
	spread := func(m int) []string {
		var hs []string
		for i := range m {
			hs = append(hs, all[i*len(all)/m])
		}
		return hs
	}
	for _, m := range []int{10, 25, 50} {
		b.Run(fmt.Sprintf("hosts=%d", m), func(b *testing.B) { run(b, spread(m), DefaultParallel) })
	}
	for _, p := range []int{4, 8, 16, 64} {
		b.Run(fmt.Sprintf("hosts=50/parallel=%d", p), func(b *testing.B) { run(b, all, p) })
	}
}

// serverCPU is the CPU the lab's servers have used, their reaped children
// (every connection, its shell and the processes it ran) included.
func (l *fleetLab) serverCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ticks int64
	for _, h := range l.hosts {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", h.sshd.Process.Pid))
		if err != nil {
			tb.Fatal(err)
		}
		// After the command's name: state is field 3, utime 14 … cstime 17.
		_, rest, _ := strings.Cut(string(b), ") ")
		f := strings.Fields(rest)
		for _, v := range f[11:15] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatalf("sshd of %s: stat: %v", h.name, err)
			}
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
