package vpn

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/procstat"
)

// TestVPNStatusStale checks that status ignores and removes the files of
// tunnels whose process is gone or whose PID was reused.
func TestVPNStatusStale(t *testing.T) {
	t.Parallel()
	rt := t.TempDir()
	dir := filepath.Join(rt, "jumpgate", "vpn")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	self, err := procstat.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, r Record) {
		b, _ := json.Marshal(r)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(pidFile(gone.Process.Pid), Record{PID: gone.Process.Pid, Target: "gone"})
	write(pidFile(os.Getpid()), Record{PID: os.Getpid(), StartTicks: self, Target: "live", Since: time.Now()})
	write(pidFile(1), Record{PID: 1, StartTicks: 12345678, Target: "reused"})
	write("junk.json", Record{PID: 7})

	recs, err := LiveTunnels(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Target != "live" {
		t.Errorf("live tunnels: %+v, want only the live one", recs)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != pidFile(os.Getpid()) {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("files left: %v, want only the live one's", names)
	}
}

func pidFile(pid int) string { return strconv.Itoa(pid) + ".json" }
