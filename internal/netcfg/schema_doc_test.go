package netcfg

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestSchemaDocumented asks the parser itself which fields each part of a
// network file knows (the list its unknown-field error gives) and checks
// docs/net-schema.md describes every one of them.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/net-schema.md")
	if err != nil {
		t.Fatal(err)
	}
	const end = "{name: x}"
	files := map[string]string{
		"top level": "version: 1\nzz: 1\n",
		"namespace": "version: 1\nnamespaces: [{name: a, zz: 1}]\n",
		"bridge":    "version: 1\nbridges: [{name: b, zz: 1}]\n",
		"veth":      "version: 1\nveths: [{a: " + end + ", b: {name: y}, zz: 1}]\n",
		"veth end":  "version: 1\nveths: [{a: {name: x, zz: 1}, b: {name: y}}]\n",
		"shape":     "version: 1\nveths: [{a: " + end + ", b: {name: y}, shape: {zz: 1}}]\n",
		"tap":       "version: 1\ntaps: [{name: t, zz: 1}]\n",
		"route":     "version: 1\nroutes: [{to: 198.18.0.0/24, dev: x, zz: 1}]\n",
		"vxlan":     "version: 1\nvxlans: [{name: v, zz: 1}]\n",
		"vxlan end": "version: 1\nvxlans: [{name: v, id: 1, ends: [{zz: 1}, {}]}]\n",
	}
	known := regexp.MustCompile(`unknown field \(known: ([^)]*)\)`)
	for part, src := range files {
		t.Run(part, func(t *testing.T) {
			_, err := Parse("doc.yaml", []byte(src))
			if err == nil {
				t.Fatalf("unknown field accepted:\n%s", src)
			}
			m := known.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("error does not list the known fields: %v", err)
			}
			for _, f := range strings.Split(m[1], ", ") {
				if !strings.Contains(string(doc), "`"+f+"`") && !strings.Contains(string(doc), "{"+f+",") && !strings.Contains(string(doc), ", "+f) {
					t.Errorf("%s field %q is not described in docs/net-schema.md", part, f)
				}
			}
		})
	}
}
