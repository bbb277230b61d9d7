package client

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

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

// WriteMasters is `jumpgate ctl list`'s table.
func WriteMasters(w io.Writer, masters []Master) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tPID\tAGE\tSESSIONS\tFORWARDS\tIN\tOUT")
	for _, m := range masters {
		if m.Info == nil {
			fmt.Fprintf(tw, "(OpenSSH %s)\t%d\t-\t-\t-\t-\t-\n", filepath.Base(m.Path), m.PID)
			continue
		}
		in := m.Info
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t%s\n", in.Host, in.PID, time.Since(in.Started).Round(time.Second),
			len(in.Channels), len(in.Forwards), byteCount(in.BytesIn), byteCount(in.BytesOut))
	}
	return tw.Flush()
}

// WriteStats is `jumpgate ctl stats`: a master and its channels with their
// rates.
func WriteStats(w io.Writer, in *mux.Info) error {
	fmt.Fprintf(w, "%s: pid %d, up %s, %d client(s), in %s, out %s\n", in.Host, in.PID,
		time.Since(in.Started).Round(time.Second), in.Clients, byteCount(in.BytesIn), byteCount(in.BytesOut))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tWHAT\tCLIENT\tAGE\tIN\tOUT\tIN/s\tOUT/s")
	for _, ch := range in.Channels {
		age := time.Since(ch.Started)
		secs := max(age.Seconds(), 0.001)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", ch.ID, ch.Kind, ch.What, ch.ClientPID,
			age.Round(time.Second), byteCount(ch.BytesIn), byteCount(ch.BytesOut),
			byteCount(uint64(float64(ch.BytesIn)/secs)), byteCount(uint64(float64(ch.BytesOut)/secs)))
	}
	for _, f := range in.Forwards {
		fmt.Fprintf(tw, "-\tforward\t%s\t\t\t\t\t\t\n", f)
	}
	return tw.Flush()
}

func byteCount(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
