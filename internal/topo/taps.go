package topo

import (
	"slices"
	"strings"
)

// tapHold is one process holding one tun/tap device.
type tapHold struct {
	pid     int
	comm    string
	dev     string
	nsInode uint64
}

// parseIFF returns the device an fdinfo names on its "iff:" line.
func parseIFF(fdinfo string) string {
	for line := range strings.Lines(fdinfo) {
		if v, ok := strings.CutPrefix(line, "iff:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// attachHolds adds each holder to the tap of that name, in the holder's
// own namespace when it has one there, else in the one namespace that
// has a tun/tap of that name.
func (t *Topology) attachHolds(holds []tapHold) {
	for _, h := range holds {
		var cands []*Link
		var same *Link
		for i := range t.Namespaces {
			ns := &t.Namespaces[i]
			l := ns.Link(h.dev)
			if l == nil || l.Tap == nil {
				continue
			}
			cands = append(cands, l)
			if h.nsInode != 0 && ns.Inode == h.nsInode {
				same = l
			}
		}
		target := same
		if target == nil && len(cands) == 1 {
			target = cands[0]
		}
		if target == nil {
			continue
		}
		p := Process{PID: h.pid, Comm: h.comm}
		if !slices.Contains(target.Tap.Holders, p) {
			target.Tap.Holders = append(target.Tap.Holders, p)
			slices.SortFunc(target.Tap.Holders, func(a, b Process) int { return a.PID - b.PID })
		}
	}
}
