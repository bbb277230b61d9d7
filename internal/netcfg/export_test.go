package netcfg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportGolden compares the networkd files for each example with
// testdata/export/EXAMPLE/ (rewritten with -update).
func TestExportGolden(t *testing.T) {
	for _, ex := range []string{"seed", "lab", "wan"} {
		t.Run(ex, func(t *testing.T) {
			top := readExample(t, ex+".yaml")
			files, skipped := Export(top)
			var got strings.Builder
			for _, f := range files {
				got.WriteString("== " + f.Name + "\n" + f.Content)
			}
			for _, s := range skipped {
				got.WriteString("== skipped: " + s + "\n")
			}
			golden := filepath.Join("testdata", "export", ex+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got.String() != string(want) {
				t.Errorf("export differs from %s:\n%s", golden, got.String())
			}
			if ex == "seed" && (len(skipped) != 0 || len(files) != 16) {
				t.Errorf("seed: %d files, skipped %v; want all of it exported", len(files), skipped)
			}
		})
	}
}
