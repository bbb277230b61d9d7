package fleet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
// this 2-core machine (docs/scale.md). It reports the process's peak RSS.
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
		}
		b.ReportMetric(float64(len(hosts)), "hosts")
		b.ReportMetric(float64(rss), "peak-RSS-KiB")
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
