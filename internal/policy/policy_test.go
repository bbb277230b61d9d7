package policy

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/jumpgate/jumpgate"

// pkg is one package directory of the repository, parsed for its imports.
type pkg struct {
	dir     string // relative to the module root, slash-separated
	name    string
	hasDoc  bool
	imports map[string]bool
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", dir, err)
	}
	return dir
}

func packages(t *testing.T) []pkg {
	t.Helper()
	top := root(t)
	var out []pkg
	err := filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		base := d.Name()
		if path != top && (strings.HasPrefix(base, ".") || base == "testdata") {
			return filepath.SkipDir
		}
		fset := token.NewFileSet()
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(top, path)
		byName := map[string]*pkg{}
		for _, ent := range entries {
			n := ent.Name()
			if ent.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(path, n), nil, parser.ParseComments|parser.ImportsOnly)
			if err != nil {
				return err
			}
			name := f.Name.Name
			q := byName[name]
			if q == nil {
				q = &pkg{dir: filepath.ToSlash(rel), name: name, imports: map[string]bool{}}
				byName[name] = q
			}
			if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package "+name+" ") ||
				f.Doc != nil && name == "main" && strings.HasPrefix(f.Doc.Text(), "Command ") {
				q.hasDoc = true
			}
			for _, im := range f.Imports {
				q.imports[strings.Trim(im.Path.Value, `"`)] = true
			}
		}
		for _, q := range byName {
			out = append(out, *q)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 3 {
		t.Fatalf("found only %d packages; the walk is broken", len(out))
	}
	return out
}

// TestPackageDocs: every package says what it is for.
func TestPackageDocs(t *testing.T) {
	for _, p := range packages(t) {
		if !p.hasDoc {
			t.Errorf("%s: package %s has no \"// Package %s …\" doc comment", p.dir, p.name, p.name)
		}
	}
}

// TestImportDirection: imports flow cli → features → plumbing; nothing
// under internal/ but cli imports cli, and no package is named like a
// junk drawer.
func TestImportDirection(t *testing.T) {
	for _, p := range packages(t) {
		switch p.name {
		case "util", "utils", "common", "types", "helpers", "misc":
			t.Errorf("%s: package name %q says nothing about what it provides", p.dir, p.name)
		}
		if p.dir == "internal/cli" || p.dir == "cmd/jumpgate" {
			continue
		}
		if p.imports[module+"/internal/cli"] {
			t.Errorf("%s imports internal/cli: feature packages must not depend on the command line", p.dir)
		}
		for im := range p.imports {
			if im == "github.com/spf13/pflag" && !strings.HasPrefix(p.dir, "internal/cli") {
				t.Errorf("%s imports pflag: only internal/cli reads flags", p.dir)
			}
		}
	}
}

// TestMainIsTiny: cmd/jumpgate only hands over to internal/cli.
func TestMainIsTiny(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root(t), "cmd", "jumpgate", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 30 {
		t.Errorf("cmd/jumpgate/main.go has %d lines; keep it at 30 or fewer and move logic to internal/cli", n)
	}
}
