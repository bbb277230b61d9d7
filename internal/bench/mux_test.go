package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
)

func TestMuxVerdict(t *testing.T) {
	t.Parallel()
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, x := range n {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	same := Sides{DefaultKex, DefaultKex}
	tests := []struct {
		name    string
		rows    []MuxRow
		results []Result
		ok      bool
		want    string
	}{
		{"all within", []MuxRow{{Kex: same, Target: 1}, {Kex: same, Target: MuxReuseTarget}},
			[]Result{{Row: Row{Name: "a"}, A: ms(9), B: ms(10)}, {Row: Row{Name: "c"}, A: ms(10), B: ms(40)}},
			true, "every row within its target, same key exchange on both sides"},
		{"reuse not 3x", []MuxRow{{Kex: same, Target: MuxReuseTarget}},
			[]Result{{Row: Row{Name: "c"}, A: ms(20), B: ms(40)}},
			false, "above target: c (0.50, target ≤ 0.33)"},
		{"kex differs", []MuxRow{{Kex: Sides{"a", "b"}, Target: 1}},
			[]Result{{Row: Row{Name: "a"}, A: ms(1), B: ms(10)}},
			false, "key exchange not the same or not known on both sides for a"},
		{"no samples", []MuxRow{{Kex: same, Target: 1}},
			[]Result{{Row: Row{Name: "a"}}},
			false, "above target: a (0.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := MuxVerdict(tt.rows, tt.results); !strings.Contains(got, tt.want) {
				t.Errorf("MuxVerdict = %q, want it to contain %q", got, tt.want)
			}
			if got := MuxOK(tt.rows, tt.results); got != tt.ok {
				t.Errorf("MuxOK = %v, want %v", got, tt.ok)
			}
		})
	}
}

// TestCompareMuxResets: the reset runs after every run of A, warm-up
// included, and its time is not A's.
func TestCompareMuxResets(t *testing.T) {
	t.Parallel()
	var order []string
	v := func(name string) Variant {
		return Variant{Name: name, Run: func(context.Context) error { order = append(order, name); return nil }}
	}
	row := MuxRow{Row: Row{Name: "r", A: v("A"), B: v("B")}, Target: 1,
		ResetA: func(context.Context) error {
			order = append(order, "reset")
			time.Sleep(30 * time.Millisecond)
			return nil
		}}
	res, err := CompareMux(context.Background(), []MuxRow{row}, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "B A reset A reset B B A reset"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order %q, want %q", got, want)
	}
	if len(res[0].A) != 2 || len(res[0].B) != 2 {
		t.Fatalf("samples %v %v, want 2 each", res[0].A, res[0].B)
	}
	for _, d := range res[0].A {
		if d >= 30*time.Millisecond {
			t.Errorf("A took %v: the reset was timed", d)
		}
	}
	row.ResetA = func(context.Context) error { return errors.New("boom") }
	if _, err := CompareMux(context.Background(), []MuxRow{row}, 1, nil); err == nil || !strings.Contains(err.Error(), "reset after A: boom") {
		t.Errorf("err = %v, want the reset's", err)
	}
	if _, err := CompareMux(context.Background(), nil, 0, nil); err == nil {
		t.Error("runs 0 accepted")
	}
}

func newMux(tb testing.TB, l *lab.Lab, openssh string) *Mux {
	tb.Helper()
	dir, err := os.MkdirTemp("/run", "jgbm-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	m, err := NewMux(MuxOptions{Lab: l, A: jumpgateClient(tb), B: Client{Name: "OpenSSH", Argv: []string{openssh}}, Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// TestMuxLab runs the mux benchmark's setup and one round against
// Debian's sshd, and checks with the servers' logs that the multiplexed
// runs log in nowhere and that hop reuse logs in to vm2 alone, while
// OpenSSH's -J logs in to every hop.
func TestMuxLab(t *testing.T) {
	openssh := needOpenSSH(t)
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	m := newMux(t, l, openssh)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rows, err := m.Setup(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	for _, r := range rows {
		if r.Kex.A != DefaultKex || r.Kex.B != DefaultKex {
			t.Errorf("%s: kex jumpgate %q, OpenSSH %q; want %s on both", r.Name, r.Kex.A, r.Kex.B, DefaultKex)
		}
	}
	hosts := []string{"hyper1", "hyper2", "vm1", "vm2"}
	logins := func() map[string]int {
		n := map[string]int{}
		for _, h := range hosts {
			n[h] = accepted(t, l.LogFile(h))
		}
		return n
	}
	for _, tc := range []struct {
		name string
		run  func(context.Context) error
		want map[string]int
	}{
		{"jumpgate via master to hyper1", rows[0].A.Run, nil},
		{"OpenSSH via master to hyper1", rows[0].B.Run, nil},
		{"jumpgate via master to vm1", rows[1].A.Run, nil},
		{"OpenSSH via master to vm1", rows[1].B.Run, nil},
		{"jumpgate to vm2 reusing the hops", rows[2].A.Run, map[string]int{"vm2": 1}},
		{"OpenSSH to vm2 through -J", rows[2].B.Run, map[string]int{"hyper1": 1, "hyper2": 1, "vm2": 1}},
	} {
		before := logins()
		if err := tc.run(ctx); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		after := logins()
		for _, h := range hosts {
			if got := after[h] - before[h]; got != tc.want[h] {
				t.Errorf("%s: %d logins to %s, want %d", tc.name, got, h, tc.want[h])
			}
		}
		if tc.name == "jumpgate to vm2 reusing the hops" {
			if err := rows[2].ResetA(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := CompareMux(ctx, rows, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if len(r.A) != 1 || len(r.B) != 1 || r.Ratio() <= 0 {
			t.Errorf("%s: samples %v %v", r.Row.Name, r.A, r.B)
		}
	}
	var table strings.Builder
	WriteTable(&table, res)
	t.Logf("\n%s%s", table.String(), MuxVerdict(rows, res))

	m.Close()
	socks, _ := filepath.Glob(filepath.Join(m.RuntimeDir(), "jumpgate", "*"))
	ours, _ := filepath.Glob(filepath.Join(filepath.Dir(m.SSHConfig()), "openssh-*"))
	if left := append(socks, ours...); len(left) != 0 {
		t.Errorf("control sockets left after Close: %q", left)
	}
}

// BenchmarkMux times each mux row once per side per iteration in a lab of
// Debian's sshd and reports the jumpgate/OpenSSH ratios of medians.
func BenchmarkMux(b *testing.B) {
	openssh := needOpenSSH(b)
	l := labtest.New(b, lab.Options{Server: lab.OpenSSH})
	m := newMux(b, l, openssh)
	ctx := context.Background()
	rows, err := m.Setup(ctx, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	results := make([]Result, len(rows))
	for b.Loop() {
		for i, r := range rows {
			d, err := timeOnce(ctx, r.A)
			if err != nil {
				b.Fatalf("%s, %s: %v", r.Name, r.A.Name, err)
			}
			results[i].A = append(results[i].A, d)
			if r.ResetA != nil {
				if err := r.ResetA(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if d, err = timeOnce(ctx, r.B); err != nil {
				b.Fatalf("%s, %s: %v", r.Name, r.B.Name, err)
			}
			results[i].B = append(results[i].B, d)
		}
	}
	for i, name := range []string{"hyper1-mux", "vm1-mux", "vm2-reuse"} {
		b.ReportMetric(results[i].Ratio(), name+"-ratio")
		b.ReportMetric(float64(Median(results[i].A).Microseconds())/1000, name+"-jumpgate-ms")
		b.ReportMetric(float64(Median(results[i].B).Microseconds())/1000, name+"-openssh-ms")
	}
}
