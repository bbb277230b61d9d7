package netcfg

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jumpgate/jumpgate/internal/cfgfile"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParseExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "fw-") {
			continue // firewall policies (jumpgate fw), not network files
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			top, err := ReadFile(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			if top.Name == "" || len(top.Bridges)+len(top.Veths)+len(top.Taps) == 0 {
				t.Fatalf("parsed to nothing: %+v", top)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	top, err := ReadFile(context.Background(), "../../examples/wan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := top.Veths[0].Shape
	if s.Rate != 16e6 || s.Delay != 20*time.Millisecond || s.Loss != 0.5 {
		t.Errorf("shape = %+v", s)
	}
	limited, err := Parse("limit.yaml", []byte("version: 1\nveths: [{a: {name: x}, b: {name: y}, shape: {delay: 100ms, limit: 50000}}]\n"))
	if err != nil || limited.Veths[0].Shape.Limit != 50000 {
		t.Errorf("limit: %v, %+v", err, limited)
	}
	if got := top.Routes[0].Via.String(); got != "198.18.20.2" {
		t.Errorf("via = %s", got)
	}
	seed, err := ReadFile(context.Background(), "../../examples/seed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if b := seed.Bridges[1]; !b.STP || b.Name != "virbr6" {
		t.Errorf("bridge = %+v", b)
	}
	if o := seed.Taps[0].Owner; o == nil || *o != 0 {
		t.Errorf("tap owner = %v", o)
	}
}

// TestParseErrors feeds broken files and compares each error (file, line,
// column, field, message) with testdata/errors.golden.
func TestParseErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	var got strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, perr := Parse(filepath.Base(f), data)
		if perr == nil {
			t.Errorf("%s: parsed without error", f)
			continue
		}
		var se *SchemaError
		if !errors.As(perr, &se) || se.Line == 0 {
			t.Errorf("%s: error %v is not a SchemaError with a line", f, perr)
		}
		got.WriteString(perr.Error() + "\n")
	}
	golden := "testdata/errors.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got.String() != string(want) {
		t.Errorf("errors differ from %s:\ngot:\n%s\nwant:\n%s", golden, got.String(), want)
	}
}

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		bad  bool
	}{
		{"100mbit", 100e6, false},
		{"1gbit", 1e9, false},
		{"512kbit", 512e3, false},
		{"1.5mbit", 1.5e6, false},
		{"9600bit", 9600, false},
		{"10mbps", 0, true},
		{"fast", 0, true},
		{"-1mbit", 0, true},
		{"", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRate(tc.in)
			if (err != nil) != tc.bad || got != tc.want {
				t.Errorf("ParseRate(%q) = %d, %v", tc.in, got, err)
			}
			if err == nil && FormatRate(got) != tc.in && tc.in != "1.5mbit" {
				t.Errorf("FormatRate(%d) = %s", got, FormatRate(got))
			}
		})
	}
}

// FuzzParse checks that no file panics the parser and that whatever parses
// also exports.
func FuzzParse(f *testing.F) {
	for _, pat := range []string{"../../examples/[!f]*.yaml", "testdata/bad/*.yaml"} {
		files, _ := filepath.Glob(pat)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("version: 1\nveths: [{a: {name: x}, b: {name: y}, shape: {delay: 100ms, limit: 50000}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		top, err := Parse("fuzz.yaml", data)
		if err != nil {
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("error is not a SchemaError: %v", err)
			}
			return
		}
		if top.Name == "" {
			t.Fatal("parsed topology without a name")
		}
		files, _ := Export(top)
		for _, v := range top.Veths {
			inHost := v.A.Namespace == "" && v.B.Namespace == ""
			if inHost && v.Shape.Limit > 0 && !exported(files, fmt.Sprintf("PacketLimit=%d\n", v.Shape.Limit)) {
				t.Fatalf("limit %d not exported", v.Shape.Limit)
			}
		}
	})
}

func exported(files []File, line string) bool {
	for _, f := range files {
		if strings.Contains(f.Content, line) {
			return true
		}
	}
	return false
}

func readExample(t *testing.T, name string) *Topology {
	t.Helper()
	top, err := ReadFile(context.Background(), filepath.Join("../../examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return top
}

func TestReadFileSizeLimit(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(p, []byte(strings.Repeat("# padding\n", cfgfile.Limit/10+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(context.Background(), p)
	var tl *cfgfile.TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("ReadFile = %v, want the size limit", err)
	}
}
