package topo

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestSchemaDocumented: every field the JSON carries is described in
// docs/topo-schema.md, and the document names the schema version.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/topo-schema.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "schema version "+strconv.Itoa(SchemaVersion)) {
		t.Errorf("docs/topo-schema.md does not name schema version %d", SchemaVersion)
	}
	seen := map[reflect.Type]bool{}
	var walk func(ty reflect.Type, path string)
	walk = func(ty reflect.Type, path string) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || tag == "-" || tag == "" {
				continue
			}
			if !strings.Contains(string(doc), "`"+tag+"`") {
				t.Errorf("field %s.%s (%q) is not described in docs/topo-schema.md", path, f.Name, tag)
			}
			walk(f.Type, path+"."+f.Name)
		}
	}
	walk(reflect.TypeOf(Topology{}), "Topology")
	walk(reflect.TypeOf(Fleet{}), "Fleet")
	if len(seen) < 10 {
		t.Fatalf("walked only %d types", len(seen))
	}
}
