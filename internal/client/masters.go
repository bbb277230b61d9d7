package client

import (
	"context"
	"os"
	"path/filepath"
	"sort"

	"github.com/jumpgate/jumpgate/internal/mux"
)

// Master is one live master as `jumpgate ctl list` shows it (--json:
// its fields only ever grow).
type Master struct {
	Path string    `json:"path"`
	PID  int       `json:"pid"`
	Info *mux.Info `json:"info,omitempty"` // nil for an OpenSSH master
}

// FindMasters asks every socket in dir, each within MuxAnswerBound; dead
// or silent ones are left out.
func FindMasters(ctx context.Context, dir string) []Master {
	entries, _ := os.ReadDir(dir)
	out := []Master{}
	for _, de := range entries {
		if de.Type()&os.ModeSocket == 0 {
			continue
		}
		p := filepath.Join(dir, de.Name())
		cctx, cancel := context.WithTimeout(ctx, MuxAnswerBound)
		c, err := mux.Dial(cctx, p)
		if err != nil {
			cancel()
			continue
		}
		pid, err := c.Check(cctx)
		if err == nil {
			m := Master{Path: p, PID: pid}
			if in, err := c.Info(cctx); err == nil {
				m.Info = in
			}
			out = append(out, m)
		}
		c.Close()
		cancel()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
