package fw

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden rule sets in testdata/")

// TestGenerateGolden keeps the rule sets for the example policies in
// testdata/*.nft; go test -update rewrites them.
func TestGenerateGolden(t *testing.T) {
	t.Parallel()
	for _, file := range policyFiles(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rs, err := Generate(mustParse(t, file))
			if err != nil {
				t.Fatal(err)
			}
			got := rs.Text()
			golden := filepath.Join("testdata", name+".nft")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("rule set for %s differs from %s (go test -update rewrites it):\n%s", file, golden, got)
			}
		})
	}
}
