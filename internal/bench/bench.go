// Package bench measures jumpgate against OpenSSH in one run: the two sides
// of each row run alternately (A B, then B A, …) so that the machine's noise
// falls on both, and rows report medians and the A/B ratio.
package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Variant is one side of a comparison: a thing to time.
type Variant struct {
	Name string
	// Run does the work once; its wall time is the sample.
	Run func(ctx context.Context) error
}

// Row is one comparison: A (jumpgate) against B (the reference).
type Row struct {
	Name string
	A, B Variant
	// Note is printed beside the row (the key exchange each side used…).
	Note string
}

// Result holds a row's samples.
type Result struct {
	Row    Row
	A, B   []time.Duration
	Errors int
}

// Ratio is median(A)/median(B): below 1 means A is faster.
func (r Result) Ratio() float64 {
	b := Median(r.B)
	if b == 0 {
		return 0
	}
	return float64(Median(r.A)) / float64(b)
}

// Compare times every row runs times per side, alternating sides and
// swapping which goes first each round. A warm-up round is run and dropped.
// An error in any run ends the comparison: a benchmark that fails is not
// a measurement.
func Compare(ctx context.Context, rows []Row, runs int, progress io.Writer) ([]Result, error) {
	if runs < 1 {
		return nil, fmt.Errorf("runs must be at least 1, got %d", runs)
	}
	results := make([]Result, len(rows))
	for i, row := range rows {
		results[i].Row = row
		for round := -1; round < runs; round++ {
			first, second := row.A, row.B
			if round%2 != 0 {
				first, second = row.B, row.A
			}
			for _, v := range []Variant{first, second} {
				d, err := timeOnce(ctx, v)
				if err != nil {
					return results, fmt.Errorf("%s, %s: %w", row.Name, v.Name, err)
				}
				if round < 0 {
					continue // warm-up
				}
				if v.Name == row.A.Name {
					results[i].A = append(results[i].A, d)
				} else {
					results[i].B = append(results[i].B, d)
				}
			}
		}
		if progress != nil {
			fmt.Fprintf(progress, "bench: %s done (%d runs each)\n", row.Name, runs)
		}
	}
	return results, nil
}

func timeOnce(ctx context.Context, v Variant) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	start := time.Now()
	err := v.Run(ctx)
	return time.Since(start), err
}

// Median returns the median of ds (the mean of the middle two for an even
// count), or 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// WriteTable prints results as an aligned table with medians and ratios.
func WriteTable(w io.Writer, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	a, b := results[0].Row.A.Name, results[0].Row.B.Name
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "row\truns\t%s median\t%s median\t%s/%s\tnote\n", a, b, a, b)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.2f\t%s\n", r.Row.Name, len(r.A),
			round(Median(r.A)), round(Median(r.B)), r.Ratio(), r.Row.Note)
	}
	return tw.Flush()
}

func round(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

// Verdict says whether every row meets a ratio target (A/B ≤ max).
func Verdict(results []Result, max float64) string {
	var bad []string
	for _, r := range results {
		if r.Ratio() > max {
			bad = append(bad, fmt.Sprintf("%s (%.2f)", r.Row.Name, r.Ratio()))
		}
	}
	if len(bad) == 0 {
		return fmt.Sprintf("every row within target ratio ≤ %.2f", max)
	}
	return fmt.Sprintf("above target ratio ≤ %.2f: %s", max, strings.Join(bad, ", "))
}
