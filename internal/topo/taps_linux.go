package topo

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// attachTapHolders finds the processes holding tun/tap devices open: a
// /proc/PID/fd entry that links to /dev/net/tun, whose fdinfo names the
// device ("iff:\ttap0", Linux 3.14+). Only those fds' fdinfo is read, so
// the cost is one readlink per open fd on the host.
func attachTapHolders(t *Topology, procDir string) error {
	procs, err := os.ReadDir(procDir)
	if err != nil {
		return err
	}
	var holds []tapHold
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fdDir := filepath.Join(procDir, e.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || target != "/dev/net/tun" {
				continue
			}
			info, err := os.ReadFile(filepath.Join(procDir, e.Name(), "fdinfo", fd.Name()))
			if err != nil {
				continue
			}
			dev := parseIFF(string(info))
			if dev == "" {
				continue // opened but not attached yet
			}
			h := tapHold{pid: pid, dev: dev}
			if b, err := os.ReadFile(filepath.Join(procDir, e.Name(), "comm")); err == nil {
				h.comm = strings.TrimSpace(string(b))
			}
			if s, err := os.Readlink(filepath.Join(procDir, e.Name(), "ns/net")); err == nil {
				h.nsInode, _ = parseNSLink(s)
			}
			holds = append(holds, h)
		}
	}
	t.attachHolds(holds)
	return nil
}
