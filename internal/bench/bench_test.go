package bench

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"empty", nil, 0},
		{"one", []time.Duration{5}, 5},
		{"odd unsorted", []time.Duration{9, 1, 5}, 5},
		{"even", []time.Duration{1, 2, 3, 10}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Median(tt.in); got != tt.want {
				t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCompareAlternatesAndSwaps(t *testing.T) {
	t.Parallel()
	var order []string
	v := func(name string, d time.Duration) Variant {
		return Variant{Name: name, Run: func(context.Context) error {
			order = append(order, name)
			time.Sleep(d)
			return nil
		}}
	}
	rows := []Row{{Name: "r", A: v("a", 2*time.Millisecond), B: v("b", 6*time.Millisecond)}}
	res, err := Compare(context.Background(), rows, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	// warm-up (round -1: swapped), then rounds 0 (a first), 1 (b first), 2 (a first)
	want := "b a a b b a a b"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order = %q, want %q", got, want)
	}
	if len(res[0].A) != 3 || len(res[0].B) != 3 {
		t.Fatalf("samples = %d/%d, want 3/3", len(res[0].A), len(res[0].B))
	}
	if r := res[0].Ratio(); r <= 0 || r >= 1 {
		t.Errorf("ratio = %.2f, want between 0 and 1 (a is faster)", r)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "a/b") || !strings.Contains(buf.String(), "r ") {
		t.Errorf("table lacks header or row:\n%s", buf.String())
	}
	if v := Verdict(res, 1.0); !strings.HasPrefix(v, "every row") {
		t.Errorf("Verdict = %q", v)
	}
}

func TestCompareStopsOnError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	rows := []Row{{Name: "r",
		A: Variant{Name: "a", Run: func(context.Context) error { return boom }},
		B: Variant{Name: "b", Run: func(context.Context) error { return nil }}}}
	if _, err := Compare(context.Background(), rows, 2, nil); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if _, err := Compare(context.Background(), rows, 0, nil); err == nil {
		t.Error("runs=0 accepted")
	}
}
