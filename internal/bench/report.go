package bench

// The --json reports of `jumpgate bench`; their fields only ever grow.

import (
	"encoding/json"
	"io"
	"strings"
	"time"
)

// Report is what a --json report says of the run besides its rows.
type Report struct {
	Server  string
	Kex     string
	Cipher  string // forward only
	Runs    int
	Seconds int           // forward only
	Target  float64       // connect and forward
	RTT     time.Duration // forward's long path
	Verdict string
}

// ConnectJSON is the report of `bench connect --json`.
type ConnectJSON struct {
	Benchmark string           `json:"benchmark"`
	Server    string           `json:"server"`
	Kex       string           `json:"kex_forced"`
	Runs      int              `json:"runs"`
	Target    float64          `json:"target_ratio"`
	Rows      []connectRowJSON `json:"rows"`
	Verdict   string           `json:"verdict"`
	OK        bool             `json:"ok"`
}

type connectRowJSON struct {
	Name     string   `json:"name"`
	Host     string   `json:"host"`
	Hops     int      `json:"hops"`
	Ratio    float64  `json:"ratio"`
	Jumpgate sideJSON `json:"jumpgate"`
	OpenSSH  sideJSON `json:"openssh"`
}

type sideJSON struct {
	Argv     []string  `json:"argv"`
	Kex      string    `json:"kex"`
	MedianMS float64   `json:"median_ms"`
	Samples  []float64 `json:"samples_ms"`
}

// WriteConnectJSON is `bench connect --json`.
func WriteConnectJSON(w io.Writer, rep Report, c *Connect, jg, ossh Client, rows []ConnectRow, results []Result) error {
	out := ConnectJSON{Benchmark: "connect", Server: rep.Server, Kex: rep.Kex, Runs: rep.Runs, Target: rep.Target,
		Verdict: rep.Verdict, OK: true, Rows: []connectRowJSON{}}
	for i, r := range results {
		row := rows[i]
		out.OK = out.OK && r.Ratio() <= rep.Target && row.Kex.Same()
		out.Rows = append(out.Rows, connectRowJSON{Name: row.Name, Host: row.Target.Host, Hops: row.Target.Hops, Ratio: r.Ratio(),
			Jumpgate: sideJSON{Argv: c.Argv(jg, row.Target.Host, false), Kex: row.Kex.A, MedianMS: ms(Median(r.A)), Samples: msAll(r.A)},
			OpenSSH:  sideJSON{Argv: c.Argv(ossh, row.Target.Host, false), Kex: row.Kex.B, MedianMS: ms(Median(r.B)), Samples: msAll(r.B)},
		})
	}
	return writeJSON(w, out)
}

// MuxJSON is the report of `bench mux --json`.
type MuxJSON struct {
	Benchmark string       `json:"benchmark"`
	Server    string       `json:"server"`
	Kex       string       `json:"kex_forced"`
	Runs      int          `json:"runs"`
	Rows      []muxRowJSON `json:"rows"`
	Verdict   string       `json:"verdict"`
	OK        bool         `json:"ok"`
}

type muxRowJSON struct {
	Name     string   `json:"name"`
	Target   float64  `json:"target_ratio"`
	Ratio    float64  `json:"ratio"`
	Jumpgate sideJSON `json:"jumpgate"`
	OpenSSH  sideJSON `json:"openssh"`
}

// WriteMuxJSON is `bench mux --json`.
func WriteMuxJSON(w io.Writer, rep Report, rows []MuxRow, results []Result) error {
	out := MuxJSON{Benchmark: "mux", Server: rep.Server, Kex: rep.Kex, Runs: rep.Runs, Verdict: rep.Verdict,
		OK: MuxOK(rows, results), Rows: []muxRowJSON{}}
	for i, r := range results {
		row := rows[i]
		out.Rows = append(out.Rows, muxRowJSON{Name: row.Name, Target: row.Target, Ratio: r.Ratio(),
			Jumpgate: sideJSON{Argv: row.ArgvA, Kex: row.Kex.A, MedianMS: ms(Median(r.A)), Samples: msAll(r.A)},
			OpenSSH:  sideJSON{Argv: row.ArgvB, Kex: row.Kex.B, MedianMS: ms(Median(r.B)), Samples: msAll(r.B)},
		})
	}
	return writeJSON(w, out)
}

// ForwardJSON is the report of `bench forward --json`.
type ForwardJSON struct {
	Benchmark string           `json:"benchmark"`
	Server    string           `json:"server"`
	Kex       string           `json:"kex_forced"`
	Cipher    string           `json:"cipher_forced"`
	Runs      int              `json:"runs"`
	Seconds   int              `json:"seconds"`
	Target    float64          `json:"target_ratio"`
	RTTms     float64          `json:"rtt_ms,omitempty"`
	Rows      []forwardRowJSON `json:"rows"`
	Verdict   string           `json:"verdict"`
	OK        bool             `json:"ok"`
}

type forwardRowJSON struct {
	Name     string          `json:"name"`
	Ratio    float64         `json:"ratio"`
	Jumpgate forwardSideJSON `json:"jumpgate"`
	OpenSSH  forwardSideJSON `json:"openssh"`
	// TCP is plain TCP on the long path, the ceiling.
	TCP      *forwardSideJSON `json:"tcp,omitempty"`
	TCPRatio float64          `json:"tcp_ratio,omitempty"`
}

type forwardSideJSON struct {
	Argv       []string  `json:"argv"`
	MedianMbps float64   `json:"median_mbps"`
	Samples    []float64 `json:"samples_mbps"`
}

// WriteForwardJSON is `bench forward --json`.
func WriteForwardJSON(w io.Writer, rep Report, jg, ossh Client, results []ForwardResult) error {
	out := ForwardJSON{Benchmark: "forward", Server: rep.Server, Kex: rep.Kex, Cipher: rep.Cipher, Runs: rep.Runs,
		Seconds: rep.Seconds, Target: rep.Target, RTTms: ms(rep.RTT), Verdict: rep.Verdict, OK: strings.HasPrefix(rep.Verdict, "ok"), Rows: []forwardRowJSON{}}
	mbps := func(xs []float64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = x / 1e6
		}
		return out
	}
	for _, r := range results {
		row := forwardRowJSON{Name: r.Name, Ratio: r.Ratio(), TCPRatio: r.TCPRatio(),
			Jumpgate: forwardSideJSON{Argv: jg.Argv, MedianMbps: MedianFloat(r.A) / 1e6, Samples: mbps(r.A)},
			OpenSSH:  forwardSideJSON{Argv: ossh.Argv, MedianMbps: MedianFloat(r.B) / 1e6, Samples: mbps(r.B)}}
		if len(r.TCP) > 0 {
			row.TCP = &forwardSideJSON{Argv: []string{"iperf3", "-c", longPathHyper}, MedianMbps: MedianFloat(r.TCP) / 1e6, Samples: mbps(r.TCP)}
		}
		out.Rows = append(out.Rows, row)
	}
	return writeJSON(w, out)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func msAll(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = ms(d)
	}
	return out
}
